"""Dates and times as the archive writes and reads them (pure).

normalise_date() reads the formats pages, feeds and sitemaps use; utc_timestamp() is the one
form the archive writes its own times in (capture records, pointers); parse_timestamp() reads
either back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


def normalise_date(value: Any) -> str | None:
    """ISO 8601 from the usual machine formats; None if it is not a date we can read."""
    text = None if value is None or isinstance(value, (dict, list)) else " ".join(str(value).split())
    if not text:
        return None
    candidate = text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
    if re.match(r"^\d{4}-\d{2}-\d{2}$", candidate):
        try:
            day = datetime.fromisoformat(candidate)
        except ValueError:
            return None
        return day.date().isoformat() if 1990 <= day.year <= 2100 else None
    try:
        parsed = datetime.fromisoformat(candidate.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            match = re.match(r"^(\d{4}-\d{2}-\d{2})", text)
            return normalise_date(match.group(1)) if match else None
    if not 1990 <= parsed.year <= 2100:
        return None
    return parsed.isoformat()


def utc_timestamp(moment: datetime) -> str:
    """`moment` in UTC, to the microsecond, with a "Z": 2026-11-23T08:00:00.000000Z."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 time (a "Z" suffix allowed; naive taken as UTC), or None if it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
