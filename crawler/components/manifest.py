"""RunManifest: the crawl run's manifest and summary, written to the store (a Scrapy extension).

Active for runs of a job: the CRAWL_JOB, CRAWL_RUN_ID and CRAWL_SITES settings, which
SitesSpider sets (and FLEET_WORKER in a fleet), say which:
    runs/{job}/{run_id}/manifest-00001.jsonl ...   one JSON line per URL decided
    runs/{job}/{run_id}/summary.json                per-site counts, written at the end
(in a fleet, under runs/{job}/{run_id}/{worker}/: each process writes its own).
Manifest parts are written every MANIFEST_PART_LINES lines, so a long run's memory stays
bounded and a killed run leaves what it had decided. A run that never started (closed as
LOCKED_OUT: another run holds the job's lock) writes nothing. The CLI reads `summary` from
this extension (crawler.get_extension(RunManifest)) once the crawl has ended.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Self

from scrapy import signals as scrapy_signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.components.joblock import LOCKED_OUT
from crawler.components.store import crawler_store
from crawler.model import signals
from crawler.model.items import Capture, ExtractedPage, FetchedPage
from crawler.planning.report import RunReport
from crawler.store.base import Store, StoreError

logger = logging.getLogger(__name__)


def _page(item: Any) -> FetchedPage | None:
    if isinstance(item, ExtractedPage):
        return item.page
    return item if isinstance(item, FetchedPage) else None


class RunManifest:
    def __init__(self, crawler: Crawler, report: RunReport, prefix: str, part_lines: int) -> None:
        self.crawler = crawler
        self.report = report
        self.part_lines = part_lines
        self.summary: dict[str, Any] | None = None
        """The run's summary, once the spider has closed."""
        self._parts = 0
        self._prefix = prefix

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("MANIFEST_ENABLED") or not settings.get("CRAWL_JOB"):
            raise NotConfigured
        job, run_id, worker = settings["CRAWL_JOB"], settings["CRAWL_RUN_ID"], settings.get("FLEET_WORKER")
        prefix = f"runs/{job}/{run_id}/" + (f"{worker}/" if worker else "")  # in a fleet, each process its own
        extension = cls(crawler, RunReport(job, run_id, settings.getlist("CRAWL_SITES")), prefix,
                        settings.getint("MANIFEST_PART_LINES"))
        connect = crawler.signals.connect
        connect(extension.spider_closed, scrapy_signals.spider_closed)
        connect(extension.item_scraped, scrapy_signals.item_scraped)
        connect(extension.item_dropped, scrapy_signals.item_dropped)
        connect(extension.fetch_failed, signals.fetch_failed)
        connect(extension.url_decided, signals.url_decided)
        connect(extension.host_paused, signals.host_paused)
        return extension

    @property
    def store(self) -> Store:
        """The crawl's store (crawler.components.store), looked up once every extension is built."""
        return crawler_store(self.crawler)

    def _add(self, entry: dict[str, Any]) -> None:
        self.report.add(entry)
        if self.report.pending >= self.part_lines:
            self._write_part(self.report.take_lines())

    def _write_part(self, lines: list[str]) -> None:
        if not lines:
            return
        self._parts += 1
        key = f"{self._prefix}manifest-{self._parts:05d}.jsonl"
        try:  # small and rare (every part_lines URLs): written in place, not worth a thread hop
            self.store.put(key, ("\n".join(lines) + "\n").encode("utf-8"), content_type="application/x-ndjson",
                           metadata={})
        except StoreError as exc:
            logger.error("Run manifest part not written: %s", exc)

    def item_scraped(self, item: Any, **_: Any) -> None:
        if isinstance(item, Capture):
            decision = item.change if item.change in ("unchanged", "spooled") else "captured"
            rendered = item.record.get("rendered")
            self._add({"url": item.requested_url, "site": item.site, "role": "article", "decision": decision,
                       "change": item.change, "kind": item.kind, "access": item.access, "reason": item.problem,
                       "capture": item.location,
                       **({"render_ms": rendered.get("ms"), "render_error": rendered.get("error")}
                          if isinstance(rendered, dict) else {})})

    def item_dropped(self, item: Any, exception: BaseException, **_: Any) -> None:
        page = _page(item)
        if page is not None:
            self._add({"url": page.requested_url, "site": page.site, "role": "article", "decision": "failed",
                       "reason": str(exception)})

    def fetch_failed(self, url: str, reason: str, site: str | None = None, role: str | None = None,
                     **_: Any) -> None:
        decision = "skipped" if reason.startswith("forbidden by robots.txt") else "failed"
        self._add({"url": url, "site": site, "role": role or "article", "decision": decision, "reason": reason})

    def url_decided(self, url: str, site: str, decision: str, reason: str, role: str, **_: Any) -> None:
        self._add({"url": url, "site": site, "role": role, "decision": decision, "reason": reason})

    def host_paused(self, url: str, site: str | None, status: int, seconds: float, role: str | None = None,
                    **_: Any) -> None:
        self._add({"url": url, "site": site, "role": role or "article", "decision": "paused",
                   "reason": f"HTTP {status} with Retry-After: paused the host {seconds:.0f} s"})

    async def spider_closed(self, spider: Any, reason: str) -> None:
        if reason == LOCKED_OUT:
            return  # a run that never started (another holds the lock) leaves nothing behind
        report, prefix = self.report, self._prefix
        self.summary = report.summary(reason)
        await asyncio.to_thread(self._write_part, report.take_lines())
        data = json.dumps(self.summary, indent=2, ensure_ascii=False).encode("utf-8")
        try:
            await asyncio.to_thread(self.store.put, f"{prefix}summary.json", data,
                                    content_type="application/json", metadata={})
        except StoreError as exc:
            logger.error("Run summary not written: %s", exc)
