"""The Scrapy project: the catalog of tracked documents, the policy spider, its pipeline, extraction."""
