"""What finding and exporting cost on a big archive: `ls` and `export` at 10k and 100k captures.

    python bench/catalog.py [--sizes 10000 100000] [--hosts 20] [--keep DIR]

For each size, a local store is filled with generated captures (real WARC files, written by
crawler.store.records.render_capture; 1 in 10 articles captured twice, the second time changed)
and the catalog the pipeline would write for them (CatalogWriter, its default 2000 rows a
segment, a host's segments merged past 16). Then the real `newsarchive` command runs, each timed
(wall clock) with its peak RSS (getrusage of the child):
  ls              every article, newest first (to /dev/null)
  ls --host H     one host's articles (reads one host's segments)
  ls --changed    the articles whose text changed
  export jsonl    every capture with its text (to a file)
  export parquet  the same as Parquet
  index --rebuild the catalog again from the captures
and prints the catalog's size: objects (requests a reader makes, with the LIST) and bytes, per
100k captures. This prints numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from crawler.model.items import ExtractedPage, Extraction, FetchedPage  # noqa: E402
from crawler.model.keys import capture_key, pointer_key  # noqa: E402
from crawler.store.catalog import CatalogWriter, catalog_row  # noqa: E402
from crawler.store.local import LocalDirStore  # noqa: E402
from crawler.store.records import render_capture, render_pointer  # noqa: E402

WORDS = ["harbour", "council", "budget", "ferry", "school", "bridge", "market", "festival", "storm", "rail",
         "museum", "library", "hospital", "election", "fishery", "airport", "residents", "officials", "plan",
         "costs", "timing", "waterfront", "businesses", "spring", "questions"]


def article_text(n: int, version: int) -> str:
    paragraphs = []
    for p in range(8):
        words = [WORDS[(n * 7 + p * 13 + i + version * (p == 3)) % len(WORDS)] for i in range(60)]
        paragraphs.append(" ".join(words).capitalize() + ".")
    return "\n".join(paragraphs)


def generate(root: Path, captures: int, hosts: int) -> None:
    store = LocalDirStore(root)
    writer = CatalogWriter(store, flush_seconds=1e9)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    n = made = 0
    while made < captures:
        host = f"news{n % hosts}.example"
        url = f"https://{host}/2026/{n // 1000:03d}/story-{n}.html"
        previous = None
        for version in range(2 if n % 10 == 0 else 1):
            if made >= captures:
                break
            text = article_text(n, version)
            html = f"<html><head><title>Story {n}</title></head><body><article><h1>Story {n}</h1>" + "".join(
                f"<p>{p}</p>" for p in text.split("\n")) + "</article></body></html>"
            fetched = start + timedelta(minutes=n + version * 600)
            page = FetchedPage(url, url, 200, (("Content-Type", "text/html; charset=utf-8"),), html.encode(),
                               fetched, site=f"site{n % hosts}")
            extraction = Extraction(text=text, words=len(text.split()), title=f"Story {n}", authors=("A. Writer",),
                                    kind="article", access="free", language="en")
            key = capture_key(url, fetched)
            warc, record = render_capture(ExtractedPage(page, extraction, None, "utf-8"), key, identity=url,
                                          previous=previous)
            store.put(warc.key, warc.data, content_type=warc.content_type, metadata={})
            pointer = render_pointer(record, key)
            store.put(pointer_key(url), pointer, content_type="application/json", metadata={})
            previous = json.loads(pointer)
            writer.add(catalog_row(record, key))
            made += 1
        n += 1
    writer.close()


def run(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, this child's own, from wait4) of `newsarchive ARGS`."""
    start = time.perf_counter()
    proc = subprocess.Popen(["newsarchive", *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"newsarchive {' '.join(args)} failed: {err.decode()[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def measure(size: int, hosts: int, work: Path) -> None:
    store = work / f"store-{size}"
    started = time.perf_counter()
    generate(store, size, hosts)
    print(f"\n{size} captures in {hosts} hosts (generated in {time.perf_counter() - started:.0f} s)")
    segments = list((store / "catalog").rglob("*.parquet"))
    catalog_bytes = sum(p.stat().st_size for p in segments)
    print(f"  catalog: {len(segments)} segment(s), {catalog_bytes / 1e6:.1f} MB; per 100k captures "
          f"{len(segments) * 100_000 / size:.0f} objects (+1 LIST), {catalog_bytes * 100_000 / size / 1e6:.1f} MB")
    commands = [
        ("ls", ["ls", "--store", str(store)]),
        ("ls --host (1 of hosts)", ["ls", "--store", str(store), "--host", "news1.example"]),
        ("ls --changed", ["ls", "--store", str(store), "--changed"]),
        ("export jsonl", ["export", "--format", "jsonl", "--store", str(store), "-o", str(work / "out.jsonl")]),
        ("export parquet", ["export", "--format", "parquet", "--store", str(store), "-o", str(work / "out.parquet")]),
        ("index --rebuild", ["index", "--rebuild", "--store", str(store)]),
    ]
    for label, args in commands:
        seconds, peak = run(args, work)
        print(f"  {label:<24} {seconds:8.2f} s   peak RSS {peak:7.0f} MB")
    shutil.rmtree(store)
    for name in ("out.jsonl", "out.parquet"):
        (work / name).unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="work here (default: a temporary folder, removed)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="newsarchive-bench-catalog-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"newsarchive catalog benchmark, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}")
    try:
        for size in args.sizes:
            measure(size, args.hosts, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
