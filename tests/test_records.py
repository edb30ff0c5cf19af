"""A capture rendered as one WARC (pure): its records, their digests, and the capture record."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawler.extraction.extract import extract_page
from crawler.model.items import ExtractedPage, FetchedPage, HttpExchange
from crawler.model.keys import capture_key
from crawler.store.records import SCHEMA_VERSION, render_capture
from crawler.store.warc import read_warc
from tests.conftest import SITE_ROOT

ARTICLE = "news/2026/02/ukraine-strikes-missile-factory.html"
WHEN = datetime(2026, 11, 23, 10, 0, 0, 5, tzinfo=UTC)


def fetched(path: str, content_type: str = "text/html", **extra: object) -> FetchedPage:
    body = (SITE_ROOT / path).read_bytes()
    fields: dict[str, object] = dict(
        requested_url="http://news.example/r?id=1", url=f"https://news.example/{path}", status=200,
        headers=(("Content-Type", content_type), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")),
        body=body, fetched_at=WHEN, redirect_urls=("http://news.example/r?id=1",),
    )
    fields.update(extra)
    return FetchedPage(**fields)  # type: ignore[arg-type]


def over_the_wire(page: FetchedPage) -> FetchedPage:
    """The page as the spider hands it on: a redirect, then the final response gzip-encoded."""
    encoded = gzip.compress(page.body)
    sent = (("Host", "news.example"), ("User-Agent", "newsarchive-test"), ("Accept-Encoding", "gzip"))
    redirect = HttpExchange("http://news.example/r?id=1", "GET", sent, b"", 301,
                            (("Location", page.url), ("Content-Length", "0")), b"", WHEN)
    final = HttpExchange(page.url, "GET", sent, b"", 200,
                         (("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                          ("Content-Length", str(len(encoded))), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")),
                         encoded, WHEN)
    return FetchedPage(page.requested_url, page.url, 200, page.headers, page.body, WHEN,
                       redirect_urls=page.redirect_urls, exchanges=(redirect, final))


def records(data: bytes) -> list[tuple[str, str, dict[str, str], bytes]]:
    """(type, target URI, WARC headers, payload as stored, after any HTTP headers) of each record."""
    found = []
    for record in ArchiveIterator(io.BytesIO(data)):
        headers = dict(record.rec_headers.headers)
        found.append((record.rec_type, headers.get("WARC-Target-URI", ""), headers, record.raw_stream.read()))
    return found


def http_head(data: bytes, number: int) -> bytes:
    """The HTTP status line and headers of record `number`, as stored."""
    block = gzip.decompress(data).split(b"WARC/1.1\r\n")[number + 1]
    return block.split(b"\r\n\r\n", 2)[1]


def warcio_check(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "capture.warc.gz"
    path.write_bytes(data)
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", str(path)], capture_output=True)
    assert check.returncode == 0 and b"digest pass" in check.stdout, check.stdout + check.stderr


def test_one_warc_with_every_hop_as_received_then_the_record_and_text(tmp_path: Path) -> None:
    page = over_the_wire(fetched(ARTICLE))
    key = capture_key(page.url, page.fetched_at)
    warc, record = render_capture(extract_page(page), key, info={"http-header-user-agent": "newsarchive-test"})
    assert warc.key == key and key.endswith("/20261123T100000000005Z.warc.gz")
    assert warc.content_type == "application/warc"
    found = records(warc.data)
    assert [(kind, uri) for kind, uri, _, _ in found] == [
        ("warcinfo", ""),
        ("request", "http://news.example/r?id=1"), ("response", "http://news.example/r?id=1"),
        ("request", page.url), ("response", page.url),
        ("metadata", f"urn:pageinfo:{page.url}"), ("conversion", f"urn:text:{page.url}"),
    ]
    assert b"http-header-user-agent: newsarchive-test" in found[0][3]
    final = page.exchanges[-1]
    assert found[4][3] == final.payload  # the payload as transferred: still gzip, as its Content-Encoding says
    response_id = found[4][2]["WARC-Record-ID"]
    assert found[3][2]["WARC-Concurrent-To"] == response_id
    for _, _, headers, _ in found[5:]:
        assert headers["WARC-Refers-To"] == response_id and headers["WARC-Refers-To-Target-URI"] == page.url
    assert json.loads(found[5][3]) == record
    assert found[6][2]["Content-Type"] == "text/plain; charset=utf-8"
    assert found[6][3].decode("utf-8").startswith("Ukraine has struck")
    # every record is its own gzip member: concatenated members make the file
    assert warc.data[:2] == b"\x1f\x8b" and gzip.decompress(warc.data).count(b"WARC/1.1\r\n") == 7
    warcio_check(warc.data, tmp_path)
    back = read_warc(warc.data)
    assert back.body == page.body and back.record == record and back.url == page.url
    assert back.text is not None and back.text.startswith("Ukraine has struck")


def test_the_capture_record_is_complete() -> None:
    page = fetched(ARTICLE)
    warc, record = render_capture(extract_page(page), capture_key(page.requested_url, page.fetched_at))
    text = (read_warc(warc.data).text or "").encode("utf-8")
    assert record["schema_version"] == SCHEMA_VERSION
    assert record["capture_id"] == "20261123T100000000005Z"
    assert record["requested_url"] == "http://news.example/r?id=1"
    assert record["url"] == f"https://news.example/{ARTICLE}"
    assert record["redirect_urls"] == ["http://news.example/r?id=1"]
    assert record["canonical_url"] == "https://harbor-gazette.example/news/2026/02/ukraine-strikes-missile-factory"
    assert record["status"] == 200
    assert record["fetched_at"] == "2026-11-23T10:00:00.000005Z"
    assert record["headers"]["set-cookie"] == ["a=1", "b=2"]
    assert record["raw"] == {"size": len(page.body), "sha256": hashlib.sha256(page.body).hexdigest()}
    assert record["text"]["sha256"] == hashlib.sha256(text).hexdigest()
    assert record["text"]["size"] == len(text)
    assert record["title"] == "Ukraine strikes deep inside Russia hitting key missile factory"
    assert record["authors"] == ["Akbar Novruz"]
    assert record["published"] == "2026-02-23T01:04:00+04:00" and record["published_source"] == "json-ld"
    assert record["kind"] == "article" and record["access"] == "free" and record["kind_reason"]
    assert record["language"] == "en" and record["site_name"] == "Harbor Gazette"
    assert record["description"].startswith("A domestically built")
    assert record["problem"] is None
    assert record["extractor"]["engine"] == "trafilatura" and record["extractor"]["engine_version"]
    assert record["extractor"]["name"] == "newsarchive" and record["extractor"]["version"]


def test_no_text_means_no_conversion_record_and_a_flag(tmp_path: Path) -> None:
    page = fetched("files/annual-report.pdf", "application/pdf")
    warc, record = render_capture(extract_page(page), capture_key(page.requested_url, page.fetched_at))
    assert [kind for kind, *_ in records(warc.data)] == ["warcinfo", "response", "metadata"]
    back = read_warc(warc.data)
    assert back.body == page.body and back.text is None
    assert record["text"] is None
    assert record["problem"] == "not HTML (application/pdf)"
    assert record["content_type"] == "application/pdf"
    warcio_check(warc.data, tmp_path)


def test_a_page_without_recorded_exchanges_gets_a_response_that_says_what_it_holds(tmp_path: Path) -> None:
    """Rebuilt from the decoded body: a Content-Encoding that no longer matches is dropped."""
    page = fetched(ARTICLE, headers=(("Content-Type", "text/html; charset=\u00e9"), ("Content-Encoding", "gzip"),
                                     ("Content-Length", "12")))
    warc, _ = render_capture(ExtractedPage(page, None, "x"), capture_key(page.url, page.fetched_at))
    _, (kind, _, headers, payload) = records(warc.data)[:2]
    assert kind == "response" and headers["WARC-Newsarchive-Rebuilt"] == "true"
    assert payload == page.body
    head = http_head(warc.data, 1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Encoding" not in head and f"Content-Length: {len(page.body)}".encode() in head
    assert "charset=\u00e9".encode("latin-1") in head  # header bytes kept as they were, not percent-encoded
    warcio_check(warc.data, tmp_path)
