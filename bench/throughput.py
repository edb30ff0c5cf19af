"""Throughput of the real `newsarchive` command against the machine's extraction limit.

    python bench/throughput.py [--pages 2000] [--rss-pages 10000] [--no-s3] [--s3-server moto|rgw]

One run measures, on this machine:
  limit      extraction alone: crawler.extraction.extract_body on every page held in memory,
             one worker process per core (the same extractor and options as the pipeline);
  fetch      the same command with no item pipelines: what Scrapy itself costs per page, and so
             the most the cores allow once pages are fetched as well as extracted;
  local      `newsarchive archive -i URLS --store DIR` over the whole corpus;
  s3         the same into a local S3 server: moto (default; a Python server that closes the
             connection after each request) or Ceph RGW (--s3-server rgw; production S3 with
             keep-alive, installed by tests/rgw/install.sh);
and prints pages/s and the ratio to the limit, CPU ms per page of newsarchive's own processes
(the command and its extraction workers: the machine's busy time minus the web and S3
servers'), CPU ms per page of the S3 server, S3 requests per
capture, and peak RSS of newsarchive's process tree; with --rss-pages, peak RSS again at that
many pages. The corpus is ../shared/data/extraction-dev/ replicated under distinct paths and
served by nginx (apt package nginx-light; a Python server in its own process if nginx is
missing). Targets (issue 6): local >= 0.8 x limit; S3 own CPU within 15 % of local; S3
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
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from crawler.extraction import ExtractOptions, extract_body  # noqa: E402
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


def run_archive(urls_file: Path, store_args: list[str], env: dict[str, str], cwd: Path,
                others: list[int], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """One `newsarchive archive` run. Its CPU is the machine's busy time over the run minus the
    CPU of the other servers (`others`: the web server, the S3 server): this counts the
    command, its extraction workers and the forkserver, which exit too early to be read."""
    busy, other = busy_seconds(), sum(cpu_seconds(pid) for pid in others)
    peak = 0
    command = ["newsarchive", "archive", "-i", str(urls_file), *store_args, *FAST, *extra]
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    start = time.perf_counter()

    def watch() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, rss_kb(tree(process.pid)))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    out, _err = process.communicate()
    seconds = time.perf_counter() - start
    watcher.join()
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


def report(name: str, pages: int, run: dict[str, Any], limit_rate: float, extra: str = "") -> float:
    rate: float = pages / run["seconds"]
    print(f"{name:<6} {pages} pages in {run['seconds']:.1f} s: {rate:.1f} pages/s = {rate / limit_rate:.2f} x limit; "
          f"newsarchive CPU {1000 * run['cpu'] / pages:.1f} ms/page; peak RSS {run['peak_rss_mb']:.0f} MB; "
          f"stored {run['archived']:.0f}, failed {run['failed']:.0f}{extra}")
    if run["first_failure"]:
        print(f"       first failure: {run['first_failure']}")
    return rate


def identical_text(paths: list[str], web: str, store: Path, work: Path, env: dict[str, str]) -> bool:
    from crawler.captures import list_captures, read_record, read_text
    from crawler.storage import LocalDirStore

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
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
              f"{'nginx' if 'nginx' in str(web_process.args) else 'python http.server'} at {web}")
        # This VM's speed drifts by tens of percent within minutes: the limit is measured before
        # and after the fetch and local runs, and their mean is the limit those are compared to.
        limit_before = limit(corpus, paths[: args.pages])
        urls = work / "urls.txt"
        urls.write_text("\n".join(web + p for p in paths[: args.pages]) + "\n")
        web_pids = tree(web_process.pid)
        no_pipelines = ("-s", "ITEM_PIPELINES={}")
        fetch = run_archive(urls, ["--store", str(work / "fetch-only")], env, work, web_pids, no_pipelines)
        local = run_archive(urls, ["--store", str(work / "local")], env, work, web_pids)
        limit_after = limit(corpus, paths[: args.pages])
        rate_limit = (limit_before + limit_after) / 2
        print(f"limit  extraction only, {os.cpu_count()} worker processes, pages in memory: {rate_limit:.1f} pages/s "
              f"(mean of {limit_before:.1f} before the runs below and {limit_after:.1f} after)")
        fetch_ms, extract_ms = 1000 * fetch["cpu"] / args.pages, 1000 * (os.cpu_count() or 1) / rate_limit
        ceiling = (os.cpu_count() or 1) * 1000 / (fetch_ms + extract_ms)
        print(f"fetch  Scrapy alone (same command, no pipelines): {fetch_ms:.1f} ms/page of CPU; with extraction's "
              f"{extract_ms:.1f} ms/page the cores allow at most {ceiling:.1f} pages/s = "
              f"{ceiling / rate_limit:.2f} x limit before anything is stored")
        report("local", args.pages, local, rate_limit)
        print(f"       stored text byte-identical to `newsarchive extract`: "
              f"{identical_text(paths[: args.pages], web, work / 'local', work, env)}")
        if not args.no_s3:
            with s3_server(args.s3_server, work) as (endpoint, server_pids, credentials, count_requests):
                import boto3

                s3_env = {**env, **credentials, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
                          "NEWSARCHIVE_S3_ADDRESSING_STYLE": "path"}
                boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                             aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                             aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket="bench")
                before = count_requests()
                server_cpu = sum(cpu_seconds(pid) for pid in server_pids)
                s3 = run_archive(urls, ["--store", "s3://bench/x"], s3_env, work, [*web_pids, *server_pids])
                server_cpu = sum(cpu_seconds(pid) for pid in server_pids) - server_cpu
                requests = count_requests() - before
            own, srv = s3["cpu"] / args.pages, server_cpu / args.pages
            rate = report("s3", args.pages, s3, rate_limit,
                          f"; {args.s3_server} server CPU {1000 * srv:.1f} ms/page; "
                          f"{requests / max(s3['archived'], 1):.1f} S3 requests per capture")
            allowed = (os.cpu_count() or 1) / (own + srv)
            print(f"       own CPU vs local: {own / (local['cpu'] / args.pages):.2f} x; pages/s vs what the cores "
                  f"allow with the server's share ({allowed:.1f}): {rate / allowed:.2f} x")
        if args.rss_pages:
            urls.write_text("\n".join(web + p for p in paths[: args.rss_pages]) + "\n")
            big = run_archive(urls, ["--store", str(work / "local-big")], env, work, web_pids)
            report("local", args.rss_pages, big, rate_limit)
            print(f"       peak RSS at {args.rss_pages} vs {args.pages} pages: "
                  f"{big['peak_rss_mb'] / local['peak_rss_mb']:.2f} x")
    finally:
        if web_process is not None:
            web_process.terminate()
            web_process.wait()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
