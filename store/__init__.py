"""Persistence: SQLModel tables, the engine and its migrations, and the queries the CLI needs.

SQLite by default (embedded, zero set-up), PostgreSQL when several workers share a store. This
room knows nothing of Scrapy or Apprise.
"""
