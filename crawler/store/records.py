"""The objects of one capture, rendered from an ExtractedPage (pure).

render_objects() returns them in write order: raw body, text, then meta.json last,
whose presence marks the capture complete. Readers ignore captures without it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from isal import igzip

from crawler import __version__
from crawler.model.dates import utc_timestamp
from crawler.model.http import media_type
from crawler.model.items import ExtractedPage, Extraction, FetchedPage
from crawler.model.keys import RAW_NAME, TEXT_NAME, CaptureKeys

SCHEMA_VERSION = 1
# Raw bodies are gzip (any reader opens them), written by ISA-L (python-isal): on the 61 pages of
# extraction-dev, its level 2 compresses 4.66x at ~780 MB/s where zlib's level 3 did 4.85x at
# ~150 MB/s, and the archive pipeline gzips every page it stores (bench/throughput.py).
RAW_COMPRESSLEVEL = 2
RAW_CONTENT_TYPE = "application/gzip"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
META_CONTENT_TYPE = "application/json"


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
        "title": ex.title, "authors": list(ex.authors),
        "published": ex.published, "published_source": ex.published_source,
        "modified": ex.modified, "modified_source": ex.modified_source,
        "language": ex.language, "site_name": ex.site_name, "description": ex.description,
        "canonical_url": ex.canonical_url, "image": ex.image, "section": ex.section, "tags": list(ex.tags),
    }


def build_record(item: ExtractedPage, keys: CaptureKeys, text: bytes | None, *, identity: str | None = None,
                 previous: Mapping[str, Any] | None = None,
                 digests: tuple[str, str | None] | None = None) -> dict[str, object]:
    """The metadata record (meta.json) of a capture.

    `identity` is the URL the article is filed under; `previous` the pointer to its newest
    earlier capture, if any (so a changed article links back to the version before);
    `digests` what content_digests() already computed for this item, if it was called.
    """
    page, extraction = item.page, item.extraction
    raw_sha, text_sha = digests or content_digests(item)
    capture_id = keys.prefix.rstrip("/").rsplit("/", 1)[-1]
    return {
        "schema_version": SCHEMA_VERSION,
        "capture_id": capture_id,
        "identity_url": identity or page.url,
        "requested_url": page.requested_url,
        "url": page.url,
        "redirect_urls": list(page.redirect_urls),
        "status": page.status,
        "fetched_at": utc_timestamp(page.fetched_at),
        "content_type": media_type(page.content_type) or None,
        "encoding": item.encoding,
        "headers": headers_record(page.headers),
        "raw": {
            "name": RAW_NAME, "compression": "gzip",
            "size": len(page.body), "sha256": raw_sha,
        },
        "text": None if text is None else {
            "name": TEXT_NAME, "size": len(text), "sha256": text_sha,
            "chars": len(text.decode("utf-8")),
            "words": item.extraction.words if item.extraction else 0,
        },
        "problem": item.problem,
        "previous_capture": None if previous is None else {
            "capture_id": previous.get("capture_id"), "prefix": previous.get("prefix"),
            "text_sha256": previous.get("text_sha256"),
        },
        "site": page.site,
        "discovery": dict(page.discovery) if page.discovery else None,
        **article_fields(extraction),
        "extractor": {
            "name": "newsarchive",
            "version": __version__,
            "engine": extraction.extractor if extraction else None,
            "engine_version": extraction.extractor_version if extraction else None,
        },
    }


def render_objects(
    item: ExtractedPage, keys: CaptureKeys, *, identity: str | None = None, previous: Mapping[str, Any] | None = None,
    digests: tuple[str, str | None] | None = None,
) -> tuple[list[StoredObject], dict[str, object]]:
    """The capture's objects in write order (raw, text if any, meta.json last) and its record;
    `digests`: content_digests(item), if the caller has them already."""
    page = item.page
    text = item.extraction.text.encode("utf-8") if item.extraction and item.extraction.text else None
    objects = [
        StoredObject(
            keys.raw,
            igzip.compress(page.body, compresslevel=RAW_COMPRESSLEVEL, mtime=0),
            RAW_CONTENT_TYPE,
            {"original-content-type": _ascii(page.content_type or "")},
        )
    ]
    if text is not None:
        objects.append(StoredObject(keys.text, text, TEXT_CONTENT_TYPE))
    record = build_record(item, keys, text, identity=identity, previous=previous, digests=digests)
    meta = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")
    objects.append(StoredObject(keys.meta, meta + b"\n", META_CONTENT_TYPE))
    return objects, record


def content_digests(item: ExtractedPage) -> tuple[str, str | None]:
    """sha256 of the raw body and of the text (None without text): what "unchanged" compares."""
    text = item.extraction.text if item.extraction and item.extraction.text else None
    return sha256(item.page.body), (sha256(text.encode("utf-8")) if text is not None else None)


def same_content(pointer: Mapping[str, Any], digests: tuple[str, str | None]) -> bool:
    """Does a capture with these (raw, text) digests hold what the capture `pointer` names holds?
    Its text when it has text, else its raw bytes: the "unchanged" test of crawls and the spool."""
    raw_sha, text_sha = digests
    return pointer.get("text_sha256") == text_sha if text_sha else pointer.get("raw_sha256") == raw_sha


def render_pointer(record: Mapping[str, Any], capture_prefix: str, checked_at: str | None = None) -> bytes:
    """latest.json: the newest capture of an article and what a later run needs to decide
    whether to fetch it again (conditional-GET validators, publication date, digests)."""
    headers = record.get("headers") or {}
    pointer = {
        "url": record.get("identity_url"),
        "prefix": capture_prefix.rsplit("/", 2)[0] + "/",
        "capture_id": record.get("capture_id"),
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


def _ascii(value: str) -> str:
    """S3 user metadata must be ASCII; keep what is and escape the rest."""
    return value.encode("ascii", "backslashreplace").decode("ascii")
