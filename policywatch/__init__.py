"""policywatch: the command line over the crawlers, the diff engine and the store."""

__version__ = "0.1.0"
