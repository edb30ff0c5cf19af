"""ArchivePipeline: write each page's capture (raw body, text, meta.json last) to the store.

Blocking store calls (boto3, file writes) run in worker threads via asyncio.to_thread,
never on the reactor thread. Raw and text are written concurrently; meta.json only
after both succeeded, so its presence marks a complete capture.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from crawler.items import Capture, ExtractedPage, FetchedPage
from crawler.keys import capture_keys
from crawler.records import StoredObject, render_objects
from crawler.storage import Store, StoreError, store_from_settings

logger = logging.getLogger(__name__)


class ArchivePipeline:
    def __init__(self, store: Store, stats: StatsCollector | None = None) -> None:
        self.store = store
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(store_from_settings(crawler.settings), crawler.stats)

    async def open_spider(self) -> None:
        await asyncio.to_thread(self.store.check)

    async def _put(self, obj: StoredObject) -> None:
        await asyncio.to_thread(
            self.store.put, obj.key, obj.data, content_type=obj.content_type, metadata=obj.metadata
        )

    def _inc(self, name: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(name, count)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchedPage):  # ExtractPipeline disabled: archive raw only
            item = ExtractedPage(item, None, "not extracted (ExtractPipeline disabled)")
        if not isinstance(item, ExtractedPage):
            return item
        page = item.page
        keys = capture_keys(page.requested_url, page.fetched_at)
        objects, record = render_objects(item, keys)
        try:
            await asyncio.gather(*(self._put(obj) for obj in objects[:-1]))
            await self._put(objects[-1])
        except StoreError as exc:
            self._inc("archive/failed")
            raise DropItem(f"{page.requested_url}: not archived: {exc}") from exc
        self._inc("archive/stored")
        self._inc("archive/bytes", sum(len(obj.data) for obj in objects))
        if item.problem:
            self._inc("archive/raw_only")
        location = self.store.location(keys.prefix)
        logger.info("Archived %s -> %s", page.requested_url, location)
        text = item.extraction.text if item.extraction else ""
        return Capture(
            requested_url=page.requested_url,
            url=page.url,
            capture_id=str(record["capture_id"]),
            location=location,
            status=page.status,
            title=item.extraction.title if item.extraction else None,
            text_chars=len(text),
            problem=item.problem,
            record=record,
        )
