"""The spiders of the policywatch Scrapy project."""
