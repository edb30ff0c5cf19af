"""Archive throughput: how many pages/s `newsarchive archive` sustains, against extraction alone.

What it measures
  1. Baseline: crawler.extraction.extract_page() on every corpus page, one process, no
     network and no store. Extraction is the CPU-heavy part of archiving, so this is the
     ceiling one Python process could reach.
  2. The real command, `newsarchive archive -i URLS --store ...`, run as a subprocess
     against a local HTTP server (robots.txt obeyed, no autothrottle, 16 requests per
     domain), into a fresh local folder and optionally into a moto S3 server. Wall-clock
     time of the whole command, so interpreter and Scrapy start-up are included.
The ratio (archive pages/s / baseline pages/s) shows what fetching, Scrapy, record
rendering and storage cost on top of extraction: near 1.0 means extraction-bound.

The corpus is ../shared/data/extraction-dev/*.html.gz (real news pages) replicated to
--pages distinct URLs. The HTTP server, the crawl and moto share this machine's cores.
This is a benchmark that prints numbers, not a test: it never fails on slow results.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from crawler.extraction import ExtractOptions, extract_page
from crawler.items import FetchedPage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.servers
from tests.servers import serve_s3

# ../shared/ sits beside the repository (as in CI)
SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "extraction-dev"
CONTENT_TYPE = "text/html; charset=utf-8"
CRAWL_SETTINGS = ("AUTOTHROTTLE_ENABLED=False", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "ROBOTSTXT_OBEY=True")
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class Run:
    label: str
    seconds: float
    exit_code: int
    metas: int
    raw_only: int
    failed: int
    stderr_tail: str

    def pages_per_s(self, n: int) -> float:
        return n / self.seconds


def build_corpus(root: Path, n: int) -> list[tuple[str, bytes]]:
    """Write n pages (the source pages, replicated under /a/<i>/) plus robots.txt; return (path, body)."""
    sources = sorted(SOURCE.glob("*.html.gz"))
    if not sources:
        sys.exit(f"no *.html.gz pages in {SOURCE}")
    bodies = [(p.name.removesuffix(".html.gz"), gzip.decompress(p.read_bytes())) for p in sources]
    corpus = []
    for i in range(n):
        page_id, body = bodies[i % len(bodies)]
        path = f"/a/{i // len(bodies)}/{page_id}.html"
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_bytes(body)
        corpus.append((path, body))
    (root / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="ascii")
    return corpus


class QuietHandler(SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return CONTENT_TYPE if str(path).endswith(".html") else "text/plain; charset=utf-8"

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve root on 127.0.0.1 (OS-chosen port) in a background thread; yield the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def baseline(base: str, corpus: list[tuple[str, bytes]]) -> tuple[float, list[float], int]:
    """Extract every page in-process: (total seconds, per-page seconds, pages without text)."""
    def page(path: str, body: bytes) -> FetchedPage:
        return FetchedPage(requested_url=base + path, url=base + path, status=200,
                           headers=(("Content-Type", CONTENT_TYPE),), body=body, fetched_at=datetime.now(UTC))

    options = ExtractOptions()
    extract_page(page(*corpus[0]), options)  # warm-up: lazy imports and caches, not timed
    times, no_text = [], 0
    for path, body in corpus:
        start = time.perf_counter()
        result = extract_page(page(path, body), options)
        times.append(time.perf_counter() - start)
        no_text += result.problem is not None
    return sum(times), times, no_text


def run_archive(label: str, urls_file: Path, store_args: list[str], env: dict[str, str],
                count_metas: Callable[[], int]) -> Run:
    """Run `newsarchive archive` once, timed by the wall clock, then count what it stored."""
    command = [shutil.which("newsarchive") or "newsarchive", "archive", "-i", str(urls_file), *store_args]
    for setting in CRAWL_SETTINGS:
        command += ["-s", setting]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    lines = done.stdout.splitlines()
    return Run(label, seconds, done.returncode, count_metas(),
               sum(line.startswith("raw-only") for line in lines),
               sum(line.startswith("failed") for line in lines),
               "\n".join(done.stderr.strip().splitlines()[-5:]))


def count_local_metas(root: Path) -> int:
    return sum(1 for _ in root.rglob("meta.json"))


def s3_meta_counter(client: object, bucket: str) -> Callable[[], int]:
    def count() -> int:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="bench/")  # type: ignore[attr-defined]
        return sum(obj["Key"].endswith("/meta.json") for page in pages for obj in page.get("Contents", []))
    return count


def clean_env(workdir: Path) -> dict[str, str]:
    """This environment without NEWSARCHIVE_*/AWS_* variables, plus fake credentials and empty AWS files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    for name in ("aws_config", "aws_credentials"):
        (workdir / name).write_text("")
    return {**env, **FAKE_AWS, "AWS_CONFIG_FILE": str(workdir / "aws_config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "aws_credentials")}


def local_runs(workdir: Path, urls_file: Path, env: dict[str, str], repeat: int) -> list[Run]:
    runs = []
    for k in range(1, repeat + 1):
        store = workdir / f"local-{k}"
        runs.append(run_archive(f"local run {k}", urls_file, ["--store", str(store)], env,
                                partial(count_local_metas, store)))
    return runs


def s3_runs(workdir: Path, urls_file: Path, env: dict[str, str], repeat: int) -> list[Run]:
    import boto3
    from botocore.config import Config

    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})  # for boto3 here
    runs = []
    with serve_s3(workdir / "moto.log") as server:
        endpoint = server.endpoint_url
        client = boto3.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
        for k in range(1, repeat + 1):
            bucket = f"newsarchive-bench-{k}"  # a fresh bucket per run
            client.create_bucket(Bucket=bucket)
            store = ["--store", f"s3://{bucket}/bench", "--endpoint-url", endpoint, "--s3-addressing-style", "path"]
            runs.append(run_archive(f"s3 run {k}", urls_file, store, env, s3_meta_counter(client, bucket)))
    return runs


def report_runs(name: str, runs: list[Run], n: int, base_rate: float) -> None:
    for run in runs:
        print(f"{run.label + ':':<13} {run.seconds:7.2f} s  {run.pages_per_s(n):7.1f} pages/s  exit={run.exit_code}  "
              f"meta.json={run.metas}  raw-only={run.raw_only}  failed={run.failed}")
        if run.metas != n:
            print(f"  WARNING: {run.metas} meta.json written, expected {n}; stderr tail:\n  "
                  + run.stderr_tail.replace("\n", "\n  "))
    rate = statistics.median(run.pages_per_s(n) for run in runs)
    print(f"{name + ' median:':<13} {'':9} {rate:7.1f} pages/s  = {rate / base_rate:.2f}x extraction-only baseline")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=300, help="corpus size N (default: 300)")
    parser.add_argument("--repeat", type=int, default=3, help="archive runs per store (default: 3)")
    parser.add_argument("--s3", action="store_true", help="also archive into a moto S3 server")
    args = parser.parse_args(argv)
    if args.pages < 1 or args.repeat < 1:
        parser.error("--pages and --repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="archive-bench-") as tmp:
        workdir = Path(tmp)
        corpus = build_corpus(workdir / "site", args.pages)
        with serve(workdir / "site") as base:
            urls_file = workdir / "urls.txt"
            urls_file.write_text("".join(f"{base}{path}\n" for path, _ in corpus), encoding="utf-8")
            megabytes = sum(len(body) for _, body in corpus) / 1e6
            print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
            print(f"corpus: {args.pages} pages ({megabytes:.1f} MB HTML) served from {base}")
            total, times, no_text = baseline(base, corpus)
            base_rate = args.pages / total
            median_ms, mean_ms = 1000 * statistics.median(times), 1000 * total / args.pages
            print(f"baseline extract_page (1 process): {base_rate:.1f} pages/s  median {median_ms:.1f} ms/page  "
                  f"mean {mean_ms:.1f} ms/page  total {total:.2f} s  ({no_text} without text)")
            env = clean_env(workdir)
            report_runs("local", local_runs(workdir, urls_file, env, args.repeat), args.pages, base_rate)
            if args.s3:
                report_runs("s3", s3_runs(workdir, urls_file, env, args.repeat), args.pages, base_rate)


if __name__ == "__main__":
    main()
