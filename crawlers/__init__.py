"""The Scrapy project: the catalog, the policy spider, its pipeline, and extraction."""
