"""The Scrapy components of a fleet (crawler.fleet.frontier): what `crawl --redis` plugs into Scrapy.

  LeasedQueue           scrapy-redis's FIFO request queue, whose pop also leases the request
                        to this process (so a process that dies does not lose what it held);
  ExpiringDupeFilter    scrapy-redis's duplicate filter with an expiry on its set;
  FleetExtension        heartbeats, lease acknowledgements, and the decision to leave: when
                        this process is idle it stays while others still work or the queue
                        has requests, and leaves once the whole run has drained;
  FleetThrottledHTTPHandler  the per-host delay for the whole fleet (one Redis clock).

fleet_settings() turns them on for a FleetRun.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import signals as scrapy_signals
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Request, Response
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import FifoQueue
from twisted.internet import task

from crawler.fleet.frontier import LEASE, FleetRun, acknowledge, queue_key, seen_key, throttle_wait

logger = logging.getLogger(__name__)


def _fleet(spider: Any) -> FleetRun | None:
    fleet = getattr(spider, "fleet", None)
    return fleet if isinstance(fleet, FleetRun) else None


def fleet_settings(fleet: FleetRun, redis_url: str) -> dict[str, Any]:
    """Settings that make this process a member of `fleet` (cmdline priority)."""
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.fleet.components.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": queue_key(fleet.job),
        "SCHEDULER_DUPEFILTER_KEY": seen_key(fleet.job, fleet.run_id),
        "DUPEFILTER_CLASS": "crawler.fleet.components.ExpiringDupeFilter",
        "SCHEDULER_PERSIST": True,  # one process closing must not clear the fleet's queue
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,  # never block the reactor waiting on Redis
        "REDIS_URL": redis_url,
        "FLEET_ENABLED": True,
        "FLEET_WORKER": fleet.worker,  # the run manifest writes this process's own parts
        "DOWNLOAD_HANDLERS": {"http": "crawler.fleet.components.FleetThrottledHTTPHandler",
                              "https": "crawler.fleet.components.FleetThrottledHTTPHandler"},
    }


def join_fleet(settings: Any, job: str, run_id: str) -> FleetRun:
    """Join (or start) the job's fleet run in Redis and switch `settings` (not yet frozen) to
    its shared scheduler, duplicate filter and throttle. Raises FleetError."""
    from crawler.fleet.frontier import connect

    url = settings.get("FLEET_REDIS_URL")
    fleet = FleetRun.join(connect(url), job, run_id, worker_ttl=settings.getint("FLEET_WORKER_TTL"),
                          run_ttl=settings.getint("FLEET_RUN_TTL"))
    settings.setdict(fleet_settings(fleet, url), priority="cmdline")
    return fleet


class LeasedQueue(FifoQueue):  # type: ignore[misc]
    """FIFO (LPUSH / RPOP) like scrapy-redis's FifoQueue; each pop leases the request."""

    def pop(self, timeout: int = 0) -> Request | None:
        fleet = _fleet(self.spider)
        if fleet is None:
            return super().pop(timeout)  # type: ignore[no-any-return]
        leased = fleet.pop()
        if leased is None:
            return None
        token, data = leased
        request: Request = self._decode_request(data)
        request.meta[LEASE] = token
        return request


class ExpiringDupeFilter(RFPDupeFilter):  # type: ignore[misc]
    """The run's fingerprints expire FLEET_SEEN_TTL_HOURS after the last one was added, so a
    run that never drained (every process killed) does not keep its set forever."""

    ttl_seconds = 48 * 3600

    @classmethod
    def from_spider(cls, spider: Any) -> Self:
        dupefilter: Self = super().from_spider(spider)
        dupefilter.ttl_seconds = int(spider.settings.getfloat("FLEET_SEEN_TTL_HOURS") * 3600)
        return dupefilter

    def request_seen(self, request: Request) -> bool:
        fingerprint = self.request_fingerprint(request)
        pipe = self.server.pipeline(transaction=False)
        pipe.sadd(self.key, fingerprint)
        pipe.expire(self.key, self.ttl_seconds)
        added, _ = pipe.execute()
        return int(added) == 0

    def close(self, reason: str = "") -> None:
        pass  # the run's filter outlives this process; FleetRun.end() deletes it


class FleetExtension:
    """Heartbeats, lease acknowledgements and leaving when the run has drained."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.fleet: FleetRun | None = None
        self.loop: task.LoopingCall | None = None
        self.run_ttl = crawler.settings.getint("FLEET_RUN_TTL")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("FLEET_ENABLED"):
            raise NotConfigured
        extension = cls(crawler)
        connect = crawler.signals.connect
        connect(extension.spider_opened, scrapy_signals.spider_opened)
        connect(extension.spider_idle, scrapy_signals.spider_idle)
        connect(extension.spider_closed, scrapy_signals.spider_closed)
        for signal in (scrapy_signals.item_scraped, scrapy_signals.item_dropped, scrapy_signals.item_error):
            connect(extension.item_done, signal)
        return extension

    def spider_opened(self, spider: Any) -> None:
        self.fleet = _fleet(spider)
        if self.fleet is None:
            return
        self.fleet.beat(self.run_ttl)
        self.loop = task.LoopingCall(self._beat)
        self.loop.start(max(self.fleet.worker_ttl / 3, 0.5), now=False)

    def _beat(self) -> None:
        if self.fleet is not None:
            try:
                self.fleet.beat(self.run_ttl)
            except Exception as exc:  # Redis away for a moment: the next beat may reach it
                logger.warning("Fleet heartbeat failed: %s", exc)

    def item_done(self, response: Response | None = None, **_: Any) -> None:
        acknowledge(self.crawler.spider, response)

    def spider_idle(self, spider: Any) -> None:
        if self.fleet is None:
            return
        if not self.fleet.drained():
            raise DontCloseSpider
        if self.fleet.end():
            logger.info("Fleet run %s of %s has drained: ended by this process", self.fleet.run_id, self.fleet.job)

    def spider_closed(self, spider: Any) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.fleet is not None:
            try:
                if moved := self.fleet.leave():
                    logger.warning("Left the fleet with %d request(s) unfinished: put back in the queue", moved)
            except Exception as exc:  # its heartbeat expires anyway, and its leases go back then
                logger.warning("Could not leave the fleet cleanly: %s", exc)


class FleetAckMiddleware:
    """Spider middleware: a response whose callback yielded no item is done once its output is
    consumed (items are acknowledged by FleetExtension when the pipelines finish them)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("FLEET_ENABLED"):
            raise NotConfigured
        return cls(crawler)

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler  # its spider: Scrapy is dropping the `spider` argument of these methods

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any],
                                          spider: Any = None) -> AsyncIterator[Any]:
        items = 0
        async for output in result:
            items += not isinstance(output, Request)
            yield output
        if not items:
            acknowledge(self.crawler.spider, response)

    def process_spider_output(self, response: Response, result: Any, spider: Any = None) -> Any:
        items = 0
        for output in result:
            items += not isinstance(output, Request)
            yield output
        if not items:
            acknowledge(self.crawler.spider, response)


class FleetThrottledHTTPHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 download handler, sending at most one request per FLEET_DOMAIN_DELAY
    seconds to each host across every process of the fleet (Redis keeps the next free time
    per host, on its own clock). It waits here, as the transfer starts, and not in a downloader
    middleware: requests a middleware let through would queue in the download slot and leave
    it together, bunched."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        from crawler.fleet.frontier import connect

        self.fleet_client = connect(crawler.settings.get("FLEET_REDIS_URL"))
        self.fleet_delay = crawler.settings.getfloat("FLEET_DOMAIN_DELAY")

    async def download_request(self, request: Request) -> Response:
        host = urlsplit(request.url).hostname
        if host and self.fleet_delay > 0:
            wait = throttle_wait(self.fleet_client, host.lower(), self.fleet_delay)
            if wait > 0:
                await asyncio.sleep(wait)
        response: Response = await super().download_request(request)
        return response
