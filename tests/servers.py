"""Real servers on 127.0.0.1 for the tests: the local news site and an S3-compatible server.

No port guessing: each binds port 0 and reads back the port it got.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass
class Site:
    url: str
    root: Path
    requests: list[str] = field(default_factory=list)
    """Paths requested so far, in order (query strings included)."""
    delay: float = 0.0
    """Seconds to wait before answering a request under /news/ (to make crawls slow)."""

    def __call__(self, path: str) -> str:
        return self.url + path

    def served_bytes(self, path: str) -> bytes:
        return (self.root / path.lstrip("/")).read_bytes()


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files under the site root plus a few dynamic paths (after Scrapy's mock server):

    /redirect?to=PATH   302 to PATH
    /status/N           an HTML page with status N
    /big?size=N         N bytes of text/html
    """

    site: Site

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        self.site.requests.append(self.path)
        if self.site.delay and self.path.startswith("/news/"):
            time.sleep(self.site.delay)
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/redirect":
            self._send(302, b"", {"Location": query["to"][0]})
        elif match := re.fullmatch(r"/status/(\d{3})", parts.path):
            status = int(match.group(1))
            self._send(status, b"<html><body><h1>Status %d</h1></body></html>" % status,
                       {"Content-Type": "text/html; charset=utf-8"})
        elif parts.path == "/big":
            size = int(query["size"][0])
            filler = b"<p>" + b"All work and no play makes a dull archive. " * 20 + b"</p>\n"
            body = (b"<html><body>" + filler * (size // len(filler) + 1))[:size]
            self._send(200, body, {"Content-Type": "text/html; charset=utf-8"})
        else:
            super().do_GET()


@contextmanager
def serve_site(root: Path) -> Iterator[Site]:
    """Serve `root` on 127.0.0.1 (a free port) in a background thread."""
    site = Site(url="", root=root)
    handler = type("BoundSiteHandler", (SiteHandler,), {"site": site})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    host, port = server.server_address[:2]
    site.url = f"http://{host}:{port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class S3Server:
    endpoint_url: str
    process: subprocess.Popen[bytes]


@contextmanager
def serve_s3(log_path: Path) -> Iterator[S3Server]:
    """moto's S3 server as a separate process on 127.0.0.1, port chosen by the OS."""
    with open(log_path, "w+b") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            yield S3Server(_wait_for_endpoint(log_path, process), process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for_endpoint(log_path: Path, process: subprocess.Popen[bytes], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited: {log_path.read_text(errors='replace')}")
        match = re.search(r"Running on (http://127\.0\.0\.1:\d+)", log_path.read_text(errors="replace"))
        if match:
            endpoint = match.group(1)
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=2).read()
                return endpoint
            except OSError:
                pass
        time.sleep(0.05)
    raise RuntimeError(f"moto server did not start in {timeout}s: {log_path.read_text(errors='replace')}")
