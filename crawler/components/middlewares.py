"""Downloader middlewares of our own.

ExchangeRecorder keeps each response as it crossed the wire (status, headers, the payload
still content-encoded), with the request as sent, for the capture's WARC request/response
records: it sits nearer the downloader than Scrapy's redirect (600) and decompression (590)
middlewares, so it sees every hop, and every body, before they are followed or decoded.

PrivateAddressMiddleware (off by default) keeps the archiver off private networks.

MetaRefreshMiddleware is Scrapy's, reading only the head of the page. Scrapy's looks for the
tag in the first 4096 characters of response.text, which decodes the whole body first: about
0.5 ms of CPU per news page (a py-spy profile of bench/throughput.py), and a decoded copy of every page held as
long as its response lives.

RetryAfterMiddleware honours 429 and 503 with Retry-After (seconds or an HTTP date): the host's
requests wait that long (at most RETRY_AFTER_MAX), here and, in a fleet, in every process (the
host's next free time in Redis moves ahead). Scrapy's retry middleware retries such responses
at once; this one sits nearer the downloader (560 > 550), sees the response first and makes
the retry, and every other request to that host, wait. The wait happens as a request enters
the downloader, so waiting requests count against CONCURRENT_REQUESTS: a long pause on a busy
host slows the rest of the crawl, hence the cap.

RobotsTxtMiddleware works around a Scrapy bug (seen in 2.19.0): while robots.txt for a
host is being fetched, every request to that host waits on one shared Deferred, each
through maybe_deferred_to_future(), whose callback returns None. So only the first
waiter receives the parsed robots.txt; the others receive None, which means "allowed",
and a disallowed URL requested together with others on the same host was fetched.
Here each waiter gets its own Deferred and the shared one passes its result on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as _ScrapyMetaRefreshMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.model import signals
from crawler.model.http import retry_after_seconds
from crawler.model.items import HttpExchange

logger = logging.getLogger(__name__)


class RobotsTxtMiddleware(_ScrapyRobotsTxtMiddleware):
    """Scrapy's, with the waiter fix above, and each host's robots.txt fetched once per run: the
    crawl's own request for it (role "robots", read for its Sitemap: lines) is answered with
    the response this middleware fetched for the rules, not sent again."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._responses: dict[str, Response] = {}

    async def process_request(self, request: Request) -> Response | None:  # type: ignore[override]
        if request.meta.get("role") == "robots" and urlparse_cached(request).path == "/robots.txt":
            await self.robot_parser(request)  # fetched by now (once per host), or failed
            fetched = self._responses.get(urlparse_cached(request).netloc)
            return None if fetched is None else fetched.replace(request=request)
        await super().process_request(request)
        return None

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        self._responses[netloc] = response
        await super()._parse_robots(response, netloc, request)

    async def robot_parser(self, request: Request) -> Any:
        shared = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(shared, Deferred):
            return await super().robot_parser(request)
        mine: Deferred[Any] = Deferred()

        def relay(result: Any) -> Any:
            mine.callback(result)
            return result  # keep the result for the next waiter

        shared.addCallback(relay)
        return await maybe_deferred_to_future(mine)


# Scrapy reads the first 4096 characters; 4 bytes a character at most, and room for a BOM.
HEAD_BYTES = 4 * 4096 + 4


class MetaRefreshMiddleware(_ScrapyMetaRefreshMiddleware):
    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        if not isinstance(response, HtmlResponse) or len(response.body) <= HEAD_BYTES:
            return super().process_response(request, response)
        # The same response cut to its head: same URL, headers and encoding (read from the
        # headers or the head's <meta charset>; inferred from the whole body only without them).
        head = response.replace(body=response.body[:HEAD_BYTES])
        result = super().process_response(request, head)
        return response if result is head else result


class PrivateAddressMiddleware:
    """Refuse requests to hosts that resolve to loopback, private, link-local or reserved
    addresses (ARCHIVE_BLOCK_PRIVATE_ADDRESSES), for anyone letting others submit URLs to
    `newsarchive archive`: it stops the archiver from being pointed at the internal network
    or a cloud metadata service (169.254.169.254). Redirects go through it again.

    Limits: the check resolves the name itself, a moment before Scrapy connects, so a DNS
    server answering differently the second time (DNS rebinding) can still slip through; put
    the archiver behind an egress firewall where that matters.
    """

    @classmethod
    def from_crawler(cls, crawler: Any) -> PrivateAddressMiddleware:
        if not crawler.settings.getbool("ARCHIVE_BLOCK_PRIVATE_ADDRESSES"):
            raise NotConfigured
        return cls()

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        try:
            infos = await asyncio.to_thread(socket.getaddrinfo, host, None, proto=socket.IPPROTO_TCP)
        except OSError:
            return  # unresolvable: the download fails with its own clear DNS error
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if not address.is_global:
                raise IgnoreRequest(f"refused: {host} resolves to the non-public address {address} "
                                    "(ARCHIVE_BLOCK_PRIVATE_ADDRESSES)")


EXCHANGES_META = "exchanges"
"""Request meta key: the HttpExchanges recorded for this request and the ones it led to (redirects,
retries), oldest first. crawler.spiders.news.page_from_response keeps those of the final chain."""


def _header_pairs(headers: Any) -> tuple[tuple[str, str], ...]:
    return tuple((name.decode("latin-1"), value.decode("latin-1"))
                 for name, values in headers.items() for value in values)


class ExchangeRecorder:
    """Record each HTTP exchange as it crossed the wire, in the request's meta (EXCHANGES_META)."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        sent = _header_pairs(request.headers)
        if not any(name.lower() == "host" for name, _ in sent):  # added by the HTTP client itself
            sent = (("Host", urlparse_cached(request).netloc), *sent)
        exchange = HttpExchange(
            url=request.url, method=request.method, request_headers=sent, request_body=request.body,
            status=response.status, response_headers=_header_pairs(response.headers), payload=response.body,
            received_at=datetime.now(UTC), protocol=response.protocol or "HTTP/1.1",
        )
        # a new list, not an append: a redirected or retried request shares its parent's meta list
        request.meta[EXCHANGES_META] = [*request.meta.get(EXCHANGES_META, ()), exchange]
        return response


class RetryAfterMiddleware:
    """429/503 with Retry-After pause the host (see the module docstring)."""

    STATUSES = (429, 503)

    def __init__(self, crawler: Any, cap: float, fleet_client: Any = None) -> None:
        self.crawler = crawler
        self.cap = cap
        self.fleet_client = fleet_client
        self._paused: dict[str, float] = {}  # host -> time.monotonic() when it may be asked again

    @classmethod
    def from_crawler(cls, crawler: Any) -> RetryAfterMiddleware:
        settings = crawler.settings
        if not settings.getbool("RETRY_AFTER_ENABLED"):
            raise NotConfigured
        client = None
        if settings.get("FLEET_REDIS_URL"):
            from crawler.fleet.frontier import connect

            client = connect(settings.get("FLEET_REDIS_URL"))
        return cls(crawler, settings.getfloat("RETRY_AFTER_MAX"), client)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        host = (urlsplit(request.url).hostname or "").lower()
        wait = self._paused.get(host, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if response.status not in self.STATUSES:
            return response
        header = response.headers.get("Retry-After")
        asked = retry_after_seconds(header.decode("latin-1") if header else None, datetime.now(UTC))
        if asked is None:
            return response
        seconds = min(asked, self.cap)
        host = (urlsplit(request.url).hostname or "").lower()
        self._paused[host] = max(self._paused.get(host, 0.0), time.monotonic() + seconds)
        if self.fleet_client is not None:
            from crawler.fleet.frontier import pause_host

            try:
                pause_host(self.fleet_client, host, seconds)
            except Exception as exc:  # Redis hiccup: the pause holds in this process at least
                logger.warning("Fleet pause of %s not shared: %s", host, exc)
        logger.warning("%s answered HTTP %d with Retry-After %s: pausing the host for %.0f s%s", host,
                       response.status, header.decode("latin-1") if header else "", seconds,
                       f" (capped by RETRY_AFTER_MAX, it asked {asked:.0f} s)" if asked > seconds else "")
        self.crawler.signals.send_catch_log(signals.host_paused, url=request.url, site=request.meta.get("site"),
                                            role=request.meta.get("role"), status=response.status, seconds=seconds)
        return response
