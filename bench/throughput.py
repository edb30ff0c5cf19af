"""Throughput of the real `newsarchive` command against the machine's extraction limit.

    python bench/throughput.py [--pages 2000] [--rounds 3] [--rss-pages 10000] [--no-s3] [--s3-server moto|rgw]

Each of --rounds rounds measures, on this machine:
  limit      (before the first round and after each; a round uses the mean of its two)
             extraction alone: crawler.extraction.extract.extract_body on every page held in memory,
             one worker process per core (the same extractor and options as the pipeline);
  fetch      the same command with no item pipelines: what Scrapy itself costs per page, and so
             the most the cores allow once pages are fetched as well as extracted;
  nostore    the same command with extraction but no archive pipeline: what fetching, handing
             pages to the extraction workers and extracting reach before anything is written;
  local      `newsarchive archive -i URLS --store DIR` over the whole corpus;
  s3         the same into a local S3 server: moto (default; a Python server that closes the
             connection after each request) or Ceph RGW (--s3-server rgw; production S3 with
             keep-alive, installed by tests/rgw/install.sh);
and prints pages/s and the ratio to the limit, CPU ms per page of newsarchive's own processes
(the command and its extraction workers: the machine's busy time minus the web and S3
servers'), CPU ms per page of the S3 server, S3 requests per capture, and peak RSS of
newsarchive's process tree; then the medians over the rounds. With --rss-pages, peak RSS
again at that many pages. The corpus is ../shared/data/extraction-dev/ replicated under
distinct paths and served by nginx (apt package nginx-light; a Python server in its own process if nginx is
missing). Targets (README, "Performance"): local >= 0.8 x limit; S3 own CPU within 15 % of local; S3
pages/s >= 0.8 x cores / (own + server CPU s per page); RSS at 10000 within 10 % of 2000.
It also checks that the stored text is byte-identical to `newsarchive extract` on some pages.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from crawler.extraction.extract import ExtractOptions, extract_body  # noqa: E402
from tests.servers import serve_s3  # noqa: E402

SOURCE = REPO.parent / "shared" / "data" / "extraction-dev"
CONTENT_TYPE = "text/html; charset=utf-8"
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS=32", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=32",
        "-s", "ROBOTSTXT_OBEY=True", "-s", "RETRY_TIMES=0"]
CLK = os.sysconf("SC_CLK_TCK")


def build_corpus(root: Path, pages: int) -> list[str]:
    sources = sorted(SOURCE.glob("*.html.gz"))
    paths = []
    for i in range(pages):
        source = sources[i % len(sources)]
        path = f"/c/{i // len(sources)}/{source.name.removesuffix('.gz')}"
        target = root / path.lstrip("/")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.decompress(source.read_bytes()))
        paths.append(path)
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    return paths


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_web(root: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if Path(nginx).exists():
        conf = work / "nginx.conf"
        conf.write_text(f"""daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;
events {{ worker_connections 1024; }}
http {{ access_log off; sendfile on; default_type "{CONTENT_TYPE}"; types {{ }}
  client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp; fastcgi_temp_path {work}/tmp;
  uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
  server {{ listen 127.0.0.1:{port}; root {root}; }} }}""")
        (work / "tmp").mkdir(exist_ok=True)
        process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)], stderr=subprocess.DEVNULL)
    else:
        process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                    "--directory", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("web server did not start")


def _extract(path: str) -> int:
    body = Path(path).read_bytes()
    url = "https://example.com/" + Path(path).name
    extraction, _, _ = extract_body(body, CONTENT_TYPE, url, None, ExtractOptions())
    return len(extraction.text) if extraction else 0


def limit(root: Path, paths: list[str]) -> float:
    files = [str(root / p.lstrip("/")) for p in paths]
    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_extract, files[:cores * 2]))  # warm up every worker
        start = time.perf_counter()
        list(pool.map(_extract, files, chunksize=8))
        return len(files) / (time.perf_counter() - start)


def tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return found


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def busy_seconds() -> float:
    """CPU time spent by all processes on this machine so far (user, nice, system, irq, steal)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / CLK


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def communicate_watching(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes, float, int]:
    """Wait for `process` (started just now): its stdout and stderr, the seconds it ran, and the
    peak RSS (kB) of its process tree, sampled every 0.1 s."""
    start = time.perf_counter()
    peak = 0

    def watch() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, rss_kb(tree(process.pid)))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - start
    watcher.join()
    return out, err, seconds, peak


def run_archive(urls_file: Path, store_args: list[str], env: dict[str, str], cwd: Path,
                others: list[int], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """One `newsarchive archive` run. Its CPU is the machine's busy time over the run minus the
    CPU of the other servers (`others`: the web server, the S3 server): this counts the
    command, its extraction workers and the forkserver, which exit too early to be read."""
    busy, other = busy_seconds(), sum(cpu_seconds(pid) for pid in others)
    command = ["newsarchive", "archive", "-i", str(urls_file), *store_args, *FAST, *extra]
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, _err, seconds, peak = communicate_watching(process)
    cpu = (busy_seconds() - busy) - (sum(cpu_seconds(pid) for pid in others) - other)
    lines = out.decode().splitlines()
    return {"seconds": seconds, "cpu": cpu, "peak_rss_mb": peak / 1024,
            "archived": sum(line.startswith(("archived", "raw-only", "partial")) for line in lines),
            "failed": sum(line.startswith(("failed", "spooled")) for line in lines), "exit": process.returncode,
            "first_failure": next((line for line in lines if line.startswith(("failed", "spooled"))), "")}


@contextlib.contextmanager
def s3_server(kind: str, work: Path) -> Iterator[tuple[str, list[int], dict[str, str], Callable[[], int]]]:
    """A local S3 server: its endpoint, its processes, credentials, and a count of requests served."""
    if kind == "moto":
        with serve_s3(work / "moto.log") as server:
            def moto_requests() -> int:  # moto's werkzeug log: one line per request
                return sum(1 for line in (work / "moto.log").read_text(errors="replace").splitlines()
                           if '" 2' in line or '" 3' in line or '" 4' in line)
            yield (server.endpoint_url, [server.process.pid],
                   {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}, moto_requests)
        return
    scratch = work / "rgw"
    ports = [free_port(), free_port()]
    started = subprocess.run(["bash", str(REPO / "tests" / "rgw" / "start.sh"), str(scratch), *map(str, ports)],
                             capture_output=True, timeout=300)
    pids = [int(p.read_text()) for p in (scratch / "run").glob("*.pid") if p.read_text().strip().isdigit()]
    try:
        if started.returncode != 0:
            raise RuntimeError(f"Ceph RGW did not start: {started.stderr.decode()[-1000:]}")

        def rgw_requests() -> int:  # radosgw's log: one "beast:" line per request
            return (scratch / "log" / "client.rgw.log").read_text(errors="replace").count(" beast: ")
        yield (f"http://127.0.0.1:{ports[0]}", pids,
               {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "testtest"}, rgw_requests)
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def identical_text(paths: list[str], web: str, store: Path, work: Path, env: dict[str, str]) -> bool:
    from crawler.store.captures import list_captures, read_record, read_text
    from crawler.store.local import LocalDirStore

    archive = LocalDirStore(store)
    for path in paths[:: max(len(paths) // 5, 1)][:5]:
        [ref] = list_captures(archive, web + path)[:1]
        stored = read_text(archive, ref, read_record(archive, ref)) or ""
        page = work / "corpus" / path.lstrip("/")
        printed = subprocess.run(["newsarchive", "extract", str(page), "--url", web + path, "--content-type",
                                  CONTENT_TYPE], capture_output=True, env=env).stdout.decode()
        if printed.rstrip("\n") != stored:
            print(f"  text differs for {path}")
            return False
    return True


def measure_round(urls: Path, work: Path, env: dict[str, str], web_pids: list[int], pages: int, label: str,
                  s3: S3Target | None) -> dict[str, float]:
    """One round: fetch only, extraction without storing, local store, S3; their figures per page."""
    cores = os.cpu_count() or 1
    no_pipelines = ("-s", "ITEM_PIPELINES={}")
    extract_only = ("-s", 'ITEM_PIPELINES={"pipelines.extract.ExtractPipeline": 300}')
    fetch = run_archive(urls, ["--store", str(work / f"fetch-{label}")], env, work, web_pids, no_pipelines)
    unstored = run_archive(urls, ["--store", str(work / f"nostore-{label}")], env, work, web_pids, extract_only)
    local = run_archive(urls, ["--store", str(work / f"local-{label}")], env, work, web_pids)
    check_complete("local", local, pages)
    figures = {"fetch_ms": 1000 * fetch["cpu"] / pages, "nostore_rate": pages / unstored["seconds"],
               "nostore_ms": 1000 * unstored["cpu"] / pages, "local_rate": pages / local["seconds"],
               "local_ms": 1000 * local["cpu"] / pages, "local_rss": local["peak_rss_mb"],
               "local_seconds": local["seconds"]}
    if s3 is not None:
        before, server_cpu = s3.count_requests(), sum(cpu_seconds(pid) for pid in s3.pids)
        run = run_archive(urls, ["--store", f"s3://bench/{label}"], s3.env, work, [*web_pids, *s3.pids])
        check_complete("s3", run, pages)
        own, srv = run["cpu"] / pages, (sum(cpu_seconds(pid) for pid in s3.pids) - server_cpu) / pages
        allowed = cores / (own + srv)
        figures |= {"s3_rate": pages / run["seconds"], "s3_ms": 1000 * own, "server_ms": 1000 * srv,
                    "s3_rss": run["peak_rss_mb"], "s3_seconds": run["seconds"],
                    "requests": (s3.count_requests() - before) / max(run["archived"], 1),
                    "allowed": allowed, "s3_vs_allowed": pages / run["seconds"] / allowed,
                    "s3_vs_local_cpu": own / (local["cpu"] / pages)}
    return figures


def add_limit(figures: dict[str, float], limits: tuple[float, float]) -> None:
    """The round's limit (the mean of the measures before and after it) and the ratios to it."""
    cores = os.cpu_count() or 1
    figures["limit"] = limit_rate = sum(limits) / 2
    figures["extract_ms"] = 1000 * cores / limit_rate
    figures["ceiling"] = cores * 1000 / (figures["fetch_ms"] + figures["extract_ms"]) / limit_rate
    for name in ("nostore", "local", "s3"):
        if f"{name}_rate" in figures:
            figures[f"{name}_ratio"] = figures[f"{name}_rate"] / limit_rate


def check_complete(name: str, run: dict[str, Any], pages: int) -> None:
    if run["archived"] != pages:
        raise SystemExit(f"{name} run stored {run['archived']} of {pages} pages (exit {run['exit']}): "
                         f"{run['first_failure'] or 'no failure line'}")


@dataclass(frozen=True)
class S3Target:
    """The S3 server a round writes to: its processes, the command's environment, a request count."""

    pids: list[int]
    env: dict[str, str]
    count_requests: Callable[[], int]


def summary(rounds: list[dict[str, float]], pages: int, s3_kind: str) -> None:
    """The medians over the rounds, each ratio with its values per round."""
    def med(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    def each(key: str) -> str:
        return ", ".join(f"{r[key]:.2f}" for r in rounds)

    cores, n = os.cpu_count() or 1, len(rounds)
    print(f"\nmedians of {n} round(s) on {cores} cores, {pages} pages each (per round in brackets)")
    limits = ", ".join(f"{r['limit']:.1f}" for r in rounds)
    print(f"limit  extraction only, {cores} worker processes, pages in memory: {med('limit'):.1f} pages/s "
          f"[{limits}]")
    print(f"fetch  Scrapy alone (no item pipelines): {med('fetch_ms'):.1f} ms/page of CPU; with extraction's "
          f"{med('extract_ms'):.1f} ms/page the cores allow at most {med('ceiling'):.2f} x limit [{each('ceiling')}]")
    print(f"nostore extraction, nothing stored: {med('nostore_ratio'):.2f} x limit [{each('nostore_ratio')}]; "
          f"newsarchive CPU {med('nostore_ms'):.1f} ms/page")
    print(f"local  {med('local_rate'):.1f} pages/s = {med('local_ratio'):.2f} x limit [{each('local_ratio')}]; "
          f"newsarchive CPU {med('local_ms'):.1f} ms/page; peak RSS {med('local_rss'):.0f} MB")
    if "s3_rate" in rounds[0]:
        print(f"s3     {med('s3_rate'):.1f} pages/s = {med('s3_ratio'):.2f} x limit; newsarchive CPU "
              f"{med('s3_ms'):.1f} ms/page; peak RSS {med('s3_rss'):.0f} MB; {s3_kind} server CPU "
              f"{med('server_ms'):.1f} ms/page; {med('requests'):.1f} S3 requests per capture")
        print(f"       own CPU vs local: {med('s3_vs_local_cpu'):.2f} x [{each('s3_vs_local_cpu')}]; pages/s vs what "
              f"the cores allow with the server's share ({med('allowed'):.1f}): {med('s3_vs_allowed'):.2f} x "
              f"[{each('s3_vs_allowed')}]")


def print_round(i: int, r: dict[str, float]) -> None:
    line = (f"round {i}: limit {r['limit']:.1f} pages/s; fetch {r['fetch_ms']:.1f} ms/page, ceiling "
            f"{r['ceiling']:.2f} x; nostore {r['nostore_ratio']:.2f} x; local {r['local_rate']:.1f} pages/s = "
            f"{r['local_ratio']:.2f} x, CPU {r['local_ms']:.1f} ms/page")
    if "s3_rate" in r:
        line += (f"; s3 {r['s3_rate']:.1f} pages/s, CPU {r['s3_ms']:.1f} + server {r['server_ms']:.1f} ms/page, "
                 f"own vs local {r['s3_vs_local_cpu']:.2f} x, vs allowed {r['s3_vs_allowed']:.2f} x")
    print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="repeat the runs; medians are reported")
    parser.add_argument("--rss-pages", type=int, default=0, help="also measure peak RSS at this many pages")
    parser.add_argument("--no-s3", action="store_true")
    parser.add_argument("--s3-server", choices=("moto", "rgw"), default="moto",
                        help="moto (a Python server, one connection per request) or Ceph RGW (tests/rgw/install.sh)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="newsarchive-bench-"))
    work.chmod(0o755)  # nginx's workers run as another user
    web_process = None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    env["NEWSARCHIVE_SPOOL_DIR"] = str(work / "spool")
    try:
        corpus = work / "corpus"
        paths = build_corpus(corpus, max(args.pages, args.rss_pages))
        web_process, web = start_web(corpus, work)
        print(f"machine: {os.cpu_count()} cores; corpus {len(paths)} pages from {SOURCE.name} served by "
              f"{'nginx' if 'nginx' in str(web_process.args) else 'python http.server'} at {web}", flush=True)
        urls = work / "urls.txt"
        urls.write_text("\n".join(web + p for p in paths[: args.pages]) + "\n")
        web_pids = tree(web_process.pid)
        with contextlib.ExitStack() as stack:
            target = None
            if not args.no_s3:
                endpoint, server_pids, credentials, count_requests = stack.enter_context(
                    s3_server(args.s3_server, work))
                import boto3

                boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                             aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                             aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket="bench")
                target = S3Target(server_pids, {**env, **credentials, "AWS_DEFAULT_REGION": "us-east-1",
                                                "AWS_ENDPOINT_URL": endpoint,
                                                "NEWSARCHIVE_S3_ADDRESSING_STYLE": "path"}, count_requests)
            # This VM's speed drifts by tens of percent within minutes: the limit is measured between
            # rounds, and each round is compared with the mean of the limits before and after it.
            limits = [limit(corpus, paths[: args.pages])]
            rounds = []
            for i in range(1, max(args.rounds, 1) + 1):
                figures = measure_round(urls, work, env, web_pids, args.pages, f"r{i}", target)
                limits.append(limit(corpus, paths[: args.pages]))
                add_limit(figures, (limits[-2], limits[-1]))
                print_round(i, figures)
                rounds.append(figures)
        summary(rounds, args.pages, args.s3_server)
        print(f"       stored text byte-identical to `newsarchive extract`: "
              f"{identical_text(paths[: args.pages], web, work / 'local-r1', work, env)}")
        if args.rss_pages:
            urls.write_text("\n".join(web + p for p in paths[: args.rss_pages]) + "\n")
            big = run_archive(urls, ["--store", str(work / "local-big")], env, work, web_pids)
            check_complete("local", big, args.rss_pages)
            rss = statistics.median(r["local_rss"] for r in rounds)
            print(f"local  {args.rss_pages} pages in {big['seconds']:.1f} s: {args.rss_pages / big['seconds']:.1f} "
                  f"pages/s; newsarchive CPU {1000 * big['cpu'] / args.rss_pages:.1f} ms/page; "
                  f"peak RSS {big['peak_rss_mb']:.0f} MB = {big['peak_rss_mb'] / rss:.2f} x the median at "
                  f"{args.pages} pages")
    finally:
        if web_process is not None:
            web_process.terminate()
            web_process.wait()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
