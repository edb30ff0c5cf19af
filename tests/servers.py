"""Real servers on 127.0.0.1 for the tests: the local news site and an S3-compatible server.

No port guessing: each binds port 0 and reads back the port it got.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
    times: list[float] = field(default_factory=list)
    """When each of `requests` arrived (time.monotonic())."""
    delay: float = 0.0
    """Seconds to wait before answering a request under /news/ (to make crawls slow)."""
    push_back: dict[str, str] = field(default_factory=dict)
    """path -> a Retry-After value: the first request for the path gets 429 with it, later ones the file."""

    def __call__(self, path: str) -> str:
        return self.url + path

    def served_bytes(self, path: str) -> bytes:
        return (self.root / path.lstrip("/")).read_bytes()

    def served_gzip(self, path: str) -> bytes:
        """What /gzip/PATH sends: the file gzip-compressed (Content-Encoding: gzip)."""
        return gzip.compress(self.served_bytes(path), mtime=0)


BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
CP1251_PAGE = ("<html><head><title>Новости</title></head><body><article>" + "".join(
    f"<p>Абзац {i}: городской совет утвердил новый бюджет на следующий год, сообщили в мэрии. "
    "Жители смогут обсудить расходы на открытых слушаниях в декабре.</p>" for i in range(6))
    + "</article></body></html>").encode("cp1251")


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files under the site root plus a few dynamic paths (after Scrapy's mock server):

    /redirect?to=PATH   302 to PATH
    /gzip/PATH          the static file PATH with Content-Encoding: gzip
    /refresh?to=PATH&pad=N  a page of N bytes or more whose <meta http-equiv="refresh"> goes to PATH
    /status/N           an HTML page with status N
    /big?size=N         N bytes of text/html (repetitive: compresses well)
    /noise?size=N       N bytes of text/html made of random words (compresses poorly)
    /slow?seconds=S     answers after S seconds
    /trickle            sends its headers, then one byte every half second
    /loop               redirects to itself
    /bomb               1 MB of gzip that expands to 64 MB (Content-Encoding: gzip)
    /binary             random bytes served as text/html
    /cp1251             a Russian article in windows-1251, served as charset=utf-8
    /empty              200 with an empty body
    /status/429         with Retry-After: 1
    Site.push_back[path] = RETRY_AFTER makes the first request for path answer 429 with it.
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
        self.site.times.append(time.monotonic())
        self.site.requests.append(self.path)
        if self.path in self.site.push_back:
            retry_after = self.site.push_back.pop(self.path)
            self._send(429, b"<html><body><h1>Too Many Requests</h1></body></html>",
                       {"Content-Type": "text/html", "Retry-After": retry_after})
            return
        if self.site.delay and self.path.startswith("/news/"):
            time.sleep(self.site.delay)
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/redirect":
            self._send(302, b"", {"Location": query["to"][0]})
        elif parts.path == "/refresh":  # the charset only in <meta>: no header to read it from
            head = (f'<html><head><meta charset="windows-1252"><title>Déplacé</title>'
                    f'<meta http-equiv="refresh" content="0; url={query["to"][0]}"></head><body>').encode("cp1252")
            filler = "<p>Cette page a déménagé. Ce paragraphe la rend longue. </p>\n".encode("cp1252")
            body = head + filler * (int(query["pad"][0]) // len(filler) + 1) + b"</body></html>"
            self._send(200, body, {"Content-Type": "text/html"})
        elif match := re.fullmatch(r"/status/(\d{3})", parts.path):
            status = int(match.group(1))
            headers = {"Content-Type": "text/html; charset=utf-8"}
            if status == 429:
                headers["Retry-After"] = "1"
            self._send(status, b"<html><body><h1>Status %d</h1></body></html>" % status, headers)
        elif parts.path == "/slow":
            time.sleep(float(query["seconds"][0]))
            self._send(200, b"<html><body><p>late</p></body></html>", {"Content-Type": "text/html"})
        elif parts.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(60):
                    self.wfile.write(b"<")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
        elif parts.path.startswith("/gzip/"):
            path = parts.path.removeprefix("/gzip")
            self._send(200, self.site.served_gzip(path), {"Content-Type": "text/html", "Content-Encoding": "gzip"})
        elif parts.path == "/loop":
            self._send(302, b"", {"Location": "/loop"})
        elif parts.path == "/bomb":
            self._send(200, BOMB, {"Content-Type": "text/html", "Content-Encoding": "gzip"})
        elif parts.path == "/binary":
            self._send(200, random.Random(7).randbytes(50_000), {"Content-Type": "text/html; charset=utf-8"})
        elif parts.path == "/cp1251":
            self._send(200, CP1251_PAGE, {"Content-Type": "text/html; charset=utf-8"})
        elif parts.path == "/empty":
            self._send(200, b"", {"Content-Type": "text/html"})
        elif parts.path == "/noise":
            size = int(query["size"][0])
            rng = random.Random(size)
            words = " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
                             for _ in range(size // 5))
            body = (b"<html><body><article><p>" + words.encode() + b"</p></article></body></html>")
            self._send(200, body, {"Content-Type": "text/html; charset=utf-8"})
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
    log_path: Path
    """moto's log: one line per request ("GET /bucket/key HTTP/1.1" 200 -)."""


@contextmanager
def serve_s3(log_path: Path) -> Iterator[S3Server]:
    """moto's S3 server as a separate process on 127.0.0.1, port chosen by the OS."""
    with open(log_path, "w+b") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            yield S3Server(_wait_for_endpoint(log_path, process), process, log_path)
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


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 (port chosen by the OS) that can cut and restore the link:
    while cut, every connection is accepted and closed at once, as when a server is down."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_off = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self.cut_off.set()
        with self._lock:
            for conn in list(self._open):
                _close(conn)
            self._open.clear()

    def restore(self) -> None:
        self.cut_off.clear()

    def close(self) -> None:
        self.cut()
        _close(self.listener)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
