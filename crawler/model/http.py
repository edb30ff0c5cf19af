"""Small HTTP helpers shared by extraction and the store (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lowercased ("" when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """The wait a Retry-After header asks for: delay-seconds or an HTTP date (RFC 9110 10.2.3);
    None when absent or unreadable. A date in the past asks for no wait (0)."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
