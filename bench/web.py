"""How fast the web UI answers on a big archive: each page type, median and p95.

    python bench/web.py [--captures 100000] [--requests 40] [--keep DIR]

Fills a local store with generated captures (bench/catalog.py's generator: real WARCs, 20
hosts, one article in ten captured twice), starts the real `newsarchive serve` on a free port
and requests each page type --requests times over HTTP (after one warm-up request, which reads
the catalog: its time is printed apart). Pages: home, a site's first page, a site filtered by a
title search, an article, the diff of an article's two captures, the archived page (its frame
and /raw), runs. Prints milliseconds; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalog import generate


def fetch(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url) as response:
        response.read()
        assert response.status == 200, url
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="work here (default: a temporary folder, removed)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="newsarchive-bench-web-"))
    store = work / "store"
    try:
        started = time.perf_counter()
        if not store.exists():
            generate(store, args.captures, 20)
        print(f"newsarchive web UI benchmark, {os.cpu_count()} cores: {args.captures} captures "
              f"(generated in {time.perf_counter() - started:.0f} s)")
        proc = subprocess.Popen(["newsarchive", "serve", "--store", str(store), "--port", "0"],
                                stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        match = re.search(r"at (http://\S+/) ", proc.stderr.readline())
        assert match
        base = match.group(1).rstrip("/")
        try:
            print(f"  first request (reads the catalog)    {1000 * fetch(base + '/'):8.0f} ms")
            article = "https://news0.example/2026/000/story-0.html"  # captured twice (n % 10 == 0)
            quoted = urllib.parse.quote(article, safe="")
            pages = {
                "home": "/",
                "site (first 100 articles)": "/site/site1",
                "site, title search": "/site/site1?q=Story+12",
                "article": f"/article?url={quoted}",
                "diff of two captures": f"/diff?url={quoted}",
                "archived page (frame)": f"/page?url={quoted}",
                "archived page (/raw)": f"/raw?url={quoted}",
                "runs": "/runs",
            }
            for label, path in pages.items():
                times = sorted(fetch(base + path) for _ in range(args.requests))
                p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
                print(f"  {label:<36} median {1000 * statistics.median(times):7.1f} ms   p95 {1000 * p95:7.1f} ms")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
