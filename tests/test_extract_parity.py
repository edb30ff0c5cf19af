"""`newsarchive extract` shows what `newsarchive archive` stores, page for page.

Every golden page (tests/pages/), every extraction-dev page (../shared/data/extraction-dev/) and
every page of our second benchmark set (bench/extraction/own-pages/) is served by a local HTTP
server at its own URL's path, archived by the real command into a local folder, then run
through `extract` with the same URL and Content-Type. For each page: the stored text is
byte-identical to what `extract` prints, the capture record's fields that the page's bytes
decide equal `extract --json`'s, and `extract` exits with the code of `archive`'s outcome.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawler.cli.command import main
from crawler.cli.output import EXIT_CODES, exit_code
from crawler.store.captures import list_captures, read_capture
from crawler.store.local import LocalDirStore
from tests.conftest import REPO, SHARED, run_cli

CONTENT_TYPE = "text/html; charset=utf-8"
DEV = SHARED / "data" / "extraction-dev"
OWN = REPO / "bench" / "extraction" / "own-pages"


def corpus() -> dict[str, tuple[str, bytes]]:
    """name -> (the page's original URL, its bytes)."""
    assert DEV.is_dir(), f"{DEV} not found: the dev pages are in ../shared beside the checkout (or NEWSARCHIVE_SHARED)"
    pages: dict[str, tuple[str, bytes]] = {}
    for spec in sorted((REPO / "tests" / "pages").glob("*.expected.json")):
        name = spec.name.removesuffix(".expected.json")
        pages[f"golden/{name}"] = (json.loads(spec.read_text())["url"], spec.with_name(f"{name}.html").read_bytes())
    truth = json.loads((DEV / "ground-truth.json").read_text(encoding="utf-8"))
    for page_id, entry in sorted(truth.items()):
        pages[f"dev/{page_id[:12]}"] = (entry["url"], gzip.decompress((DEV / f"{page_id}.html.gz").read_bytes()))
    for spec in sorted(OWN.glob("*.json")):
        pages[f"own/{spec.stem}"] = (json.loads(spec.read_text())["url"], spec.with_suffix(".html").read_bytes())
    return pages


def local_paths(pages: dict[str, tuple[str, bytes]]) -> dict[str, str]:
    """name -> the path (and query) it is served at: its own URL's, unless another page has it."""
    paths: dict[str, str] = {}
    for name, (url, _) in pages.items():
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if path in paths.values():
            path = f"/{parts.hostname}{path}"
        paths[name] = path
    return paths


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, dict[str, str], dict[str, tuple[str, bytes]]]]:
    pages = corpus()
    paths = local_paths(pages)
    by_path = {paths[name]: body for name, (_, body) in pages.items()}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = by_path.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{port}", paths, pages
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def archived(served: tuple[str, dict[str, str], dict[str, tuple[str, bytes]]],
             tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Every page archived by one `newsarchive archive` run: the store and each URL's result line."""
    base, paths, _ = served
    work = tmp_path_factory.mktemp("parity")
    (work / "urls.txt").write_text("".join(f"{base}{path}\n" for path in paths.values()))
    proc = run_cli(["archive", "-i", "urls.txt", "--store", "store", "--json", "-s", "ROBOTSTXT_OBEY=False"],
                   cwd=work, timeout=600)
    results = {line["url"]: line for line in map(json.loads, proc.stdout.decode().splitlines())}
    assert len(results) == len(paths), proc.stderr.decode()[-2000:]
    assert proc.returncode == exit_code([r["outcome"] for r in results.values()]), "the worst outcome's code"
    return work / "store", results


def test_the_corpus_has_every_kind_of_page(served: tuple[str, dict[str, str], dict[str, tuple[str, bytes]]]
                                           ) -> None:
    names = served[2]
    assert sum(n.startswith("golden/") for n in names) >= 15 and sum(n.startswith("dev/") for n in names) == 61


def test_extract_prints_what_archive_stores(
        served: tuple[str, dict[str, str], dict[str, tuple[str, bytes]]],
        archived: tuple[Path, dict[str, dict[str, Any]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, paths, pages = served
    store_dir, results = archived
    store = LocalDirStore(store_dir)
    outcomes: dict[str, int] = {}
    for name, path in paths.items():
        url = base + path
        page = tmp_path / "page.html"
        page.write_bytes(pages[name][1])
        code = main(["extract", str(page), "--url", url, "--content-type", CONTENT_TYPE, "--json"])
        shown = json.loads(capsys.readouterr().out)
        result = results[url]
        assert (shown["outcome"], code) == (result["outcome"], EXIT_CODES[result["outcome"]]), name
        outcomes[result["outcome"]] = outcomes.get(result["outcome"], 0) + 1

        stored = read_capture(store, list_captures(store, url)[0])
        assert (stored.text or "") == shown["article_text"], f"{name}: stored text differs from extract's"
        fields = {k: v for k, v in shown.items() if k not in ("outcome", "article_text")}
        assert fields == {k: stored.record[k] for k in fields}, name
        # and without --json, the text itself on stdout
        main(["extract", str(page), "--url", url, "--content-type", CONTENT_TYPE])
        assert capsys.readouterr().out == (stored.text + "\n" if stored.text else ""), name
    # the corpus has pages of each class, so each comparison above was made
    assert outcomes.get("archived", 0) > 60 and outcomes.get("partial") and outcomes.get("raw-only"), outcomes
