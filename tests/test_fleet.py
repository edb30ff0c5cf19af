"""A fleet on scrapy-redis: several real `newsarchive crawl --redis` processes, one real
redis-server, the generated local news site. Every article is captured once, no URL is fetched
twice, every process exits, a killed process's share is finished by the others, and the
per-host delay holds for the whole fleet."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crawler.fleet.frontier import FleetRun, connect
from crawler.store.captures import list_captures, read_record
from crawler.store.local import LocalDirStore
from tests.conftest import REPO, RedisServer, newsarchive_command
from tests.newssite import NewsSite
from tests.servers import Site
from tests.test_crawl_e2e import check_two_runs

JOB = "crawl-sites"


def start_worker(tmp_path: Path, redis_url: str, name: str, *settings: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    env["NEWSARCHIVE_SPOOL_DIR"] = str(tmp_path / "spool")
    args = [newsarchive_command(), "crawl", "--sites", "sites.toml", "--redis", redis_url, "--json"]
    for setting in ("FLEET_WORKER_TTL=3", *settings):
        args += ["-s", setting]
    return subprocess.Popen(args, cwd=tmp_path, env=env, stdout=open(tmp_path / f"{name}.out", "wb"),
                            stderr=open(tmp_path / f"{name}.err", "wb"))


def wait_all(workers: list[subprocess.Popen[bytes]], timeout: float = 180) -> list[int]:
    deadline = time.monotonic() + timeout
    codes = []
    for worker in workers:
        try:
            codes.append(worker.wait(timeout=max(deadline - time.monotonic(), 1)))
        except subprocess.TimeoutExpired:
            for other in workers:
                other.kill()
            pytest.fail("a fleet process did not exit: the frontier never drained for it")
    return codes


def fetched_twice(served: Site, processes: int) -> list[str]:
    """Paths the web server answered more than once. robots.txt aside: each process reads the
    rules for itself (at most once), and the run reads it once more for its Sitemap: lines."""
    counts = Counter(served.requests)
    assert counts["/robots.txt"] <= 1 + processes
    return [path for path, n in counts.items() if n > 1 and path != "/robots.txt"]


def assert_fleet_state_cleared(redis_server: RedisServer) -> None:
    keys = sorted(k.decode() for k in redis_server.client.keys("newsarchive:*")
                  if not k.startswith(b"newsarchive:throttle:"))
    assert keys == [], keys  # run ended: no run id, duplicate filter, leases or heartbeats left


def test_three_processes_share_one_frontier(news: tuple[NewsSite, Site], tmp_path: Path, redis_url: str,
                                            redis_server: RedisServer) -> None:
    site, served = news
    served.delay = 1.0  # slow article pages: the work spreads over the processes
    # a process leases as many requests as it may download at once: on one host, keep that at
    # the per-host concurrency, or the first process holds everything while the others wait
    workers = [start_worker(tmp_path, redis_url, f"w{i}", "FLEET_DOMAIN_DELAY=0", "CONCURRENT_REQUESTS=4")
               for i in range(3)]
    assert wait_all(workers) == [0, 0, 0], [(tmp_path / f"w{i}.err").read_text()[-2000:] for i in range(3)]

    store = LocalDirStore(tmp_path / "archive")
    for article in site.articles:
        assert len(list_captures(store, served(article.path))) == 1, article.path
    assert fetched_twice(served, 3) == []

    summaries = [json.loads((tmp_path / f"w{i}.out").read_text())["sites"]["harbor"] for i in range(3)]
    assert sum(s["new"] for s in summaries) == 31 and sum(s["paywalled"] for s in summaries) == 1
    assert sum(1 for s in summaries if s["new"] + s["paywalled"]) >= 2  # shared, not one doing it all
    errs = [(tmp_path / f"w{i}.err").read_text() for i in range(3)]
    assert sum("started run" in e for e in errs) == 1 and sum("joined run" in e for e in errs) == 2
    runs = list((tmp_path / "archive" / "runs" / JOB).iterdir())
    assert len(runs) == 1  # one run, each process's manifest in its own folder
    assert len(list(runs[0].glob("*/summary.json"))) == 3
    assert_fleet_state_cleared(redis_server)


def test_a_killed_process_share_is_finished_by_the_others(news: tuple[NewsSite, Site], tmp_path: Path,
                                                          redis_url: str, redis_server: RedisServer) -> None:
    site, served = news
    served.delay = 0.4  # slow articles: the victim holds leased requests when it dies
    workers = [start_worker(tmp_path, redis_url, f"w{i}", "FLEET_DOMAIN_DELAY=0", "CONCURRENT_REQUESTS=4",
                            "LOG_LEVEL=WARNING") for i in range(3)]
    deadline = time.monotonic() + 60
    while sum(p.startswith("/news/") for p in served.requests) < 6:
        assert time.monotonic() < deadline, "the fleet fetched no articles"
        time.sleep(0.05)
    # the victim: the process holding the most leased requests (worker ids are host-pid-random)
    leases = {k.decode().rsplit(":", 1)[1]: redis_server.client.hlen(k)
              for k in redis_server.client.keys(f"newsarchive:{JOB}:leases:*")}
    busiest = max(leases, key=lambda w: leases[w])
    assert leases[busiest] > 0
    victim = next(w for w in workers if f"-{w.pid}-" in busiest)
    victim.send_signal(signal.SIGKILL)
    survivors = [w for w in workers if w is not victim]
    assert wait_all(survivors) == [0, 0]
    victim.wait()

    store = LocalDirStore(tmp_path / "archive")
    for article in site.articles:
        assert len(list_captures(store, served(article.path))) == 1, article.path  # all of them, once
    errs = "".join((tmp_path / f"w{i}.err").read_text() for i, w in enumerate(workers) if w is not victim)
    assert f"-{victim.pid}-" in errs and "of its requests put back in the queue" in errs
    refetched = [p for p, n in Counter(served.requests).items() if n > 1 and p.startswith("/news/")]
    assert refetched  # what the victim was fetching when it died was fetched again by the others
    assert_fleet_state_cleared(redis_server)


def test_the_per_host_delay_holds_for_the_whole_fleet(news: tuple[NewsSite, Site], tmp_path: Path,
                                                       redis_url: str) -> None:
    _site, served = news
    workers = [start_worker(tmp_path, redis_url, f"w{i}", "FLEET_DOMAIN_DELAY=0.2") for i in range(2)]
    assert wait_all(workers) == [0, 0]
    gaps = sorted(b - a for a, b in zip(served.times, served.times[1:], strict=False))
    assert len(served.times) > 40
    # two processes, one host: requests arrive one at a time, 0.2 s apart. Each process alone
    # would send 4 at once. A request whose timer fires late (the other process starting its
    # extraction workers) shortens the gap after it, but never are three within 0.2 s.
    pairs = [c - a for a, c in zip(served.times, served.times[2:], strict=False)]
    assert min(pairs) >= 0.2 * 0.95, sorted(pairs)[:5]
    assert gaps[len(gaps) // 2] >= 0.19
    assert served.times[-1] - served.times[0] >= 0.95 * 0.2 * (len(served.times) - 1)


def test_runs_are_incremental_through_the_fleet(cli: Any, news: tuple[NewsSite, Site], tmp_path: Path,
                                                redis_url: str, redis_server: RedisServer) -> None:
    """The run's duplicate filter ends with the run: the next run decides rechecks afresh."""
    check_two_runs(cli, news, LocalDirStore(tmp_path / "archive"),
                   ["--redis", redis_url, "-s", "FLEET_DOMAIN_DELAY=0"])
    assert_fleet_state_cleared(redis_server)


def test_archive_with_redis_queues_urls_for_the_fleet(cli: Any, news: tuple[NewsSite, Site], tmp_path: Path,
                                                      redis_url: str) -> None:
    site, served = news
    extra = site.root / "extra" / "one-off.html"
    extra.parent.mkdir()
    extra.write_text("<html><head><title>Harbour ferry returns</title></head><body><article><h1>Harbour ferry "
                     "returns</h1>" + "<p>The harbour ferry returned to service on Monday after a month of "
                     "repairs, the port authority said, with extra crossings at weekends.</p>" * 4
                     + "</article></body></html>")
    url = served("/extra/one-off.html")
    pushed = cli("archive", "--redis", redis_url, url, "nope://x")
    assert pushed.returncode == 1  # the bad URL failed, with its reason
    out = pushed.stdout.decode()
    assert f"queued    {url}" in out and "failed    nope://x: unsupported scheme" in out
    assert "no run is active" in pushed.stderr.decode()
    assert served.requests == []  # queued, not fetched here

    crawl = cli("crawl", "--sites", "sites.toml", "--redis", redis_url, "-s", "FLEET_DOMAIN_DELAY=0")
    assert crawl.returncode == 0, crawl.stderr.decode()
    store = LocalDirStore(tmp_path / "archive")
    [ref] = list_captures(store, url)
    record = read_record(store, ref)
    assert record["title"] == "Harbour ferry returns"
    assert record["discovery"]["via"] == "one-off"


def test_unreachable_redis_is_one_line_and_nothing_is_fetched(cli: Any, news: tuple[NewsSite, Site]) -> None:
    _site, served = news
    result = cli("crawl", "--sites", "sites.toml", "--redis", "redis://127.0.0.1:1/0")
    assert result.returncode == 1
    error = result.stderr.decode().strip().splitlines()[-1]
    assert error.startswith("Error: cannot reach Redis at redis://127.0.0.1:1/0")
    assert served.requests == []


def test_duplicate_filter_expires_and_dead_workers_leases_go_back(redis_url: str, redis_server: RedisServer) -> None:
    client = connect(redis_url)
    first = FleetRun.join(client, JOB, "run-1", worker_ttl=1)
    second = FleetRun.join(client, JOB, "run-2", worker_ttl=1)
    assert first.started and not second.started and second.run_id == "run-1"  # one run, joined
    client.lpush(first.queue, b"request-a", b"request-b")
    first.seeded()
    assert first.pop() is not None and second.pop() is not None
    assert first.others_busy() and second.others_busy()  # each sees the other's work in flight
    first.beat()
    time.sleep(1.5)  # the first stops beating: its heartbeat expires
    second.beat()
    assert second.requeue_dead() == 1  # the first's lease is back in the queue
    assert second.queued() == 1

    from crawler.fleet.components import ExpiringDupeFilter

    dupefilter = ExpiringDupeFilter(client, key=first.seen)
    dupefilter.ttl_seconds = 3600
    from scrapy import Request

    assert dupefilter.request_seen(Request("https://example.com/a")) is False
    assert dupefilter.request_seen(Request("https://example.com/a")) is True
    assert 0 < client.ttl(first.seen) <= 3600  # bounded: it expires even if the run never ends
    leased = second.pop()
    assert leased is not None and second.queued() == 0
    # stopped early (--max-minutes, SIGTERM): both its unfinished requests go back to the queue
    assert second.leave() == 2 and second.queued() == 2
    assert second.end() is True and second.end() is False  # ended once
    assert client.exists(first.seen) == 0 and client.get(first.run_key) is None


def test_a_run_whose_processes_all_died_is_replaced_by_a_fresh_one(redis_url: str) -> None:
    client = connect(redis_url)
    dead = FleetRun.join(client, JOB, "run-1", worker_ttl=1)
    dead.beat()  # it ran (its heartbeats had started)...
    client.sadd(dead.seen, b"fingerprint-of-a-seed")
    time.sleep(1.5)  # ...and was killed: no heartbeat since, and the run was never ended
    fresh = FleetRun.join(client, JOB, "run-2", worker_ttl=30)
    assert fresh.started and fresh.run_id == "run-2"  # pushes the seeds again, with a new filter
    assert client.exists(dead.seen) == 0


def test_scrapy_crawl_and_scrapyd_join_the_fleet_by_setting(news: tuple[NewsSite, Site], tmp_path: Path,
                                                            redis_url: str, redis_server: RedisServer) -> None:
    """`scrapy crawl sites -s FLEET_REDIS_URL=...` (what scrapyd runs) is a fleet member too."""
    site, served = news
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    command = [sys.executable, "-m", "scrapy", "crawl", "sites", "-a", f"sites_file={tmp_path / 'sites.toml'}"]
    for setting in (f"FLEET_REDIS_URL={redis_url}", f"ARCHIVE_URI={tmp_path / 'archive'}", "FLEET_DOMAIN_DELAY=0",
                    "FLEET_WORKER_TTL=3", f"ARCHIVE_SPOOL_DIR={tmp_path / 'spool'}", "LOG_LEVEL=WARNING"):
        command += ["-s", setting]
    workers = [subprocess.Popen(command, cwd=REPO, env=env, stderr=(tmp_path / f"s{i}.err").open("wb"))
               for i in range(2)]
    assert wait_all(workers) == [0, 0]
    store = LocalDirStore(tmp_path / "archive")
    for article in site.articles:
        assert len(list_captures(store, served(article.path))) == 1, article.path
    assert fetched_twice(served, 2) == []
    assert len(list((tmp_path / "archive" / "runs" / JOB).glob("*/*/summary.json"))) == 2  # one run, two members
    assert_fleet_state_cleared(redis_server)
