"""What one crawl run decided, URL by URL, and the per-site summary (pure).

The manifest has one JSON line per URL decided: an article captured (new or changed),
unchanged, skipped (and why) or failed (and why), and each feed, sitemap or page the run
read to discover them. The summary counts articles per site:

    new, changed, unchanged, not_article, paywalled, blocked, failed, skipped, spooled

then `throttled`: how often one of the site's hosts answered 429 or 503 with Retry-After (the
request waited and was retried), and `rendered` / `render_failed`: captures rendered in a
browser, and those whose rendering failed (archived as fetched, flagged). A site is marked
`failed` when none of its sources (feeds, sitemaps, start pages) could be read, so a scheduler
can alert.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawler.model.items import BLOCKING_WALLS

COUNTS = ("new", "changed", "unchanged", "not_article", "paywalled", "blocked", "failed", "skipped", "spooled",
          "throttled", "rendered", "render_failed")
"""The summary's columns: what became of the articles, how often a host made us wait
(throttled: 429 or 503 with Retry-After), and how many captures were rendered in a browser
(rendered) or fell back to the page as fetched (render_failed)."""


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def category(entry: dict[str, Any]) -> str | None:
    """The summary column an article entry counts in (None for discovery sources)."""
    if entry.get("role", "article") != "article":
        return None
    decision = entry.get("decision")
    if decision == "captured":
        if entry.get("access") in BLOCKING_WALLS:
            return "blocked"
        if entry.get("access") == "paywalled":
            return "paywalled"
        if entry.get("kind") != "article":
            return "not_article"
        return "changed" if entry.get("change") == "changed" else "new"
    if decision in ("unchanged", "skipped", "failed", "spooled"):
        return str(decision)
    return None


@dataclass
class SiteTally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    sources_ok: int = 0
    sources_failed: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.sources_ok == 0 and bool(self.sources_failed)


class RunReport:
    """Collects manifest lines and per-site counts; the I/O side writes them out."""

    def __init__(self, job: str, run_id: str, sites: Iterable[str]) -> None:
        self.job = job
        self.run_id = run_id
        self.started_at = datetime.now(UTC).isoformat()
        self.sites = {name: SiteTally() for name in sites}
        self._pending: list[str] = []
        self.lines = 0

    def add(self, entry: dict[str, Any]) -> None:
        entry = {"at": datetime.now(UTC).isoformat(), **{k: v for k, v in entry.items() if v is not None}}
        self._pending.append(json.dumps(entry, ensure_ascii=False))
        self.lines += 1
        tally = self.sites.get(str(entry.get("site")))
        if tally is None:
            return
        role = entry.get("role", "article")
        if entry.get("decision") == "paused":  # the host asked us to wait; the request is retried
            tally.counts["throttled"] += 1
            return
        if role == "robots":  # optional: a site without robots.txt has not failed
            return
        if role != "article":
            if entry.get("decision") == "failed":
                tally.sources_failed.append(f"{entry.get('url')}: {entry.get('reason')}")
            else:
                tally.sources_ok += 1
        column = category(entry)
        if column:
            tally.counts[column] += 1
        if "render_ms" in entry:
            tally.counts["render_failed" if entry.get("render_error") else "rendered"] += 1

    @property
    def pending(self) -> int:
        """Manifest lines collected and not yet taken."""
        return len(self._pending)

    def take_lines(self) -> list[str]:
        """Manifest lines not yet written out."""
        lines, self._pending = self._pending, []
        return lines

    def summary(self, finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "job": self.job, "run_id": self.run_id, "started_at": self.started_at,
            "finished_at": datetime.now(UTC).isoformat(), "finish_reason": finish_reason,
            "manifest_lines": self.lines,
            "sites": {
                name: {**tally.counts, "status": "failed" if tally.failed else "ok",
                       "sources_ok": tally.sources_ok, "sources_failed": tally.sources_failed}
                for name, tally in self.sites.items()
            },
        }


def format_summary(summary: dict[str, Any]) -> str:
    """A table for people: one row per site (its status says when some sources failed), then
    the sources that failed, so nothing that went wrong is only in summary.json."""
    width = max([len("site"), *(len(n) for n in summary["sites"])])
    widths = {c: max(11, len(c)) for c in COUNTS}
    head = f"{'site':<{width}}  " + "  ".join(f"{c:>{widths[c]}}" for c in COUNTS) + "  status"
    rows = [head]
    for name, site in summary["sites"].items():
        status = site["status"]
        if status == "ok" and site.get("sources_failed"):
            status = f"ok, {len(site['sources_failed'])} source(s) failed"
        rows.append(f"{name:<{width}}  " + "  ".join(f"{site.get(c, 0):>{widths[c]}}" for c in COUNTS)
                    + f"  {status}")
    for name, site in summary["sites"].items():
        failed = site.get("sources_failed") or []
        if site["status"] == "failed":
            rows.append(f"site {name!r} failed completely: " + "; ".join(failed[:5]))
        elif failed:
            more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
            rows.append(f"site {name!r}: {len(failed)} source(s) failed: " + "; ".join(failed[:5]) + more)
    return "\n".join(rows)
