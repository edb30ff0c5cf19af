"""SitesSpider: a scheduled crawl of the sites in a sites file, fetching only what is new or may
have changed.

    newsarchive crawl --sites sites.toml [SITE ...]
    scrapy crawl sites -a sites_file=sites.toml [-a only=a,b] [-a job=NAME]

Discovery: each site's robots.txt (for Sitemap: lines), feeds, sitemaps (indexes followed,
recursively) and start pages (their feed links, article links, and section pages up to
max_depth). Every discovered URL is normalised (crawler.model.urls.normalise_url) and decided once
per run against the article's pointer in the store (crawler.planning.decisions.decide): new URLs are
fetched; known ones only when they may have changed, conditionally. The spider yields
FetchedPage items; the same pipelines as `newsarchive archive` store them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from crawler.components.store import crawler_store
from crawler.fleet.frontier import FleetRun, acknowledge
from crawler.model import signals
from crawler.model.items import FetchedPage
from crawler.model.keys import host_part
from crawler.model.urls import normalise_url
from crawler.planning.decisions import decide
from crawler.planning.discovery import Candidate, feed_links, page_links, parse_feed, parse_sitemap, sitemaps_in_robots
from crawler.planning.report import new_run_id
from crawler.planning.sitesfile import SiteConfig, load_sites
from crawler.spiders.news import (
    POINTER_META,
    describe_failure,
    enable_rendering,
    page_from_response,
    report_fetch_failure,
)
from crawler.store.base import Store, StoreError
from crawler.store.captures import read_pointer
from crawler.store.catalog import POINTER_COLUMNS, articles, read_rows

logger = logging.getLogger(__name__)

LOOKUP_BATCH = 32
MAX_SECTIONS_PER_PAGE = 50


def default_job(sites_file: str | None, names: Iterable[str]) -> str:
    stem = Path(sites_file).stem if sites_file else "sites"
    return "crawl-" + stem + "".join(f"-{n}" for n in sorted(names))


class SitesSpider(scrapy.Spider):
    name = "sites"

    def __init__(self, sites: list[SiteConfig] | None = None, sites_file: str | None = None,
                 only: str | Iterable[str] | None = None, job: str | None = None,
                 fleet: FleetRun | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        names = only.split(",") if isinstance(only, str) else list(only or [])
        if sites is None:
            if not sites_file:
                raise ValueError("SitesSpider needs sites=[...] or -a sites_file=PATH")
            sites = load_sites(Path(sites_file), [n for n in names if n])
        self.sites = {site.name: site for site in sites}
        self.job = job or default_job(sites_file, names)
        self.fleet = fleet  # a member of a fleet sharing one frontier in Redis (crawler.fleet.frontier)
        self._decided: set[str] = set()
        self._sources: set[str] = set()
        self._catalogs: dict[str, asyncio.Task[dict[str, dict[str, Any]]]] = {}

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SitesSpider:
        """The spider, and the run it is, told to the other components through settings (not yet
        frozen): CRAWL_JOB, CRAWL_RUN_ID, CRAWL_SITES (a fleet's join adds FLEET_WORKER). The job lock
        (crawler.components.joblock) and the run manifest read them."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        job = kwargs.get("job") or settings.get("CRAWL_JOB") or spider.job
        run_id = settings.get("CRAWL_RUN_ID") or new_run_id()
        if spider.fleet is None and settings.get("FLEET_REDIS_URL"):
            # `scrapy crawl sites -s FLEET_REDIS_URL=...` and scrapyd: join here, while the
            # settings can still change (Scrapy freezes them right after creating the spider)
            from crawler.fleet.components import join_fleet

            spider.fleet = join_fleet(settings, job, run_id)
        if spider.fleet is not None:
            run_id = spider.fleet.run_id
        spider.job = job
        settings.setdict({"CRAWL_JOB": job, "CRAWL_RUN_ID": run_id, "CRAWL_SITES": list(spider.sites)},
                         priority="cmdline")
        if any(site.render_policy is not None for site in spider.sites.values()):
            enable_rendering(crawler)  # after joining a fleet: its throttled handler stays the plain one
        return spider

    @property
    def store(self) -> Store:
        """The crawl's store (crawler.components.store), where the articles' pointers are read."""
        return crawler_store(self.crawler)

    # --- discovery ----------------------------------------------------------------------

    def _source(self, url: str, site: SiteConfig, role: str, callback: Any, **meta: Any) -> Request | None:
        key = normalise_url(url)
        if key in self._sources:
            return None
        self._sources.add(key)
        # in a fleet, the run's shared duplicate filter keeps other processes from reading it too
        return Request(url, callback=callback, errback=self.source_failed, dont_filter=self.fleet is None,
                       meta={"site": site.name, "role": role, **meta})

    async def start(self) -> AsyncIterator[Any]:
        if self.fleet is not None and not self.fleet.started:
            return  # another process started this run and pushed the seeds: work from the queue
        for request in self._seeds():
            yield request
        if self.fleet is not None:
            await asyncio.to_thread(self.fleet.seeded)

    def _seeds(self) -> Iterable[Request]:
        for site in self.sites.values():
            hosts = {f"{p.scheme}://{p.netloc}" for p in map(urlsplit, (*site.start_urls, *site.feeds, *site.sitemaps))}
            requests = [self._source(f"{h}/robots.txt", site, "robots", self.parse_robots,
                                     dont_obey_robotstxt=True, handle_httpstatus_list=[404, 410])
                        for h in sorted(hosts)]
            requests += [self._source(u, site, "feed", self.parse_feed) for u in site.feeds]
            requests += [self._source(u, site, "sitemap", self.parse_sitemap) for u in site.sitemaps]
            requests += [self._source(u, site, "page", self.parse_page, section_depth=0) for u in site.start_urls]
            for request in requests:
                if request is not None:
                    yield request

    def _read(self, response: Response, note: str = "") -> None:
        site, role = response.meta["site"], response.meta["role"]
        self.crawler.signals.send_catch_log(signals.url_decided, url=response.url, site=site, decision="read",
                                            reason=note or f"HTTP {response.status}", role=role)

    async def parse_robots(self, response: Response) -> AsyncIterator[Any]:
        site = self.sites[response.meta["site"]]
        found = sitemaps_in_robots(response.body, response.url) if response.status == 200 else []
        self._read(response, f"{len(found)} sitemap(s) listed")
        for url in found:
            if site.allows(url):
                request = self._source(url, site, "sitemap", self.parse_sitemap)
                if request is not None:
                    yield request

    async def parse_feed(self, response: Response) -> AsyncIterator[Any]:
        try:
            candidates = parse_feed(response.body, response.url)
        except ValueError as exc:
            self._source_error(response.request, str(exc))
            return
        self._read(response, f"{len(candidates)} entries")
        async for request in self.consider(self.sites[response.meta["site"]], candidates):
            yield request

    async def parse_sitemap(self, response: Response) -> AsyncIterator[Any]:
        site = self.sites[response.meta["site"]]
        try:
            children, candidates = parse_sitemap(response.body, response.url)
        except ValueError as exc:
            self._source_error(response.request, str(exc))
            return
        self._read(response, f"{len(children)} sitemaps, {len(candidates)} URLs")
        for url in children:
            request = self._source(url, site, "sitemap", self.parse_sitemap) if site.allows(url) else None
            if request is not None:
                yield request
        async for request in self.consider(site, candidates):
            yield request

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        site, depth = self.sites[response.meta["site"]], response.meta.get("section_depth", 0)
        if not isinstance(response, TextResponse):
            self._source_error(response.request, "not an HTML page")
            return
        candidates, sections = page_links(response.text, response.url, site)
        self._read(response, f"{len(candidates)} article links, {len(sections)} other links")
        if depth == 0:
            for url in feed_links(response.text, response.url):
                request = self._source(url, site, "feed", self.parse_feed) if site.allows(url) else None
                if request is not None:
                    yield request
        async for request in self.consider(site, candidates):
            yield request
        if depth < site.max_depth:
            for url in sections[:MAX_SECTIONS_PER_PAGE]:
                request = self._source(url, site, "page", self.parse_page, section_depth=depth + 1)
                if request is not None:
                    yield request

    def _source_error(self, request: Request | None, reason: str) -> None:
        if request is None:
            return
        logger.warning("Cannot use %s %s: %s", request.meta.get("role"), request.url, reason)
        self.crawler.signals.send_catch_log(signals.fetch_failed, url=request.url, reason=reason,
                                            site=request.meta.get("site"), role=request.meta.get("role"))

    def source_failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        acknowledge(self, request)
        self._source_error(request, describe_failure(failure.value) if failure.value else "unknown error")

    # --- articles -----------------------------------------------------------------------

    async def consider(self, site: SiteConfig, candidates: list[Candidate]) -> AsyncIterator[Request]:
        """Decide, once per run, which candidates to fetch. What the catalog knows costs no store
        request to decide (a due article is fetched conditionally with the validators the catalog
        holds; the archive pipeline reads its pointer only if it came back changed); the rest
        have their pointers looked up, in batches."""
        fresh = []
        for candidate in candidates:
            url = normalise_url(candidate.url)
            if url not in self._decided and site.allows(url) and (
                    site.article_pattern is None or site.article_pattern.search(url)):
                self._decided.add(url)
                fresh.append((url, candidate))
        store = self.store
        now = datetime.now(UTC)
        unknown = []
        for url, candidate in fresh:
            known = (await self._catalog(host_part(url))).get(url)
            if known is None:  # new, or the catalog has not heard of it yet: the pointer decides
                unknown.append((url, candidate))
                continue
            decision = decide(candidate, known, site, now)  # the catalog answers: no store request
            if not decision.fetch:
                self._skipped(url, site, decision.reason)
            else:  # due: a conditional fetch; if the page did change, the pipeline reads the pointer
                yield self.article_request(url, site.name, decision.reason, candidate.evidence(), decision.headers)
        for start in range(0, len(unknown), LOOKUP_BATCH):
            batch = unknown[start:start + LOOKUP_BATCH]
            found = await asyncio.gather(*(asyncio.to_thread(read_pointer, store, url) for url, _ in batch),
                                         return_exceptions=True)
            errors = [result for result in found if isinstance(result, StoreError)]
            if errors:  # better twice than never: fetch; what the store cannot take goes to the spool
                logger.warning("Site %s: the store did not answer for %d of %d article(s) (%s): fetching them "
                               "as if new", site.name, len(errors), len(batch), errors[0])
            for (url, candidate), result in zip(batch, found, strict=True):
                if isinstance(result, BaseException) and not isinstance(result, StoreError):
                    raise result
                pointer = None if isinstance(result, StoreError) else result
                decision = decide(candidate, pointer, site, now)
                if not decision.fetch:
                    self._skipped(url, site, decision.reason)
                    continue
                request = self.article_request(url, site.name, decision.reason, candidate.evidence(), decision.headers)
                if not isinstance(result, StoreError):  # the archive pipeline need not read it again
                    request.meta[POINTER_META] = pointer
                yield request

    def _skipped(self, url: str, site: SiteConfig, reason: str) -> None:
        self.crawler.signals.send_catch_log(signals.url_decided, url=url, site=site.name, decision="skipped",
                                            reason=reason, role="article")

    async def _catalog(self, host: str) -> dict[str, dict[str, Any]]:
        """What the catalog knows of `host`'s articles, by every URL they were reached by, as
        pointers; read once per run (empty when decisions do not use it or it cannot be read)."""
        if not self.crawler.settings.getbool("CATALOG_DECISIONS"):
            return {}
        if host not in self._catalogs:
            self._catalogs[host] = asyncio.ensure_future(asyncio.to_thread(self._read_catalog, host))
        return await self._catalogs[host]

    def _read_catalog(self, host: str) -> dict[str, dict[str, Any]]:
        try:
            rows = read_rows(self.store, host, columns=POINTER_COLUMNS)
        except StoreError as exc:
            logger.warning("Catalog of %s not readable (%s): deciding from the pointers", host, exc)
            return {}
        known: dict[str, dict[str, Any]] = {}
        for article in articles(rows).values():
            pointer = article.pointer()
            for url in (normalise_url(article.identity_url), *article.aliases):
                known[url] = pointer
        return known

    def article_request(self, url: str, site: str | None, reason: str, evidence: dict[str, Any],
                        headers: dict[str, str] | None = None, *, dont_filter: bool | None = None) -> Request:
        """The request for an article URL, decided to be fetched for `reason`."""
        return Request(url, callback=self.parse_article, errback=self.article_failed, headers=headers,
                       dont_filter=self.fleet is None if dont_filter is None else dont_filter,
                       meta={"site": site, "role": "article", "decision": reason, "discovery": evidence,
                             "requested_url": url, "handle_httpstatus_list": [304]})

    def parse_article(self, response: Response) -> Iterable[FetchedPage]:
        meta = response.meta
        if response.status == 304:
            self.crawler.signals.send_catch_log(signals.url_decided, url=meta["requested_url"], site=meta["site"],
                                                decision="unchanged", reason="not modified (HTTP 304)",
                                                role="article")
            return
        site = self.sites.get(meta["site"]) if meta["site"] else None
        yield page_from_response(response, meta["requested_url"], site=meta["site"],
                                 discovery={**meta["discovery"], "decision": meta["decision"]},
                                 render=site.render_policy if site is not None else None)

    def article_failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        if request is None:
            return
        acknowledge(self, request)
        reason = describe_failure(failure.value) if failure.value else "unknown error"
        report_fetch_failure(self.crawler, request.meta.get("requested_url", request.url), reason,
                             site=request.meta.get("site"), role="article")


def encode_one_off(url: str) -> bytes:
    """A one-off article request for the fleet's queue, encoded as scrapy-redis encodes them:
    always fetched (not subject to the duplicate filter), archived like any article."""
    from scrapy_redis import picklecompat

    spider = SitesSpider(sites=[])
    request = spider.article_request(url, None, "one-off: queued by newsarchive archive --redis",
                                     {"via": "one-off"}, dont_filter=True)
    return bytes(picklecompat.dumps(request.to_dict(spider=spider)))
