"""Rendering fetched pages in a browser: scrapy-playwright driving Debian's Chromium.

A page is always fetched first, as every page is, by Scrapy's HTTP client: that response is the
capture's WARC response record, byte for byte. When the page is to be rendered (the site's
`render`, or `archive --render`; the decision is crawler.extraction.appshell.render_reason, made
by the extract pipeline), the Renderer sends a second request through Scrapy's downloader to
the RenderingHandler, which opens it in a browser page:

- the page's own document is answered from the fetched response (Playwright's route.fulfill),
  so the server is not asked twice and the DOM is built from exactly the archived bytes;
- every other request the page makes goes to the network only if its host is one of the
  page's hosts (the site's allowed_domains and render_hosts; for a one-off URL, its own
  domain); the rest (ads, trackers, fonts, other sites' scripts) is aborted and counted;
- a script sending the page elsewhere (location = ...) is stopped, and the render fails: the
  browser would hold another document (or Chromium's error page);
- the page may load for RENDER_TIMEOUT seconds (its load event), then gets up to RENDER_SETTLE
  seconds for the network to go quiet (fetch() calls a script makes after load), and its DOM
  is taken (page.content());
- at most RENDER_MAX_PAGES pages are open in the process, RENDER_MAX_PAGES_PER_SITE per site
  (a render's `ms` counts from its page being free; the wait is `queued_ms`);
  each site gets its own browser context (no cookies or storage shared between sites) with
  service workers blocked;
- a crashed browser is launched again for the next page (scrapy-playwright); a hung one (no
  answer RENDER_TIMEOUT + RENDER_SETTLE + RENDER_HANG_GRACE seconds after the page was opened)
  is closed and launched again. Either way the page being rendered falls back to its fetched
  capture, flagged, and the run goes on.

Nothing starts until the first page is rendered: with `render = "auto"` on sites that render on
the server, Playwright is never imported and no browser (nor its driver) is launched. The
browser itself is crawler.components.browser.BrowserHandler.

Requests that are not renders go to the plain handler this one wraps (RENDER_PLAIN_HANDLER:
Scrapy's HTTP/1.1 handler, or the fleet's throttled one), unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy_playwright.page import PageMethod

from crawler.model.items import FetchedPage, Rendering

logger = logging.getLogger(__name__)

RENDER_META = "render_job"
"""Request meta key of a render request: its RenderJob."""
_NOT_REPLAYED = ("content-encoding", "content-length", "transfer-encoding")


def render_settings(settings: Any) -> dict[str, Any]:
    """The settings that make rendering possible in a crawl (cmdline priority), set before the
    settings freeze (a spider's from_crawler). The plain handler keeps whatever was configured
    for https before (Scrapy's, or the fleet's)."""
    handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
    plain = handlers.get("https") or "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
    if plain == "crawler.components.rendering.RenderingHandler":
        plain = settings.get("RENDER_PLAIN_HANDLER")
    timeout = settings.getfloat("RENDER_TIMEOUT")
    return {
        "RENDER_ENABLED": True,
        "RENDER_PLAIN_HANDLER": plain,
        "DOWNLOAD_HANDLERS": {**handlers, "http": "crawler.components.rendering.RenderingHandler",
                              "https": "crawler.components.rendering.RenderingHandler"},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": settings.get("RENDER_BROWSER"), "headless": True,
            "args": ["--disable-dev-shm-usage", "--disable-gpu", "--mute-audio", "--no-first-run"],
        },
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout * 1000,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": settings.getint("RENDER_MAX_PAGES_PER_SITE"),
        "PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER": True,
    }


@dataclass
class RenderJob:
    """One render request's state, shared with the browser page's request router."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    hosts: tuple[str, ...]
    served: bool = False
    requests: int = 0
    blocked: int = 0
    blocked_hosts: set[str] | None = None
    navigated_to: str | None = None
    """Where the page's script sent the browser after the page opened (the DOM is then not ours)."""
    opened: float | None = None
    """time.monotonic() when a browser page was free for this render (after waiting for the limits)."""


def host_allowed(url: str, hosts: tuple[str, ...]) -> bool:
    """May a rendered page fetch `url`? Only from `hosts` and their subdomains (data: and blob:
    URLs never reach the network)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return True
    host = (parts.hostname or "").lower()
    with_port = f"{host}:{parts.port}" if parts.port else host
    return any(name == domain or name.endswith("." + domain) for domain in hosts for name in (host, with_port))


def own_hosts(url: str) -> tuple[str, ...]:
    """A one-off page's hosts: its own, without a leading www. (so cdn.example.com is allowed for
    www.example.com), with the port when it has one."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    return (f"{host}:{parts.port}" if parts.port else host,)


def _replay_headers(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The fetched response's headers for the browser, which gets the decoded body."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in _NOT_REPLAYED:
            continue
        joined[key] = f"{joined[key]}{chr(10) if key == 'set-cookie' else ', '}{value}" if key in joined else value
    return joined


async def prepare_page(page: Any, request: Request) -> None:
    """Before the page opens (scrapy-playwright's page init callback): route its requests. Routes
    registered later run first, so this one sees every request before scrapy-playwright's."""
    job: RenderJob = request.meta[RENDER_META]

    async def route(route: Any, browser_request: Any) -> None:
        navigation = browser_request.is_navigation_request() and browser_request.frame == page.main_frame
        if navigation and not job.served and browser_request.url == job.url:
            job.served = True
            await route.fulfill(status=job.status, headers=job.headers, body=job.body)
        elif navigation and job.served:  # a script moving the page elsewhere (location = ...): not ours
            job.navigated_to = job.navigated_to or browser_request.url
            await route.abort("blockedbyclient")
        elif not host_allowed(browser_request.url, job.hosts):
            job.blocked += 1
            if job.blocked_hosts is not None and len(job.blocked_hosts) < 20:
                job.blocked_hosts.add(urlsplit(browser_request.url).hostname or "?")
            await route.abort("blockedbyclient")
        else:
            job.requests += 1
            await route.fallback()

    await page.route("**/*", route)


async def settle(page: Any, seconds: float) -> None:
    """After the load event, give scripts up to `seconds` to finish their requests (a page that
    fetches its article from an API after load); a page that never goes quiet is taken as it is."""
    if seconds <= 0:
        return
    try:
        await page.wait_for_load_state("networkidle", timeout=seconds * 1000)
    except Exception as exc:  # Playwright's TimeoutError: busy past the settle time, take the DOM now
        logger.debug("%s still busy after %.1f s: %s", page.url, seconds, exc)


class RenderingHandler:
    """The download handler for http and https in a crawl that may render: plain requests go to
    the plain handler; render requests wait for a browser page within the limits, then go to the
    BrowserHandler (crawler.components.browser: scrapy-playwright, imported and built at the
    first render, so a crawl that renders nothing never loads Playwright), watched for a hang.
    One instance per crawl serves both schemes (one browser, one set of limits)."""

    lazy = False

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.plain = build_from_crawler(load_object(settings.get("RENDER_PLAIN_HANDLER")), crawler)
        self.browser: Any = None
        self.pages = asyncio.Semaphore(settings.getint("RENDER_MAX_PAGES"))
        per_site = settings.getint("RENDER_MAX_PAGES_PER_SITE")
        self.site_pages: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_site))
        self.hang_after = sum(map(settings.getfloat, ("RENDER_TIMEOUT", "RENDER_SETTLE", "RENDER_HANG_GRACE")))
        self.closed = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        existing = getattr(crawler, "_newsarchive_rendering_handler", None)
        if existing is None:
            existing = cls(crawler)
            crawler._newsarchive_rendering_handler = existing
        return existing

    async def download_request(self, request: Request) -> Response:
        if not request.meta.get("playwright"):
            response: Response = await self.plain.download_request(request)
            return response
        if self.browser is None:
            from crawler.components.browser import BrowserHandler

            self.browser = BrowserHandler(self.crawler)
        async with self.pages, self.site_pages[request.meta.get("playwright_context", "default")]:
            job = request.meta.get(RENDER_META)
            if isinstance(job, RenderJob):
                job.opened = time.monotonic()
            try:
                rendered: Response = await asyncio.wait_for(self.browser.download_request(request), self.hang_after)
            except TimeoutError:
                await self.browser.restart()
                raise RenderHung(f"the browser did not answer within {self.hang_after:.0f} s: restarted it") \
                    from None
        return rendered

    async def close(self) -> None:
        if self.closed:  # one instance is registered for http and https: closed twice
            return
        self.closed = True
        await self.plain.close()
        if self.browser is not None:
            await self.browser.close()


class RenderHung(Exception):
    """A render got no answer from the browser in time (the browser was restarted)."""


def describe_render_failure(exc: BaseException, timeout: float) -> str:
    """A few words on why a render failed, for a person reading one line."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())
    if isinstance(exc, RenderHung):
        return text
    if name == "TimeoutError" and "exceeded" in text:
        return f"the page did not finish loading within {timeout:g} s (RENDER_TIMEOUT)"
    if name == "TargetClosedError" or "has been closed" in text or "crash" in text.lower():
        return "the browser closed or crashed while rendering"
    missing = re.search(r"executable doesn't exist at (\S+)", text, re.IGNORECASE)
    if missing:
        return (f"no browser at {missing.group(1)}: set RENDER_BROWSER (NEWSARCHIVE_RENDER_BROWSER) to Chromium's "
                "path, or install Debian's chromium")
    first = text.split(" Call log:")[0][:200]
    return f"{name}: {first}" if first else name


class Renderer:
    """Renders a fetched page through the crawl's downloader (the RenderingHandler) and says how
    it went; never raises."""

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.timeout = settings.getfloat("RENDER_TIMEOUT")
        self.settle = settings.getfloat("RENDER_SETTLE")

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler)

    def request(self, page: FetchedPage, job: RenderJob) -> Request:
        host = urlsplit(page.url).netloc.lower()
        return Request(page.url, dont_filter=True, meta={
            "playwright": True,
            "playwright_context": f"render:{page.site or host}",
            "playwright_context_kwargs": {"service_workers": "block", "viewport": {"width": 1280, "height": 1600}},
            "playwright_page_init_callback": prepare_page,
            "playwright_page_goto_kwargs": {"wait_until": "load", "timeout": self.timeout * 1000},
            "playwright_page_methods": [PageMethod(settle, self.settle)],
            RENDER_META: job,
            # the page was fetched (robots allowed it) and is answered from that response; a
            # render neither retries, nor follows redirects, nor slows the host's own fetches
            "dont_retry": True, "dont_redirect": True, "dont_obey_robotstxt": True,
            "download_slot": f"render:{host}",
            "site": page.site, "role": "render",
        })

    async def render(self, page: FetchedPage, reason: str) -> Rendering:
        hosts = page.render.hosts if page.render and page.render.hosts else own_hosts(page.url)
        job = RenderJob(page.url, page.status, _replay_headers(page.headers), page.body, hosts, blocked_hosts=set())
        stats = self.crawler.stats
        started = time.monotonic()

        def took() -> tuple[int, int]:  # (rendering, waiting for a browser page) in ms
            opened = job.opened or started
            return round((time.monotonic() - opened) * 1000), round((opened - started) * 1000)

        def failed(error: str) -> Rendering:
            ms, queued = took()
            stats.inc_value("render/failed")
            logger.warning("Rendering %s failed after %d ms: %s (archiving the page as fetched)", page.url, ms, error)
            return Rendering(reason, ms, error=error, requests=job.requests, blocked=job.blocked, queued_ms=queued,
                             text_from="fetched")

        def navigated(to: str) -> str:
            return f"the page's script navigated away (to {to}), so the browser holds another document"

        try:
            response = await self.crawler.engine.download_async(self.request(page, job))
        except Exception as exc:
            if job.navigated_to:
                return failed(navigated(job.navigated_to))
            return failed(describe_render_failure(exc, self.timeout))
        if job.navigated_to or not response.url.startswith(("http://", "https://")):
            return failed(navigated(job.navigated_to or response.url))
        ms, queued = took()
        dom = response.text if isinstance(response, TextResponse) else response.body.decode("utf-8", "replace")
        stats.inc_value("render/pages")
        stats.inc_value("render/ms", ms)
        stats.inc_value("render/blocked", job.blocked)
        logger.info("Rendered %s in %d ms (%d requests, %d blocked%s): %s", page.url, ms, job.requests, job.blocked,
                    f": {', '.join(sorted(job.blocked_hosts or ()))}" if job.blocked else "", reason)
        return Rendering(reason, ms, dom=dom.encode("utf-8"), url=response.url, requests=job.requests,
                         blocked=job.blocked, queued_ms=queued)
