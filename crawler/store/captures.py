"""Reading captures back from a store (I/O through the Store interface only).

A capture is one WARC object (crawler.store.warc). Archives written by earlier versions hold a
folder per capture (raw.gz, text.txt, meta.json, complete once meta.json exists): they are read
the same way, through the same functions, so nothing archived before is orphaned.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from typing import Any

from crawler.model.keys import (
    LEGACY_META_NAME,
    LEGACY_RAW_NAME,
    LEGACY_TEXT_NAME,
    WARC_SUFFIX,
    is_capture_id,
    pointer_key,
    url_prefix,
)
from crawler.store.base import ObjectNotFound, Store, StoreError
from crawler.store.warc import WarcError, read_warc

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CaptureRef:
    capture_id: str
    key: str
    """The capture's WARC object; for a capture of the folder layout, its folder (ending in "/")."""

    @property
    def is_warc(self) -> bool:
        return not self.key.endswith("/")


@dataclass(frozen=True, slots=True)
class StoredCapture:
    record: dict[str, Any]
    """The capture record."""
    text: str | None
    """The clean text, None when the capture has none."""
    body: bytes
    """The response body as the extractor read it (content-decoded)."""
    dom: bytes | None = None
    """The DOM a browser built from it (UTF-8 HTML), for a capture rendered in a browser."""


def list_captures(store: Store, url: str) -> list[CaptureRef]:
    """The captures of the article `url` names, newest first.

    `url` may be any URL the article was reached by: its pointer says where the captures are.
    """
    pointer = read_pointer(store, url)
    return captures_under(store, pointer["prefix"] if pointer else url_prefix(url))


def captures_under(store: Store, base: str) -> list[CaptureRef]:
    """The captures in an article's folder `base`: its WARCs, and the capture folders of the
    older layout that are complete (have their meta.json)."""
    found: dict[str, str] = {}
    for key in store.list(base):
        rest = key[len(base):]
        name = rest.removesuffix(WARC_SUFFIX)
        if "/" not in rest and name != rest and is_capture_id(name):
            found[name] = key
            continue
        capture_id, _, leaf = rest.partition("/")
        if leaf == LEGACY_META_NAME and is_capture_id(capture_id):
            found.setdefault(capture_id, f"{base}{capture_id}/")
    return [CaptureRef(cid, found[cid]) for cid in sorted(found, reverse=True)]


def read_capture(store: Store, ref: CaptureRef) -> StoredCapture:
    """The capture's record, text and body, in one read of its WARC."""
    if not ref.is_warc:
        record = read_record(store, ref)
        return StoredCapture(record, read_text(store, ref, record), read_raw(store, ref))
    try:
        capture = read_warc(store.get(ref.key), store.location(ref.key))
    except WarcError as exc:
        raise StoreError(str(exc)) from exc
    return StoredCapture(capture.record, capture.text, capture.body, capture.dom)


def read_record(store: Store, ref: CaptureRef) -> dict[str, Any]:
    if ref.is_warc:
        return read_capture(store, ref).record
    key = ref.key + LEGACY_META_NAME
    try:
        record = json.loads(store.get(key))
    except ValueError as exc:
        raise StoreError(f"{store.location(key)}: not a valid metadata record ({exc})") from exc
    if not isinstance(record, dict):
        raise StoreError(f"{store.location(key)}: not a valid metadata record")
    return record


def read_text(store: Store, ref: CaptureRef, record: dict[str, Any] | None = None) -> str | None:
    """The capture's clean text, or None if extraction found none."""
    if ref.is_warc:
        return read_capture(store, ref).text
    if not (record or read_record(store, ref)).get("text"):
        return None
    return store.get(ref.key + LEGACY_TEXT_NAME).decode("utf-8")


def read_raw(store: Store, ref: CaptureRef) -> bytes:
    """The response body as received, content-decoded (what the extractor read)."""
    if ref.is_warc:
        return read_capture(store, ref).body
    key = ref.key + LEGACY_RAW_NAME
    try:
        return gzip.decompress(store.get(key))
    except (OSError, EOFError) as exc:
        raise StoreError(f"{store.location(key)}: corrupt gzip data ({exc})") from exc


def read_pointer(store: Store, url: str) -> dict[str, Any] | None:
    """The latest.json pointer filed for `url` (any URL the article was reached by), or None."""
    return read_pointer_at(store, pointer_key(url))


def read_pointer_at(store: Store, key: str) -> dict[str, Any] | None:
    """The pointer stored at `key`, or None if there is none or it is unreadable."""
    try:
        data = json.loads(store.get(key))
    except ObjectNotFound:
        return None
    except ValueError:
        logger.warning("Ignoring unreadable pointer %s", store.location(key))
        return None
    return data if isinstance(data, dict) and isinstance(data.get("prefix"), str) else None


def pointer_capture_key(pointer: dict[str, Any]) -> str:
    """The key of the capture a pointer names (a WARC, or an older layout's capture folder)."""
    return str(pointer.get("key") or f"{pointer['prefix']}{pointer.get('capture_id')}/")
