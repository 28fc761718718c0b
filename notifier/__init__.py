"""Alerts through Apprise: subscriptions, message rendering, delivery through a durable outbox.

`deliver_owed(engine)` is what a crawl calls at its end and what `policywatch notify` runs.
"""

from notifier.delivery import DeliveryReport, deliver_owed

__all__ = ["DeliveryReport", "deliver_owed"]
