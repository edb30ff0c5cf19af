"""What a fleet costs Redis: memory per queued request, per duplicate-filter fingerprint, and
how many leased pops and acknowledgements one client gets through per second.

    python bench/fleet_redis.py [--requests 100000]

Starts its own redis-server (Debian's package) on a free port on 127.0.0.1. The requests are
real article requests from crawler.spiders.sites, encoded as scrapy-redis encodes them, with
the discovery evidence a feed gives (title, dates); docs/scaling.md uses these numbers.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def used_memory(client: object) -> int:
    return int(client.info("memory")["used_memory"])  # type: ignore[attr-defined]


def main() -> int:
    import redis
    from scrapy import Request
    from scrapy_redis import picklecompat
    from scrapy_redis.dupefilter import RFPDupeFilter

    from crawler.fleet.frontier import FleetRun
    from crawler.spiders.sites import SitesSpider

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()
    n = args.requests
    work = Path(tempfile.mkdtemp(prefix="newsarchive-redis-bench-"))
    port = free_port()
    server = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(work)],
                              stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        spider = SitesSpider(sites=[])
        evidence = {"via": "sitemap", "source": "https://news.example.com/sitemap-news.xml",
                    "published": "2026-11-23T08:15:00+00:00", "title": "Council approves the harbour budget "
                    "after a long night of debate", "language": "en"}

        def encoded(i: int) -> bytes:
            url = f"https://news.example.com/2026/11/23/council-approves-harbour-budget-{i}.html"
            request = spider.article_request(url, "example", "new", evidence)
            return bytes(picklecompat.dumps(request.to_dict(spider=spider)))

        sample = encoded(0)
        base = used_memory(client)
        pipe = client.pipeline(transaction=False)
        for i in range(n):
            pipe.lpush("bench:requests", encoded(i))
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        queue_bytes = (used_memory(client) - base) / n

        dupefilter = RFPDupeFilter(client, key="bench:seen")
        base = used_memory(client)
        pipe = client.pipeline(transaction=False)
        for i in range(n):
            pipe.sadd("bench:seen", dupefilter.request_fingerprint(Request(f"https://news.example.com/a/{i}.html")))
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        seen_bytes = (used_memory(client) - base) / n

        fleet = FleetRun.join(client, "bench", "run-1")
        fleet.seeded()
        client.rename("bench:requests", fleet.queue)
        pops = min(n, 20_000)
        start = time.perf_counter()
        for _ in range(pops):
            leased = fleet.pop()
            assert leased is not None
            fleet.done(leased[0])
        pop_rate = pops / (time.perf_counter() - start)
        print(f"redis-server {client.info('server')['redis_version']}; {n} article requests, "
              f"{len(sample)} bytes each encoded")
        print(f"queue            {queue_bytes:.0f} bytes of Redis memory per queued request")
        print(f"duplicate filter {seen_bytes:.0f} bytes per fingerprint")
        print(f"leased pop + ack {pop_rate:.0f} per second from one client (two round trips each, loopback)")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
