"""What rendering costs: pages/s and CPU per page with and without a browser, on the same pages.

    python bench/render.py [--pages 120] [--rounds 3] [--per-site 2] [--sets ssr,shells] [--modes plain,auto,always]

Two sets of --pages pages each, served on 127.0.0.1 by a Python web server in its own process:
  ssr     server-rendered articles: ../shared/data/extraction-dev/ replicated under distinct paths
          (their images, fonts and scripts point at other hosts, which a rendered page may not
          fetch: blocked, as in production);
  shells  app shells from tests/site/app/, half building the article from inline JSON, half
          fetch()ing it from the site's API after load (each also asks a third party for a font
          and a tracker: blocked).
Each round runs the real `newsarchive archive -i URLS --store DIR` over each set in three modes:
  plain   no rendering (the default);
  auto    --render-auto (renders only pages with no text that look like app shells);
  always  --render (every page through Chromium);
and prints pages/s, CPU ms per page (the machine's busy time over the run minus the web server's:
the command, the Playwright driver and Chromium's processes), how many pages were rendered and
how many have article text, and the peak RSS of the command's process tree. Then the medians
over the rounds, and each mode's ratio to plain on the same set. All pages are on one host, so
at most --per-site pages (RENDER_MAX_PAGES_PER_SITE, default 2) render at once; every run
launches its browser once, which is counted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import FAST, REPO, build_corpus, busy_seconds, communicate_watching, cpu_seconds, free_port

APP = REPO / "tests" / "site" / "app"
MODES = {"plain": (), "auto": ("--render-auto",), "always": ("--render",)}


def build_shells(root: Path, pages: int, port: int) -> list[str]:
    """`pages` app shells under distinct paths, their script and API beside them."""
    for source in APP.rglob("*"):
        if source.is_file():
            target = root / "app" / source.relative_to(APP)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes().replace(b"__THIRD_PARTY__", str(port).encode()))
    paths = []
    for i in range(pages):
        name = ("inline-json.html", "api-fetch.html")[i % 2]
        path = f"/s/{i}/{name}"
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "app" / name, target)
        paths.append(path)
    return paths


def start_web(root: Path, port: int) -> subprocess.Popen[bytes]:
    """Python's threading web server (it sends .js and .json with their types)."""
    process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                "--directory", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("web server did not start")


def run(urls: Path, work: Path, web_pid: int, extra: tuple[str, ...], per_site: int) -> dict[str, float]:
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    env = {**os.environ, "NEWSARCHIVE_SPOOL_DIR": str(work / "spool")}
    command = ["newsarchive", "archive", "-i", str(urls), "--store", str(store), "--json", *FAST,
               "-s", f"RENDER_MAX_PAGES_PER_SITE={per_site}", *extra]
    busy, other = busy_seconds(), cpu_seconds(web_pid)
    process = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err, seconds, peak = communicate_watching(process)
    cpu = (busy_seconds() - busy) - (cpu_seconds(web_pid) - other)
    results = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    pages = len(urls.read_text().split())
    if len(results) != pages or any(r["outcome"] == "failed" for r in results):
        failed = next((r for r in results if r["outcome"] == "failed"), None)
        raise SystemExit(f"{' '.join(extra) or 'plain'}: {len(results)} results for {pages} pages; "
                         f"{failed or err.decode()[-2000:]}")
    return {"pages_s": pages / seconds, "cpu_ms": 1000 * cpu / pages, "seconds": seconds,
            "rendered": sum(bool(r["rendered"] and r["rendered"]["ok"]) for r in results),
            "render_failed": sum(bool(r["rendered"] and not r["rendered"]["ok"]) for r in results),
            "with_text": sum(bool(r["text_chars"]) for r in results), "rss_mb": peak / 1024,
            "render_ms": statistics.median([r["rendered"]["ms"] for r in results if r["rendered"]] or [0])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=120, help="pages in each set (default 120)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-site", type=int, default=2, help="RENDER_MAX_PAGES_PER_SITE (default 2)")
    parser.add_argument("--sets", default="ssr,shells", help="which sets of pages (default ssr,shells)")
    parser.add_argument("--modes", default="plain,auto,always", help="which modes (default plain,auto,always)")
    args = parser.parse_args()
    modes = {name: MODES[name] for name in args.modes.split(",")}
    if "plain" not in modes:
        parser.error("--modes must include plain (the ratios are to it)")
    if not shutil.which("newsarchive"):
        raise SystemExit("newsarchive is not on PATH: run from the project's venv (. .venv/bin/activate)")
    work = Path(tempfile.mkdtemp(prefix="newsarchive-bench-render-"))
    root = work / "www"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    builders = {"ssr": lambda: build_corpus(root, args.pages), "shells": lambda: build_shells(root, args.pages, port)}
    sets = {name: builders[name]() for name in args.sets.split(",")}
    files = {}
    for name, paths in sets.items():
        files[name] = work / f"{name}.txt"
        files[name].write_text("".join(f"{base}{path}\n" for path in paths))
    web = start_web(root, port)
    figures: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        print(f"newsarchive rendering benchmark, {os.cpu_count()} cores: {args.pages} pages per set, "
              f"{args.rounds} rounds, RENDER_MAX_PAGES_PER_SITE={args.per_site}", flush=True)
        for i in range(args.rounds):
            for name in sets:
                for mode, extra in modes.items():
                    r = run(files[name], work, web.pid, extra, args.per_site)
                    figures.setdefault((name, mode), []).append(r)
                    print(f"  round {i + 1} {name:<6} {mode:<6} {r['pages_s']:6.1f} pages/s  "
                          f"{r['cpu_ms']:7.1f} ms CPU/page  rendered {r['rendered']:.0f} "
                          f"(failed {r['render_failed']:.0f}, median {r['render_ms']:.0f} ms)  "
                          f"with text {r['with_text']:.0f}  peak RSS {r['rss_mb']:.0f} MB", flush=True)
        print("medians:")
        for name in sets:
            plain = figures[(name, "plain")]
            for mode in modes:
                runs = figures[(name, mode)]

                def med(key: str, runs: list[dict[str, float]] = runs) -> float:
                    return statistics.median(r[key] for r in runs)

                ratio_s = med("pages_s") / statistics.median(r["pages_s"] for r in plain)
                ratio_cpu = med("cpu_ms") / statistics.median(r["cpu_ms"] for r in plain)
                print(f"  {name:<6} {mode:<6} {med('pages_s'):6.1f} pages/s (x{ratio_s:.2f})  "
                      f"{med('cpu_ms'):7.1f} ms CPU/page (x{ratio_cpu:.2f})  rendered {med('rendered'):.0f}"
                      f"/{args.pages}  with text {med('with_text'):.0f}/{args.pages}  "
                      f"render median {med('render_ms'):.0f} ms  peak RSS {med('rss_mb'):.0f} MB")
    finally:
        web.terminate()
        web.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
