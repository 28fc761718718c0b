"""How far a change's effective date is, counted when it is shown: a stored count goes stale."""

from __future__ import annotations

from datetime import UTC, date, datetime


def days_left(effective: date | None, today: date | None = None) -> str:
    """How far the effective date is, in words a reviewer scans: '12 days left', 'in effect'."""
    if effective is None:
        return ""
    days = (effective - (today or datetime.now(UTC).date())).days
    if days > 1:
        return f"{days} days left"
    if days == 1:
        return "1 day left"
    if days == 0:
        return "takes effect today"
    return f"in effect for {-days} days"


def dated(summary: str, effective: date | None, today: date | None = None) -> str:
    """A change's summary with how far its effective date is, as every listing shows it."""
    left = days_left(effective, today)
    return f"{summary} ({left})" if left else summary
