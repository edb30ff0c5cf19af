"""ArchivePipeline: write each page's capture (one WARC: the exchange, the record, the text) to the store.

Captures are filed under the article's identity URL (crawler.model.urls.article_identity); a
latest.json pointer at the identity and at every other URL the page was reached by records
the newest capture. With ARCHIVE_SKIP_UNCHANGED (scheduled crawls), a page whose text is the
same as the newest capture's writes no new capture: only the pointer's check time moves.

When the store fails (after boto3's own retries), the capture goes to a durable local spool
(crawler.store.spool) instead of being lost, and for ARCHIVE_STORE_COOLDOWN seconds the next ones go
straight there; the spool is replayed when a run starts, or by `newsarchive spool flush`.

Each capture is written by one worker thread from start to finish (read the pointer, hash,
render and write the WARC in one write, then the pointers), never on the reactor thread. A
run killed between the WARC and its pointer leaves a capture the pointer does not name yet:
nothing is lost, and the next crawl captures that article once more. Concurrency comes from
many captures in flight (CONCURRENT_ITEMS), each on its own thread of a pool of that size, which also sizes the S3
client's connection pool. One hop to a thread per capture, not one per object: each hop costs
the reactor thread a wake-up and a GIL hand-over, which measured about 4 ms of CPU per page
(bench/throughput.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Self, TypeVar

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from crawler.components.store import crawler_store
from crawler.model.items import Capture, ExtractedPage, FetchedPage
from crawler.model.keys import capture_key, pointer_key
from crawler.model.urls import article_identity, normalise_url
from crawler.store.base import Store, StoreError
from crawler.store.captures import pointer_capture_key, read_pointer
from crawler.store.catalog import CatalogWriter, catalog_row, catalog_writer, check_row
from crawler.store.records import (
    POINTER_CONTENT_TYPE,
    StoredObject,
    content_digests,
    refresh_pointer,
    render_capture,
    render_pointer,
    same_content,
)
from crawler.store.spool import Spool, spool_for

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _identity(item: ExtractedPage) -> str:
    canonical = item.extraction.canonical_url if item.extraction else None
    return article_identity(item.page.url, canonical)


def _aliases(page: FetchedPage, identity: str) -> list[str]:
    """Other URLs this page was reached by, normalised, each once."""
    urls = {normalise_url(u) for u in (page.requested_url, page.url, *page.redirect_urls)}
    return sorted(urls - {normalise_url(identity)})


class KeyedLocks:
    """One asyncio.Lock per key, kept exactly as long as someone holds it or waits for it: a
    lock dropped while still held would let the next comer take a fresh one and run beside
    its holder."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class ArchivePipeline:
    def __init__(self, store: Store, stats: StatsCollector | None = None, *, skip_unchanged: bool,
                 spool: Spool | None = None, cooldown: float, threads: int,
                 warcinfo: Mapping[str, str] | None = None, catalog: CatalogWriter | None = None) -> None:
        self.store = store
        self.catalog = catalog
        """Where each capture's catalog row goes (crawler.store.catalog); None: no catalog."""
        self.warcinfo = dict(warcinfo or {})
        """The warcinfo fields of every capture's WARC: the fetch's user agent and robots policy, the job and run."""
        self.threads = max(threads, 1)
        self.executor: ThreadPoolExecutor | None = None
        self.stats = stats
        self.skip_unchanged = skip_unchanged
        self.spool = spool
        self.cooldown = cooldown
        self._down_until = 0.0
        self._locks = KeyedLocks()  # one writer per article at a time, in this process
        self._pointers_written: set[str] = set()  # pointer keys this run wrote (crawls' read copies go stale)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        store = crawler_store(crawler)
        warcinfo = {"http-header-user-agent": settings.get("USER_AGENT"),
                    "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                    "isPartOf": "/".join(filter(None, (settings.get("CRAWL_JOB"), settings.get("CRAWL_RUN_ID"))))}
        return cls(store, crawler.stats, skip_unchanged=settings.getbool("ARCHIVE_SKIP_UNCHANGED"),
                   spool=spool_for(settings, store), cooldown=settings.getfloat("ARCHIVE_STORE_COOLDOWN"),
                   threads=settings.getint("CONCURRENT_ITEMS"), warcinfo={k: v for k, v in warcinfo.items() if v},
                   catalog=catalog_writer(settings, store) if settings.getbool("CATALOG_ENABLED") else None)

    async def _run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`function` on one of the pipeline's threads, awaited from the reactor."""
        if self.executor is None:
            self.executor = ThreadPoolExecutor(self.threads, thread_name_prefix="archive")
        return await asyncio.get_running_loop().run_in_executor(self.executor, lambda: function(*args, **kwargs))

    async def open_spider(self) -> None:
        await self._run(self.store.check)
        if self.spool is not None and len(self.spool):  # what an earlier run could not store, first
            result = await self._run(self.spool.flush, self.store, catalog=self.catalog)
            logger.warning("Spool %s: %d capture(s) written to the store, %d left%s", self.spool.path,
                           result.written, result.remaining, f" ({result.error})" if result.error else "")
            self._inc("spool/flushed", result.written)

    async def close_spider(self) -> None:
        if self.catalog is not None:
            try:
                await self._run(self.catalog.close)
            except StoreError as exc:  # the captures are stored; only finding them is slower
                logger.error("Catalog rows of this run not written (%s): run `newsarchive index --rebuild` "
                             "once the store is back", exc)
        if self.executor is not None:
            self.executor.shutdown(wait=True)
            self.executor = None

    def _put(self, obj: StoredObject) -> None:
        self.store.put(obj.key, obj.data, content_type=obj.content_type, metadata=obj.metadata)

    def _put_pointers(self, urls: list[str], data: bytes) -> None:
        for url in urls:
            key = pointer_key(url)
            self._pointers_written.add(key)  # before the write: a failed write may have landed too
            self._put(StoredObject(key, data, POINTER_CONTENT_TYPE))

    def _inc(self, name: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(name, count)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchedPage):  # ExtractPipeline disabled: archive raw only
            item = ExtractedPage(item, None, "not extracted (ExtractPipeline disabled)")
        if not isinstance(item, ExtractedPage):
            return item
        identity = _identity(item)
        async with self._locks.hold(identity):  # one article, one writer at a time in this process
            try:
                if time.monotonic() < self._down_until:  # the store failed a moment ago: don't wait on it
                    return await self._spool(item, identity, None, "the store was unreachable a moment ago")
                capture, written = await self._run(self._archive, item, identity)
                self._count(capture, item, written)
                return capture
            except StoreError as exc:
                self._down_until = time.monotonic() + self.cooldown
                return await self._spool(item, identity, None, str(exc))

    async def _spool(self, item: ExtractedPage, identity: str, previous: dict[str, Any] | None,
                     reason: str) -> Capture:
        """Keep the capture in the local spool: it reaches the store on the next run or flush."""
        page = item.page
        if self.spool is None:
            self._inc("archive/failed")
            raise DropItem(f"{page.requested_url}: not archived: {reason}")
        raw_sha, text_sha = content_digests(item)
        warc, record, pointer = self._render(item, identity, previous, (raw_sha, text_sha))
        pointers = [StoredObject(pointer_key(u), pointer, POINTER_CONTENT_TYPE)
                    for u in [identity, *_aliases(page, identity)]]
        self._pointers_written.update(obj.key for obj in pointers)  # the spool writes them later
        info = {"capture_id": record["capture_id"], "identity": identity, "url": page.requested_url,
                "store": self.store.location(""), "reason": reason, "skip_unchanged": self.skip_unchanged,
                "raw_sha256": raw_sha, "text_sha256": text_sha}
        try:
            entry = await self._run(self.spool.add, [warc], pointers=pointers, info=info)
        except OSError as exc:
            self._inc("archive/failed")
            raise DropItem(f"{page.requested_url}: not archived: {reason}; "
                           f"the local spool failed too: {exc.strerror or exc}") from exc
        self._inc("archive/spooled")
        logger.warning("Store unavailable for %s (%s): kept in the spool %s", page.requested_url, reason, entry)
        return self._capture(item, str(record["capture_id"]), str(entry), "spooled", record)

    def _archive(self, item: ExtractedPage, identity: str) -> tuple[Capture, int]:
        """Write one capture (on a pipeline thread) and say how many bytes it took; the same text
        as the newest capture, with ARCHIVE_SKIP_UNCHANGED, writes only the pointer's check time."""
        page = item.page
        previous = self._previous(page, identity)
        raw_sha, text_sha = content_digests(item)
        same = previous is not None and same_content(previous, (raw_sha, text_sha))
        if same and self.skip_unchanged and previous is not None:
            return self._note_unchanged(item, identity, previous), 0
        warc, record, pointer = self._render(item, identity, previous, (raw_sha, text_sha))
        self._put(warc)  # one object: the capture exists whole or not at all
        self._put_pointers([identity, *_aliases(page, identity)], pointer)
        if self.catalog is not None:
            self.catalog.add(catalog_row(record, warc.key))
        change = "new" if previous is None else "recaptured" if same else "changed"
        location = self.store.location(warc.key)
        logger.info("Archived %s (%s) -> %s", page.requested_url, change, location)
        capture = self._capture(item, str(record["capture_id"]), location, change, record)
        return capture, len(warc.data)

    def _render(self, item: ExtractedPage, identity: str, previous: dict[str, Any] | None,
                digests: tuple[str, str | None]) -> tuple[StoredObject, dict[str, object], bytes]:
        """The capture's WARC, its record and the pointer naming it."""
        key = capture_key(identity, item.page.fetched_at)
        warc, record = render_capture(item, key, identity=identity, previous=previous, digests=digests,
                                      info=self.warcinfo)
        return warc, record, render_pointer(record, key)

    def _previous(self, page: FetchedPage, identity: str) -> dict[str, Any] | None:
        """The pointer to the article's newest capture. A crawl read it while deciding to fetch
        the page: that copy is used, unless the page is filed under another URL than the one
        looked up (a redirect, a canonical) or this run has written that pointer since."""
        key = pointer_key(identity)
        if page.pointer_read and key == pointer_key(page.requested_url) and key not in self._pointers_written:
            return dict(page.pointer) if page.pointer is not None else None
        return read_pointer(self.store, identity)

    def _count(self, capture: Capture, item: ExtractedPage, written: int) -> None:
        """Stats of a written capture (on the reactor thread: the stats collector is not thread-safe)."""
        if capture.change == "unchanged":
            self._inc("archive/unchanged")
            return
        self._inc("archive/stored")
        self._inc(f"archive/{capture.change}")
        self._inc("archive/bytes", written)
        if item.problem:
            self._inc("archive/flagged")

    def _note_unchanged(self, item: ExtractedPage, identity: str, previous: dict[str, Any]) -> Capture:
        """Same text as the newest capture: write nothing but the pointer's check time and validators."""
        page = item.page
        refreshed = refresh_pointer(previous, page)
        try:
            self._put_pointers([identity, *_aliases(page, identity)], refreshed)
        except StoreError as exc:  # only the check time is lost: nothing to keep
            logger.warning("Pointer of %s not refreshed: %s", identity, exc)
        else:
            if self.catalog is not None:
                self.catalog.add(check_row(json.loads(refreshed)))
        location = self.store.location(pointer_capture_key(previous))
        return self._capture(item, str(previous.get("capture_id")), location, "unchanged", {})

    @staticmethod
    def _capture(item: ExtractedPage, capture_id: str, location: str, change: str,
                 record: dict[str, object]) -> Capture:
        page, extraction = item.page, item.extraction
        return Capture(
            requested_url=page.requested_url,
            url=page.url,
            capture_id=capture_id,
            location=location,
            status=page.status,
            title=extraction.title if extraction else None,
            text_chars=len(extraction.text) if extraction else 0,
            problem=item.problem,
            change=change,
            kind=extraction.kind if extraction else None,
            access=extraction.access if extraction else None,
            site=page.site,
            record=record,
        )
