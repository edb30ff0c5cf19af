"""NewsSpider: fetch the given URLs and hand each response on as a FetchedPage.

    scrapy crawl news -a url=https://example.com/news/some-article [-a render=always|auto]
    newsarchive archive URL [URL ...] [--render]   (the same spider, with urls=[...])

Robots.txt, retries, timeouts, size limits and the user agent all come from the
project settings; a URL that cannot be fetched is reported through the
`fetch_failed` signal (and counted in `archive/failed`) with a one-line reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.components.middlewares import EXCHANGES_META
from crawler.model import signals
from crawler.model.items import RENDER_MODES, FetchedPage, HttpExchange, RenderPolicy
from crawler.model.urls import BadURLError, check_url

logger = logging.getLogger(__name__)

_MAXSIZE = re.compile(r"larger than download max size \((\d+)\)")


# Request meta key: the article's pointer as read while deciding to fetch it (crawler.spiders.sites)
POINTER_META = "pointer"


def page_from_response(response: Response, requested_url: str, *, site: str | None = None,
                       discovery: dict[str, str] | None = None, render: RenderPolicy | None = None) -> FetchedPage:
    """Everything we keep of a response, nothing parsed; with the article's pointer if the crawl
    read it while deciding to fetch (request meta POINTER_META)."""
    headers = tuple(
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in response.headers.items()
        for value in values
    )
    meta = response.request.meta if response.request else {}
    redirects = meta.get("redirect_urls", [])
    return FetchedPage(
        requested_url=requested_url,
        url=response.url,
        status=response.status,
        headers=headers,
        body=response.body,
        fetched_at=datetime.now(UTC),
        redirect_urls=tuple(redirects),
        site=site,
        discovery=discovery,
        pointer=meta.get(POINTER_META),
        pointer_read=POINTER_META in meta,
        exchanges=chain_exchanges(meta.get(EXCHANGES_META, ()), [*redirects, response.url]),
        render=render,
    )


def enable_rendering(crawler: Any) -> None:
    """Make rendering possible in this crawl (its settings are not frozen yet)."""
    from crawler.components.rendering import render_settings

    crawler.settings.setdict(render_settings(crawler.settings), priority="cmdline")


def chain_exchanges(recorded: Iterable[HttpExchange], chain: list[str]) -> tuple[HttpExchange, ...]:
    """The exchanges of the redirect chain that led to the page, in order: for each URL of it the
    last exchange recorded (a retried request's failed attempts are not part of the page)."""
    last = {exchange.url: exchange for exchange in recorded}
    return tuple(last[url] for url in chain if url in last)


def describe_failure(exc: BaseException) -> str:
    """A few words on why a request failed, for a person reading one line."""
    if isinstance(exc, HttpError):
        status = exc.response.status
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        retry_after = exc.response.headers.get(b"Retry-After")
        wait = f" (the server asks to retry after {retry_after.decode('latin-1')} s)" if retry_after else ""
        return f"HTTP {status} {phrase}".rstrip() + wait
    if isinstance(exc, CannotResolveHostError):
        return "DNS lookup failed (no such host)"
    if isinstance(exc, DownloadConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, DownloadTimeoutError):
        return f"timed out ({' '.join(str(exc).split())})" if str(exc) else "timed out"
    if isinstance(exc, DownloadCancelledError):
        match = _MAXSIZE.search(str(exc))
        if match:
            return f"response larger than the {int(match.group(1))}-byte limit (DOWNLOAD_MAXSIZE)"
    if isinstance(exc, IgnoreRequest) and "during decompression" in str(exc):
        match = re.search(r"DOWNLOAD_MAXSIZE \((\d+) B\)", str(exc))
        limit = f"the {match.group(1)}-byte limit" if match else "the size limit"
        return f"compressed response expands past {limit} (DOWNLOAD_MAXSIZE): refused as a decompression bomb"
    if isinstance(exc, IgnoreRequest) and str(exc) == "max redirections reached":
        return "redirect loop (too many redirects)"
    if isinstance(exc, IgnoreRequest) and str(exc):
        return str(exc)[0].lower() + str(exc)[1:]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def report_fetch_failure(crawler: Any, url: str, reason: str, *, site: str | None = None,
                         role: str | None = None) -> None:
    """A requested URL could not be fetched: log it, count it (archive/failed) and send the
    fetch_failed signal (the CLI's result line, the run manifest)."""
    logger.warning("Failed %s: %s", url, reason)
    crawler.stats.inc_value("archive/failed")
    crawler.signals.send_catch_log(signals.fetch_failed, url=url, reason=reason, site=site, role=role)


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(self, url: str | None = None, urls: Iterable[str] | str | None = None, render: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(urls, str):
            urls = urls.split()
        self.urls: list[str] = list(dict.fromkeys([*(urls or []), *([url] if url else [])]))
        mode = render or "never"
        if mode not in RENDER_MODES:
            raise ValueError(f"render must be one of {', '.join(RENDER_MODES)}, not {render!r}")
        self.render = None if mode == "never" else RenderPolicy(mode)  # hosts: each page's own

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.render is not None:
            enable_rendering(crawler)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        for url in self.urls:
            try:
                checked = check_url(url)
            except BadURLError as exc:
                self.report_failure(url, str(exc))
                continue
            yield scrapy.Request(
                checked,
                callback=self.parse_page,
                errback=self.on_error,
                dont_filter=True,  # an explicitly requested URL is always fetched
                cb_kwargs={"requested_url": url},
            )

    def parse_page(self, response: Response, requested_url: str) -> Iterable[FetchedPage]:
        yield page_from_response(response, requested_url, render=self.render)

    def on_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.cb_kwargs.get("requested_url", request.url) if request else "?"
        self.report_failure(url, describe_failure(failure.value) if failure.value else "unknown error")

    def report_failure(self, url: str, reason: str) -> None:
        report_fetch_failure(self.crawler, url, reason)
