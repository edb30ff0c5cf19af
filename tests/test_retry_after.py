"""429 and 503 with Retry-After: the host is paused for the time it asks (capped), in one
process and across a fleet, and the run summary counts it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from crawler.fleet.frontier import pause_host, throttle_wait
from crawler.model.http import retry_after_seconds
from tests.newssite import NewsSite
from tests.servers import Site

ARTICLE = "/news/2026/11/drone-strike-izhevsk.html"


def gap(site: Site, path: str) -> float:
    """Seconds between the first two requests for `path` (the test server's log)."""
    times = [at for requested, at in zip(site.requests, site.times, strict=True) if requested == path]
    assert len(times) >= 2, site.requests
    return times[1] - times[0]


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert retry_after_seconds(None, now) is None and retry_after_seconds("soon", now) is None


def test_archive_waits_as_long_as_the_host_asks(cli: Any, site: Site) -> None:
    site.push_back[ARTICLE] = "2"
    proc = cli("archive", site(ARTICLE))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().startswith("archived ")
    assert gap(site, ARTICLE) >= 1.9  # the retry came after the 2 s the host asked for


def test_an_http_date_and_the_cap(cli: Any, site: Site) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    site.push_back[ARTICLE] = later
    assert cli("archive", site(ARTICLE)).returncode == 0
    assert gap(site, ARTICLE) >= 1.5  # an HTTP date a few seconds ahead (the header has whole seconds)
    site.requests.clear()
    site.times.clear()
    site.push_back[ARTICLE] = "3600"  # an hour: more than RETRY_AFTER_MAX allows
    proc = cli("archive", site(ARTICLE), "-s", "RETRY_AFTER_MAX=1", "-v")
    assert proc.returncode == 0 and 1.0 <= gap(site, ARTICLE) < 30
    assert "capped by RETRY_AFTER_MAX, it asked 3600 s" in proc.stderr.decode()


def test_the_crawl_summary_counts_the_pauses(cli: Any, news: tuple[NewsSite, Site]) -> None:
    site, served = news
    young = site.articles[0]
    served.push_back[young.path] = "1"
    proc = cli("crawl", "--sites", "sites.toml", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    counts = json.loads(proc.stdout)["sites"]["harbor"]
    assert counts["throttled"] == 1 and counts["new"] == 31 and counts["failed"] == 0  # paused, then captured
    assert gap(served, young.path) >= 0.9
    table = cli("crawl", "--sites", "sites.toml")  # the printed table has the column too
    assert "throttled" in table.stdout.decode()


def test_a_fleet_shares_the_pause(redis_server: Any) -> None:
    client = redis_server.client
    host = f"paused-{time.monotonic_ns()}.example"
    assert pause_host(client, host, 2.0) > 1.9
    assert throttle_wait(client, host, 0.5) > 1.8  # any process's next request to it waits out the pause
    assert pause_host(client, host, 0.1) > 1.5  # a shorter pause never shortens a longer one
