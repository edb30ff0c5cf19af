"""Run one crawl in this process and report per-URL results (the CLI's I/O edge).

One process runs one crawl: Twisted's reactor cannot be restarted.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

from scrapy import signals as scrapy_signals
from scrapy.crawler import CrawlerProcess

from crawler.cli.output import Reporter, Result, result_from_capture
from crawler.model import signals
from crawler.model.items import Capture, ExtractedPage, FetchedPage
from crawler.spiders.news import NewsSpider
from crawler.store.base import Store

logger = logging.getLogger(__name__)


def _url_of(item: Any) -> str | None:
    if isinstance(item, ExtractedPage):
        item = item.page
    if isinstance(item, (FetchedPage, Capture)):
        return item.requested_url
    return None


def connect_reporter(crawler: Any, reporter: Reporter) -> None:
    """Route the crawl's signals to one Result per requested URL."""

    def scraped(item: Any, **_: Any) -> None:
        if isinstance(item, Capture):
            reporter.add(result_from_capture(item))

    def dropped(item: Any, exception: BaseException, **_: Any) -> None:
        url = _url_of(item)
        if url:
            message = str(exception)
            reason = message.split(": ", 1)[1] if message.startswith(url + ": ") else message
            reporter.add(Result(url=url, outcome="failed", error=reason))

    def errored(item: Any, failure: Any, **_: Any) -> None:
        url = _url_of(item)
        if url:
            exc = failure.value
            reporter.add(Result(url=url, outcome="failed", error=f"internal error: {type(exc).__name__}: {exc}"))

    def fetch_failed(url: str, reason: str, **_: Any) -> None:
        reporter.add(Result(url=url, outcome="failed", error=reason))

    # weak=False: these closures live only as long as this crawl
    crawler.signals.connect(scraped, scrapy_signals.item_scraped, weak=False)
    crawler.signals.connect(dropped, scrapy_signals.item_dropped, weak=False)
    crawler.signals.connect(errored, scrapy_signals.item_error, weak=False)
    crawler.signals.connect(fetch_failed, signals.fetch_failed, weak=False)


def run_archive(
    urls: list[str], settings: Any, store: Store, *, as_json: bool = False,
    out: TextIO | None = None, err: TextIO | None = None, render: str | None = None,
) -> int:
    """Fetch and archive `urls` with NewsSpider; print a line per URL; return the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    urls = list(dict.fromkeys(urls))
    store.check()  # a clear one-line error before anything is fetched
    where = store.location("")
    err.write(f"Archiving {len(urls)} URL(s) into {where}\n")
    err.flush()
    reporter = Reporter(urls, out, as_json=as_json)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NewsSpider)
    connect_reporter(crawler, reporter)
    process.crawl(crawler, urls=urls, render=render)
    process.start()
    reporter.finish()
    err.write(f"Done: {reporter.summary()}\n")
    return reporter.exit_code


EXIT_LOCKED = 75  # EX_TEMPFAIL: another run of the job holds the lock; try again later


def run_crawl(sites: list[Any], settings: Any, store: Store, *, job: str, as_json: bool = False,
              out: TextIO | None = None, err: TextIO | None = None) -> int:
    """One scheduled-crawl run of `sites`; print the summary; return the exit code."""
    from crawler.components.joblock import JobLockExtension
    from crawler.components.manifest import RunManifest
    from crawler.fleet.components import join_fleet
    from crawler.fleet.frontier import FleetError, redact
    from crawler.planning.report import format_summary, new_run_id
    from crawler.spiders.sites import SitesSpider

    out, err = out or sys.stdout, err or sys.stderr
    store.check()
    run_id, fleet = new_run_id(), None
    if settings.get("FLEET_REDIS_URL"):
        try:
            fleet = join_fleet(settings, job, run_id)
        except FleetError as exc:
            err.write(f"Error: {exc}\n")
            return 1
        run_id = fleet.run_id
        role = "started" if fleet.started else "joined"
        err.write(f"Fleet {redact(settings.get('FLEET_REDIS_URL'))}: {role} run {run_id} as {fleet.worker}\n")
    settings.setdict({"CRAWL_JOB": job, "CRAWL_RUN_ID": run_id}, priority="cmdline")
    err.write(f"Crawl {job} run {run_id}: {len(sites)} site(s) into {store.location('')}\n")
    err.flush()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SitesSpider)
    process.crawl(crawler, sites=sites, fleet=fleet)
    process.start()
    lock = crawler.get_extension(JobLockExtension)
    if lock is not None and lock.held_by:  # closed at once (LOCKED_OUT): another run holds the lock
        err.write(f"Error: {lock.held_by}\n")
        return EXIT_LOCKED
    manifest = crawler.get_extension(RunManifest)
    summary = manifest.summary if manifest is not None else None
    if summary is None:
        err.write("Error: the run ended without a summary (see the log with -v)\n")
        return 1
    out.write((json.dumps(summary, ensure_ascii=False) if as_json else format_summary(summary)) + "\n")
    worker = f"{fleet.worker}/" if fleet is not None else ""
    err.write(f"Manifest: {store.location(f'runs/{job}/{run_id}/{worker}')}\n")
    failed = [name for name, site in summary["sites"].items() if site["status"] == "failed"]
    spooled = sum(site.get("spooled", 0) for site in summary["sites"].values())
    if spooled:
        err.write(f"Warning: {spooled} capture(s) kept in the local spool: the store was unreachable; "
                  "the next run (or `newsarchive spool flush`) writes them\n")
    return 1 if failed or spooled else 0
