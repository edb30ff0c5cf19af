"""What the web UI shows, read from a store through the catalog and the capture readers.

The catalog's rows are read once and kept; after CATALOG_TTL seconds they are read again in
the background (a big archive's catalog takes seconds to read: only the first request waits). An article's captures,
texts and pages are read from the store when asked for, through crawler.store.captures: the
UI never builds a key from what a request says, so no request can reach outside the store.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from crawler.model.dates import parse_timestamp
from crawler.store.base import Store, StoreError
from crawler.store.captures import CaptureRef, StoredCapture, list_captures, read_capture
from crawler.store.catalog import Article, articles
from crawler.store.selection import catalog_rows

CATALOG_TTL = 60.0
RUN_SUMMARIES = 200
"""The newest run summaries read (a fleet writes one per process)."""


@dataclass
class Snapshot:
    """The catalog as read at `taken`: articles by identity URL, grouped by site."""

    taken: float
    articles: dict[str, Article]
    by_site: dict[str, list[Article]] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)
    """What pages computed from this snapshot (the chart's counts, the runs), kept with it."""

    @classmethod
    def of(cls, rows: list[dict[str, Any]]) -> Snapshot:
        found = articles(rows)
        by_site: dict[str, list[Article]] = {}
        for article in found.values():
            by_site.setdefault(site_of(article), []).append(article)
        for listed in by_site.values():
            listed.sort(key=lambda a: str(a.latest["capture_id"]), reverse=True)
        return cls(time.monotonic(), found, by_site)


def site_of(article: Article) -> str:
    """The sites-file name of the article's newest capture, else its host (one-off archives)."""
    latest = article.latest
    return str(latest.get("site") or latest.get("host") or "?")


@dataclass(frozen=True, slots=True)
class Filters:
    since: date | None = None
    until: date | None = None
    kind: str | None = None
    access: str | None = None
    changed: bool = False
    query: str = ""

    def wants(self, article: Article) -> bool:
        latest = article.latest
        day = _day(latest.get("fetched_at"))
        if self.since and (day is None or day < self.since):
            return False
        if self.until and (day is None or day > self.until):
            return False
        if self.kind and latest.get("kind") != self.kind:
            return False
        if self.access and latest.get("access") != self.access:
            return False
        if self.changed and not article.changed:
            return False
        return not self.query or self.query.casefold() in str(latest.get("title") or "").casefold()


def _day(text: Any) -> date | None:
    when = parse_timestamp(text) if isinstance(text, str) else None
    return when.astimezone(UTC).date() if when else None


class WebArchive:
    """The read side the UI uses; thread-safe (the server answers on several threads)."""

    def __init__(self, store: Store, ttl: float = CATALOG_TTL) -> None:
        self.store = store
        self.ttl = ttl
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._refreshing = False

    def snapshot(self) -> Snapshot:
        """The catalog as last read. The first request reads it; after that a stale snapshot is
        refreshed on a thread of its own while requests keep being answered from the old one."""
        with self._lock:
            current = self._snapshot
            if current is None:
                current = self._snapshot = Snapshot.of(catalog_rows(self.store))
            elif time.monotonic() - current.taken > self.ttl and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="catalog-refresh", daemon=True).start()
            return current

    def _refresh(self) -> None:
        try:
            fresh = Snapshot.of(catalog_rows(self.store))
            with self._lock:
                self._snapshot = fresh
        except StoreError:  # the store is down: keep showing what was read, try again later
            pass
        finally:
            self._refreshing = False

    # --- home -------------------------------------------------------------------------------

    def sites(self) -> list[dict[str, Any]]:
        snap = self.snapshot()
        runs = self.last_runs()
        return [{"name": name, "articles": len(listed), "captures": sum(len(a.captures) for a in listed),
                 "latest": listed[0].latest.get("fetched_at") if listed else None, "run": runs.get(name)}
                for name, listed in sorted(snap.by_site.items())]

    def captures_per_day(self, days: int = 30, today: date | None = None) -> tuple[list[date], dict[str, list[int]]]:
        """The last `days` days and, per site, how many captures each day had."""
        end = today or datetime.now(UTC).date()
        snap = self.snapshot()
        key = f"per-day:{days}:{end}"
        if key not in snap.memo:
            snap.memo[key] = self._per_day(snap, days, end)
        return snap.memo[key]  # type: ignore[no-any-return]

    @staticmethod
    def _per_day(snap: Snapshot, days: int, end: date) -> tuple[list[date], dict[str, list[int]]]:
        span = [end - timedelta(days=n) for n in range(days - 1, -1, -1)]
        counts: dict[str, Counter[date]] = {}
        for name, listed in snap.by_site.items():
            counter = counts.setdefault(name, Counter())
            for article in listed:
                for capture in article.captures:
                    day = _day(capture.get("fetched_at"))
                    if day is not None and span[0] <= day <= end:
                        counter[day] += 1
        return span, {name: [counter[d] for d in span] for name, counter in sorted(counts.items())}

    # --- runs -------------------------------------------------------------------------------

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Crawl runs' summaries (runs/{job}/{run}/summary.json, a fleet's one per process
        merged), newest first; read again with the catalog."""
        snap = self.snapshot()
        if "runs" not in snap.memo:
            snap.memo["runs"] = self._read_runs()
        return snap.memo["runs"][:limit]  # type: ignore[no-any-return]

    def _read_runs(self) -> list[dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        keys = sorted((k for k in self.store.list("runs/") if k.endswith("/summary.json")),
                      key=lambda k: k.split("/")[2], reverse=True)
        for key in keys[:RUN_SUMMARIES]:  # the newest runs (their ids start with the time)
            parts = key.split("/")
            if len(parts) < 4:
                continue
            try:
                summary = json.loads(self.store.get(key))
            except (StoreError, ValueError):
                continue
            run = found.setdefault((parts[1], parts[2]), {"job": parts[1], "run_id": parts[2], "sites": {},
                                                          "started_at": summary.get("started_at"),
                                                          "finished_at": summary.get("finished_at"),
                                                          "finish_reason": summary.get("finish_reason")})
            for name, counts in (summary.get("sites") or {}).items():
                merged = run["sites"].setdefault(name, Counter())
                merged.update({k: v for k, v in counts.items() if isinstance(v, int)})
                merged["failed_status"] = merged.get("failed_status", 0) + (counts.get("status") != "ok")
        return sorted(found.values(), key=lambda r: str(r["run_id"]), reverse=True)

    def last_runs(self) -> dict[str, dict[str, Any]]:
        """Each site's newest run: its id and counts."""
        last: dict[str, dict[str, Any]] = {}
        for run in self.runs():
            for name, counts in run["sites"].items():
                last.setdefault(name, {"run_id": run["run_id"], "job": run["job"], **counts})
        return last

    # --- an article ---------------------------------------------------------------------------

    def article(self, url: str) -> Article | None:
        return self.snapshot().articles.get(url)

    def captures(self, url: str) -> list[CaptureRef]:
        return list_captures(self.store, url)

    def capture(self, url: str, capture_id: str | None) -> tuple[CaptureRef, StoredCapture] | None:
        """One of the article's captures (the newest when no id is given), read from its WARC."""
        refs = self.captures(url)
        ref = next((r for r in refs if r.capture_id == capture_id), None) if capture_id else \
            (refs[0] if refs else None)
        return None if ref is None else (ref, read_capture(self.store, ref))

    def warc(self, ref: CaptureRef) -> bytes:
        return self.store.get(ref.key)


def headers_of(record: Mapping[str, Any]) -> dict[str, list[str]]:
    headers = record.get("headers") or {}
    return {str(k): [str(v) for v in vs] for k, vs in headers.items()} if isinstance(headers, dict) else {}
