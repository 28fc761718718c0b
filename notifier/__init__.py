"""Alerts through Apprise: subscriptions, message rendering, delivery through a durable outbox."""
