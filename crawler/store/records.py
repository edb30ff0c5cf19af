"""A capture's record and its one object, rendered from an ExtractedPage (pure).

build_record() makes the capture record (the JSON that `show --json` prints); render_capture()
makes the capture's WARC (crawler.store.warc), holding the exchange as received, the record and
the text: one object, written in one go, so a capture exists whole or not at all. The article's
pointer (latest.json) carries what crawl decisions and `show` need without opening the WARC.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crawler import __version__
from crawler.model.dates import utc_timestamp
from crawler.model.http import media_type
from crawler.model.items import ExtractedPage, Extraction, FetchedPage
from crawler.model.keys import capture_id_of
from crawler.store.warc import WARC_CONTENT_TYPE, render_warc

SCHEMA_VERSION = 2
"""1: the folder-per-capture layout (raw.gz, text.txt, meta.json); 2: one WARC per capture."""
POINTER_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    data: bytes
    content_type: str
    metadata: Mapping[str, str] = field(default_factory=dict)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def headers_record(headers: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    """Headers by lowercased name, each with its values in the order received."""
    record: dict[str, list[str]] = {}
    for name, value in headers:
        record.setdefault(name.lower(), []).append(value)
    return record


def article_fields(extraction: Extraction | None) -> dict[str, object]:
    """The record's article metadata; the same keys, empty, when nothing was extracted."""
    ex = extraction or Extraction(text="")
    return {
        "kind": ex.kind if extraction else None, "kind_reason": ex.kind_reason or None,
        "access": ex.access if extraction else None, "access_reason": ex.access_reason or None,
        "teaser": ex.teaser,
        "title": ex.title, "authors": list(ex.authors),
        "published": ex.published, "published_source": ex.published_source,
        "modified": ex.modified, "modified_source": ex.modified_source,
        "language": ex.language, "site_name": ex.site_name, "description": ex.description,
        "canonical_url": ex.canonical_url, "image": ex.image, "section": ex.section, "tags": list(ex.tags),
    }


def build_record(item: ExtractedPage, key: str | None, text: bytes | None, *, identity: str | None = None,
                 previous: Mapping[str, Any] | None = None,
                 digests: tuple[str, str | None] | None = None) -> dict[str, object]:
    """The capture record of the capture stored at `key` (None: a page that is not stored).

    `identity` is the URL the article is filed under; `previous` the pointer to its newest
    earlier capture, if any (so a changed article links back to the version before);
    `digests` what content_digests() already computed for this item, if it was called.
    """
    page, extraction = item.page, item.extraction
    raw_sha, text_sha = digests or content_digests(item)
    return {
        "schema_version": SCHEMA_VERSION,
        "capture_id": capture_id_of(key) if key else None,
        "identity_url": identity or page.url,
        "requested_url": page.requested_url,
        "url": page.url,
        "redirect_urls": list(page.redirect_urls),
        "status": page.status,
        "fetched_at": utc_timestamp(page.fetched_at),
        "content_type": media_type(page.content_type) or None,
        "encoding": item.encoding,
        "headers": headers_record(page.headers),
        "raw": {"size": len(page.body), "sha256": raw_sha},
        "text": None if text is None else {
            "size": len(text), "sha256": text_sha,
            "chars": len(text.decode("utf-8")),
            "words": item.extraction.words if item.extraction else 0,
        },
        "problem": item.problem,
        "previous_capture": None if previous is None else {
            "capture_id": previous.get("capture_id"), "key": previous.get("key"), "prefix": previous.get("prefix"),
            "text_sha256": previous.get("text_sha256"),
        },
        "site": page.site,
        "discovery": dict(page.discovery) if page.discovery else None,
        "rendered": rendering_record(page),
        **article_fields(extraction),
        "extractor": {
            "name": "newsarchive",
            "version": __version__,
            "engine": extraction.extractor if extraction else None,
            "engine_version": extraction.extractor_version if extraction else None,
        },
    }


def rendering_record(page: FetchedPage) -> dict[str, object] | None:
    """How the page was rendered in a browser (None: it was not): why, how long it took, what the
    page fetched and was refused, and the error when it failed (the text is then the fetched HTML's)."""
    rendering = page.rendering
    if rendering is None:
        return None
    return {
        "ok": rendering.dom is not None, "reason": rendering.reason, "ms": rendering.ms,
        "error": rendering.error, "url": rendering.url,
        "dom": None if rendering.dom is None else {"size": len(rendering.dom), "sha256": sha256(rendering.dom)},
        "requests": rendering.requests, "blocked": rendering.blocked, "queued_ms": rendering.queued_ms,
        "text_from": rendering.text_from,
    }


FETCH_FIELDS = ("capture_id", "identity_url", "requested_url", "redirect_urls", "status", "fetched_at", "headers",
                "previous_capture", "site", "discovery", "rendered")
"""The record fields a fetch and the store decide; every other field comes from the page's bytes."""


def page_record(item: ExtractedPage) -> dict[str, object]:
    """The fields of the capture record that the page's bytes alone decide (FETCH_FIELDS left
    out), equal to those of the record a capture of the same bytes holds: `extract --json`."""
    text = item.extraction.text.encode("utf-8") if item.extraction and item.extraction.text else None
    record = build_record(item, None, text)
    return {name: value for name, value in record.items() if name not in FETCH_FIELDS}


def render_capture(
    item: ExtractedPage, key: str, *, identity: str | None = None, previous: Mapping[str, Any] | None = None,
    digests: tuple[str, str | None] | None = None, info: Mapping[str, str] | None = None,
) -> tuple[StoredObject, dict[str, object]]:
    """The capture's one object (its WARC) and its record; `digests`: content_digests(item), if
    the caller has them already; `info`: the fetch's warcinfo fields (user agent, robots, job, run)."""
    text = item.extraction.text.encode("utf-8") if item.extraction and item.extraction.text else None
    record = build_record(item, key, text, identity=identity, previous=previous, digests=digests)
    data = render_warc(item.page, record, text, filename=key.rsplit("/", 1)[-1], info=info or {})
    return StoredObject(key, data, WARC_CONTENT_TYPE), record


def content_digests(item: ExtractedPage) -> tuple[str, str | None]:
    """sha256 of the raw body and of the text (None without text): what "unchanged" compares."""
    text = item.extraction.text if item.extraction and item.extraction.text else None
    return sha256(item.page.body), (sha256(text.encode("utf-8")) if text is not None else None)


def same_content(pointer: Mapping[str, Any], digests: tuple[str, str | None]) -> bool:
    """Does a capture with these (raw, text) digests hold what the capture `pointer` names holds?
    Its text when it has text, else its raw bytes: the "unchanged" test of crawls and the spool."""
    raw_sha, text_sha = digests
    return pointer.get("text_sha256") == text_sha if text_sha else pointer.get("raw_sha256") == raw_sha


def render_pointer(record: Mapping[str, Any], key: str, checked_at: str | None = None) -> bytes:
    """latest.json: the newest capture of an article (stored at `key`) and what a later run needs
    to decide whether to fetch it again (conditional-GET validators, publication date, digests)."""
    headers = record.get("headers") or {}
    pointer = {
        "url": record.get("identity_url"),
        "prefix": key.rsplit("/", 1)[0] + "/",
        "key": key,
        "capture_id": record.get("capture_id"),
        "title": record.get("title"),
        "fetched_at": record.get("fetched_at"),
        "checked_at": checked_at or record.get("fetched_at"),
        "published": record.get("published"),
        "modified": record.get("modified"),
        "etag": (headers.get("etag") or [None])[0],
        "last_modified": (headers.get("last-modified") or [None])[0],
        "raw_sha256": (record.get("raw") or {}).get("sha256"),
        "text_sha256": (record.get("text") or {}).get("sha256") if record.get("text") else None,
        "kind": record.get("kind"),
        "access": record.get("access"),
    }
    return _pointer_bytes(pointer)


def refresh_pointer(pointer: Mapping[str, Any], page: FetchedPage) -> bytes:
    """The pointer after `page` was fetched again and found unchanged: the same capture, with the
    time of this check and the page's new validators (the old ones where it sent none)."""
    return _pointer_bytes({
        **pointer, "checked_at": utc_timestamp(page.fetched_at),
        "etag": page.header("ETag") or pointer.get("etag"),
        "last_modified": page.header("Last-Modified") or pointer.get("last_modified"),
    })


def _pointer_bytes(pointer: Mapping[str, Any]) -> bytes:
    return json.dumps(pointer, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
