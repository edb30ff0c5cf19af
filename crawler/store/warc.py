"""A capture as one WARC/1.1 file, written and read with warcio (pure: values in, bytes out).

Each record is gzip-compressed on its own (the spec's recommendation: tools can seek to any
record). In order:

  warcinfo    the software, the WARC format, and the fetch's user agent and robots policy (and
              the crawl job and run), as `application/warc-fields`;
  request     for each hop of the fetch (redirects first): the request as sent,
  response    and the response as received: status line, headers, and the payload still
              content-encoded, so its Content-Encoding matches it. Scrapy hands us bodies
              de-chunked: a `Transfer-Encoding` header is kept as `X-Archive-Orig-Transfer-Encoding`
              (pywb's own convention) so replay does not de-chunk it again;
  metadata    the capture record (JSON), WARC-Target-URI `urn:pageinfo:<url>`;
  conversion  the rendered DOM (text/html; charset=utf-8), `urn:dom:<url>`, for a page rendered
              in a browser: what its scripts built from the response above;
  conversion  the clean text (text/plain; charset=utf-8), `urn:text:<url>`; absent without text.
The metadata and conversion records refer to the final response (WARC-Refers-To) and carry URN
targets, as Browsertrix's do, so replay tools never serve them in place of the page.

A page that did not come over HTTP with its exchanges recorded (built in a test, replayed
from an old spool) gets one response record rebuilt from its headers and decoded body, with
the encoding headers that no longer match dropped and `WARC-Newsarchive-Rebuilt: true`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from isal import igzip
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler import __version__
from crawler.model.items import FetchedPage, HttpExchange

WARC_CONTENT_TYPE = "application/warc"
RECORD_CONTENT_TYPE = "application/json"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
DOM_CONTENT_TYPE = "text/html; charset=utf-8"
TEXT_URN, DOM_URN = "urn:text:", "urn:dom:"
REBUILT_HEADER = "WARC-Newsarchive-Rebuilt"
COMPRESSLEVEL = 2
_NOT_AS_STORED = ("content-encoding", "transfer-encoding", "content-length")


class WarcError(ValueError):
    """Bytes that are not a capture's WARC (corrupt, truncated, or missing its records)."""


class _ExactHeaders(StatusAndHeaders):  # type: ignore[misc]
    """HTTP headers written back byte for byte (latin-1), where warcio would percent-encode
    any non-ASCII value."""

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.to_str(header_filter).encode("latin-1", "replace") + b"\r\n"


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _replayable(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(f"X-Archive-Orig-{name}" if name.lower() == "transfer-encoding" else name, value)
            for name, value in headers]


def _rebuilt_exchange(page: FetchedPage) -> HttpExchange:
    """A response record's worth from a page without recorded exchanges: its decoded body, with
    the headers that described another encoding or length dropped."""
    headers = tuple((n, v) for n, v in page.headers if n.lower() not in _NOT_AS_STORED)
    return HttpExchange(url=page.url, method="GET", request_headers=(), request_body=b"", status=page.status,
                        response_headers=(*headers, ("Content-Length", str(len(page.body)))),
                        payload=page.body, received_at=page.fetched_at)


class _RecordGzipWriter(WARCWriter):  # type: ignore[misc]
    """warcio's writer, each record gzip-compressed on its own by ISA-L at level 2 rather than by
    zlib at level 9: on the extraction-dev pages ISA-L's level 2 compressed 4.66x at ~780 MB/s
    where zlib's level 3 did 4.85x at ~150 MB/s, and every page stored goes through it."""

    def __init__(self, out: io.BytesIO) -> None:
        super().__init__(out, gzip=False, warc_version="1.1")

    def write_record(self, record: Any, params: Any = None) -> None:
        plain = io.BytesIO()
        self._write_warc_record(plain, record)
        self.out.write(igzip.compress(plain.getvalue(), compresslevel=COMPRESSLEVEL, mtime=0))


def render_warc(page: FetchedPage, record: Mapping[str, Any], text: bytes | None, *, filename: str,
                info: Mapping[str, str]) -> bytes:
    """The capture's WARC file: `record` is the capture record, `text` the clean text (UTF-8),
    `info` the warcinfo fields of the fetch (user agent, robots policy, job, run)."""
    out = io.BytesIO()
    writer = _RecordGzipWriter(out)
    fields = {"software": f"newsarchive/{__version__}", "format": "WARC File Format 1.1",
              "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
              **info}
    writer.write_record(writer.create_warcinfo_record(filename, fields))
    rebuilt = not page.exchanges
    response_id = ""
    for exchange in page.exchanges or (_rebuilt_exchange(page),):
        response_id = _write_exchange(writer, exchange, rebuilt=rebuilt)
    when = _naive_utc(page.fetched_at)
    derived = {"WARC-Refers-To": response_id, "WARC-Refers-To-Target-URI": page.url,
               "WARC-Date": datetime_to_iso_date(when, use_micros=True)}
    body = json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8")
    writer.write_record(writer.create_warc_record(
        f"urn:pageinfo:{page.url}", "metadata", payload=io.BytesIO(body), length=len(body),
        warc_content_type=RECORD_CONTENT_TYPE, warc_headers_dict=dict(derived)))
    dom = page.rendering.dom if page.rendering is not None else None
    if dom is not None:
        writer.write_record(writer.create_warc_record(
            f"{DOM_URN}{page.url}", "conversion", payload=io.BytesIO(dom), length=len(dom),
            warc_content_type=DOM_CONTENT_TYPE, warc_headers_dict=dict(derived)))
    if text is not None:
        writer.write_record(writer.create_warc_record(
            f"{TEXT_URN}{page.url}", "conversion", payload=io.BytesIO(text), length=len(text),
            warc_content_type=TEXT_CONTENT_TYPE, warc_headers_dict=dict(derived)))
    return out.getvalue()


def _write_exchange(writer: _RecordGzipWriter, exchange: HttpExchange, *, rebuilt: bool) -> str:
    """Write one hop's request (when it was recorded) and response; return the response's record id."""
    when = datetime_to_iso_date(_naive_utc(exchange.received_at), use_micros=True)
    response_headers = {"WARC-Date": when}
    if rebuilt:
        response_headers[REBUILT_HEADER] = "true"
    response = writer.create_warc_record(
        exchange.url, "response", payload=io.BytesIO(exchange.payload), length=len(exchange.payload),
        warc_headers_dict=response_headers,
        http_headers=_ExactHeaders(_status_line(exchange.status), _replayable(exchange.response_headers),
                                   protocol=exchange.protocol))
    response_id = str(response.rec_headers.get_header("WARC-Record-ID"))
    if not rebuilt:
        parts = urlsplit(exchange.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = writer.create_warc_record(
            exchange.url, "request", payload=io.BytesIO(exchange.request_body), length=len(exchange.request_body),
            warc_headers_dict={"WARC-Date": when, "WARC-Concurrent-To": response_id},
            http_headers=_ExactHeaders(f"{target} {exchange.protocol}", list(exchange.request_headers),
                                       protocol=exchange.method))
        writer.write_record(request)
    writer.write_record(response)
    return response_id


@dataclass(frozen=True, slots=True)
class WarcCapture:
    """What a capture's WARC holds, read back."""

    record: dict[str, Any]
    """The capture record (the metadata record's JSON)."""
    text: str | None
    """The clean text (the conversion record), None when the capture has none."""
    body: bytes
    """The final response's body, content-decoded: the bytes the extractor read."""
    url: str
    """The final response's URL."""
    dom: bytes | None = None
    """The rendered DOM (UTF-8), for a page rendered in a browser."""


def read_warc(data: bytes, where: str = "capture") -> WarcCapture:
    """Read a capture's WARC; WarcError (naming `where`) if it is not one."""
    record: dict[str, Any] | None = None
    text: str | None = None
    dom: bytes | None = None
    responses: dict[str, tuple[str, bytes]] = {}
    refers_to = ""
    try:
        for entry in ArchiveIterator(io.BytesIO(data), check_digests=False):
            kind = entry.rec_type
            if kind == "response":
                record_id = str(entry.rec_headers.get_header("WARC-Record-ID"))
                url = str(entry.rec_headers.get_header("WARC-Target-URI"))
                responses[record_id] = (url, entry.content_stream().read())
            elif kind == "metadata":
                refers_to = str(entry.rec_headers.get_header("WARC-Refers-To") or "")
                record = json.loads(entry.content_stream().read())
            elif kind == "conversion":
                target = str(entry.rec_headers.get_header("WARC-Target-URI") or "")
                content = entry.content_stream().read()
                if target.startswith(DOM_URN):
                    dom = content
                else:
                    text = content.decode("utf-8")
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        raise WarcError(f"{where}: not a readable WARC ({exc})") from exc
    if not isinstance(record, dict) or refers_to not in responses:
        raise WarcError(f"{where}: WARC without its capture record or final response")
    url, body = responses[refers_to]
    return WarcCapture(record, text, body, url, dom)
