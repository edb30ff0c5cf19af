"""ExtractPipeline: FetchedPage -> ExtractedPage (text and metadata, or why there is none).

Extraction costs tens of milliseconds of CPU per page, so with EXTRACT_WORKERS > 0 it runs
in a pool of worker processes (default: one per CPU), fed through asyncio futures: the
reactor thread never runs it and keeps downloading and uploading meanwhile. Workers receive
the body and return only the extraction (not the body back). EXTRACT_WORKERS = 0 extracts
in-process (one-off archiving of a few URLs, where starting workers would cost more). Both
paths run the same function, crawler.extraction.extract.extract_body, so the text is identical.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.extraction.extract import ExtractOptions, extract_body
from crawler.model.items import ExtractedPage, FetchedPage

logger = logging.getLogger(__name__)


def _worker_init(parent_pid: int) -> None:
    """Import the extractor before the first page arrives, and leave when the crawl process is
    gone: if it was killed (SIGKILL, OOM), nothing else would stop an idle worker."""
    import threading
    import time

    import crawler.extraction.extract  # noqa: F401

    def watch() -> None:
        while True:
            time.sleep(2)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class ExtractPipeline:
    def __init__(self, options: ExtractOptions, stats: StatsCollector | None = None, workers: int = 0) -> None:
        self.options = options
        self.stats = stats
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        workers = crawler.settings.get("EXTRACT_WORKERS")
        count = (os.cpu_count() or 1) if workers in (None, "", "auto") else int(workers)
        return cls(ExtractOptions.from_settings(crawler.settings), crawler.stats, workers=max(count, 0))

    def open_spider(self) -> None:
        if self.workers > 0:
            # forkserver: workers are not forked from a process running the reactor's threads
            context = multiprocessing.get_context("forkserver")
            # the forkserver imports the extractor once; each worker forks with it loaded
            context.set_forkserver_preload(["crawler.extraction.extract"])
            self.executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_worker_init,
                                                initargs=(os.getpid(),))

    def close_spider(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        args = (item.body, item.content_type, item.url, item.discovery, self.options)
        if self.executor is None:
            extraction, problem, encoding = extract_body(*args)
        else:
            extraction, problem, encoding = await asyncio.wrap_future(self.executor.submit(extract_body, *args))
        if problem and self.stats is not None:
            self.stats.inc_value("extract/empty")
            logger.warning("No article text in %s: %s", item.url, problem)
        return ExtractedPage(item, extraction, problem, encoding)
