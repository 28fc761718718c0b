"""How far a change's effective date is, counted when it is shown: a stored count goes stale."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


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


def days_after(day: date, days: int) -> date | None:
    """`days` after `day`; None (no bound) past the calendar's last day, 9999-12-31, which a
    date typed as the end (`until=9999-12-31`) or a window typed huge (`within`, on the web
    and on the command line) went beyond (a 500, a traceback)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None
