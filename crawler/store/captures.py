"""Reading captures back from a store (I/O through the Store interface only)."""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from typing import Any

from crawler.model.keys import META_NAME, RAW_NAME, TEXT_NAME, is_capture_id, pointer_key, url_prefix
from crawler.store.base import ObjectNotFound, Store, StoreError
from crawler.store.records import render_pointer

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CaptureRef:
    capture_id: str
    prefix: str
    """The capture's folder key, ending in "/"."""

    @property
    def meta_key(self) -> str:
        return self.prefix + META_NAME


def list_captures(store: Store, url: str) -> list[CaptureRef]:
    """The complete captures of the article `url` names (those with meta.json), newest first.

    `url` may be any URL the article was reached by: its pointer says where the captures are.
    """
    pointer = read_pointer(store, url)
    return complete_captures(store, pointer["prefix"] if pointer else url_prefix(url))


def complete_captures(store: Store, base: str) -> list[CaptureRef]:
    """The captures under an article's folder `base` that have their meta.json, newest first."""
    complete: set[str] = set()
    for key in store.list(base):
        capture_id, _, name = key[len(base):].partition("/")
        if name == META_NAME and is_capture_id(capture_id):
            complete.add(capture_id)
    return [CaptureRef(cid, f"{base}{cid}/") for cid in sorted(complete, reverse=True)]


def read_record(store: Store, ref: CaptureRef) -> dict[str, Any]:
    data = store.get(ref.meta_key)
    try:
        record = json.loads(data)
    except ValueError as exc:
        raise StoreError(f"{store.location(ref.meta_key)}: not a valid metadata record ({exc})") from exc
    if not isinstance(record, dict):
        raise StoreError(f"{store.location(ref.meta_key)}: not a valid metadata record")
    return record


def read_text(store: Store, ref: CaptureRef, record: dict[str, Any]) -> str | None:
    """The capture's clean text, or None if extraction found none."""
    if not record.get("text"):
        return None
    return store.get(ref.prefix + TEXT_NAME).decode("utf-8")


def read_raw(store: Store, ref: CaptureRef) -> bytes:
    """The response body exactly as received (decompressed from raw.gz)."""
    key = ref.prefix + RAW_NAME
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


def recover_pointer(store: Store, url: str) -> dict[str, Any] | None:
    """Rebuild the pointer of an article whose pointer is missing but whose captures exist.

    A run killed between writing a capture's meta.json and its pointer leaves exactly that;
    without this, the next run would take the article for new and capture it twice. Costs one
    listing of the article's own folder, and only for URLs without a pointer.
    """
    complete = complete_captures(store, url_prefix(url))
    if not complete:
        return None
    ref = complete[0]
    pointer: dict[str, Any] = json.loads(render_pointer(read_record(store, ref), ref.prefix))
    logger.info("Recovered the missing pointer of %s from capture %s", url, ref.capture_id)
    return pointer
