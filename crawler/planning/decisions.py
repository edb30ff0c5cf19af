"""Whether to fetch a discovered article again (pure).

An article already captured is fetched again only when it may have changed:
  * it is young: published less than `recheck_hours` ago (default 48 h);
  * its feed or sitemap says it was updated after our last capture;
and then conditionally (If-None-Match / If-Modified-Since from the last capture), so an
unchanged page costs a 304 and no body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crawler.model.dates import parse_timestamp
from crawler.planning.discovery import Candidate
from crawler.planning.sitesfile import SiteConfig


@dataclass(frozen=True, slots=True)
class Decision:
    fetch: bool
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    """Conditional-request headers for a re-fetch."""


def decide(candidate: Candidate, pointer: Mapping[str, Any] | None, site: SiteConfig, now: datetime) -> Decision:
    published = parse_timestamp(candidate.published) or parse_timestamp(pointer.get("published") if pointer else None)
    if site.max_age_days is not None and published and now - published > timedelta(days=site.max_age_days):
        return Decision(False, f"older than max_age_days ({published.date().isoformat()})")
    if pointer is None:
        return Decision(True, "new")
    headers = {}
    if pointer.get("etag"):
        headers["If-None-Match"] = str(pointer["etag"])
    if pointer.get("last_modified"):
        headers["If-Modified-Since"] = str(pointer["last_modified"])
    captured = parse_timestamp(pointer.get("fetched_at"))
    if published and now - published < timedelta(hours=site.recheck_hours):
        return Decision(True, f"recheck: published less than {site.recheck_hours:g} h ago", headers)
    updated = parse_timestamp(candidate.updated) or parse_timestamp(candidate.published)
    if updated and captured and updated > captured:
        return Decision(True, f"recheck: {candidate.via} says updated {updated.isoformat()}", headers)
    last = (pointer.get("checked_at") or pointer.get("fetched_at") or "?")
    return Decision(False, f"already captured (last checked {last}); not due")
