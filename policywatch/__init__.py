"""policywatch: the command line and the review web page, over the crawlers, diff engine and store."""

__version__ = "0.1.0"
