"""JobLock: one run of a crawl job at a time, across processes and machines sharing a store
(a Scrapy extension, active when the CRAWL_JOB setting names a job and no fleet runs it).

Taken when the spider opens (crawler.store.locks.acquire: a conditional create in the store);
when another run holds it, the spider closes at once with the reason LOCKED_OUT and `held_by`
says who holds it. Released when the engine stops: Scrapy runs spider_closed handlers
concurrently, and the run manifest writes the summary in its own, so the lock outlives the
summary. A fleet does not take it: the fleet's run in Redis is its lock (crawler.fleet).

Settings: CRAWL_JOB, CRAWL_RUN_ID, CRAWL_LOCK_TTL_HOURS (raised to 2/3 of a longer
CLOSESPIDER_TIMEOUT, so a long bounded run never outlives its own lock).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Self

from scrapy import signals as scrapy_signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured

from crawler.components.store import crawler_store
from crawler.store.locks import JobLock, LockHeld, acquire

logger = logging.getLogger(__name__)

LOCKED_OUT = "locked_out"
"""The close reason of a run that did not start because another run of its job holds the lock."""


class JobLockExtension:
    def __init__(self, crawler: Crawler, job: str, run_id: str, ttl: timedelta) -> None:
        self.crawler = crawler  # its store is looked up when the spider opens (after every extension is built)
        self.job = job
        self.run_id = run_id
        self.ttl = ttl
        self.lock: JobLock | None = None
        self.held_by: str | None = None
        """Who holds the lock, when this run could not take it (one line, for people)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.get("CRAWL_JOB") or settings.getbool("FLEET_ENABLED"):
            raise NotConfigured
        hours = max(settings.getfloat("CRAWL_LOCK_TTL_HOURS"), 2 * settings.getfloat("CLOSESPIDER_TIMEOUT") / 3600)
        extension = cls(crawler, settings["CRAWL_JOB"], settings["CRAWL_RUN_ID"], timedelta(hours=hours))
        crawler.signals.connect(extension.spider_opened, scrapy_signals.spider_opened)
        crawler.signals.connect(extension.engine_stopped, scrapy_signals.engine_stopped)
        return extension

    async def spider_opened(self, spider: Any) -> None:
        try:
            self.lock = await asyncio.to_thread(acquire, crawler_store(self.crawler), self.job, self.run_id, self.ttl)
        except LockHeld as exc:
            self.held_by = str(exc)
            logger.error("%s", exc)
            raise CloseSpider(LOCKED_OUT) from None

    async def engine_stopped(self) -> None:
        if self.lock is not None:
            lock, self.lock = self.lock, None
            await asyncio.to_thread(lock.release)
