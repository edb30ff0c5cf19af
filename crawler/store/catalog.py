"""The catalog: what the store holds, one row per capture, kept beside the captures.

Finding an article must not mean listing the whole bucket. Every writer (a crawl, `archive`, a
fleet worker, `spool flush`) adds a row for each capture it stores, and one for each check that
found the article unchanged, and writes them as Parquet *segments*, one folder per host:

    catalog/{host}/{writer}-{n:05d}.parquet     rows written by one writer (a run), in parts
    catalog/{host}/compact-{ts}-{rand}.parquet  segments merged once a host has many

A reader lists catalog/ (or one host's folder) and reads every segment: a handful of requests
however many captures. Rows are facts that never change (a capture, a check), so segments can
be merged, re-read or duplicated freely: readers drop duplicate rows. A writer killed before it
flushed leaves captures without rows; `newsarchive index --rebuild` (rebuild_catalog) makes the
catalog again from the captures and pointers alone, and decisions never trust a missing row
(they read the pointer).

The row of a capture is derived from its record only (catalog_row), so the incremental catalog
and a rebuilt one hold the same rows.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawler.model.keys import LEGACY_META_NAME, POINTER_NAME, WARC_SUFFIX, capture_id_of, is_capture_id
from crawler.model.urls import normalise_url
from crawler.store.base import ObjectNotFound, Store, StoreError
from crawler.store.captures import read_pointer_at

logger = logging.getLogger(__name__)

CATALOG_PREFIX = "catalog/"
SEGMENT_SUFFIX = ".parquet"
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
COLUMNS: dict[str, str] = {
    "event": "string",  # "capture" or "check"
    "capture_id": "string",
    "key": "string",
    "host": "string",
    "identity_url": "string",
    "url": "string",
    "requested_url": "string",
    "aliases": "list",
    "site": "string",
    "fetched_at": "string",
    "checked_at": "string",
    "status": "int",
    "kind": "string",
    "access": "string",
    "problem": "string",
    "title": "string",
    "authors": "list",
    "published": "string",
    "modified": "string",
    "language": "string",
    "words": "int",
    "chars": "int",
    "text_sha256": "string",
    "raw_sha256": "string",
    "previous_capture_id": "string",
    "change": "string",
    "etag": "string",
    "last_modified": "string",
}
"""The columns of a segment. "list" columns hold lists of strings."""


def change_of(record: Mapping[str, Any]) -> str:
    """new (the article's first capture), changed (its text differs from the capture before) or
    recaptured (the same text, captured again), read off the record alone."""
    previous = record.get("previous_capture")
    if not previous:
        return "new"
    text = record.get("text") or {}
    return "recaptured" if previous.get("text_sha256") == text.get("sha256") else "changed"


def _first_header(record: Mapping[str, Any], name: str) -> str | None:
    values = (record.get("headers") or {}).get(name) or [None]
    return None if values[0] is None else str(values[0])


def catalog_row(record: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The row of the capture stored at `key` whose record is `record`."""
    text = record.get("text") or {}
    previous = record.get("previous_capture") or {}
    urls = {normalise_url(u) for u in (record.get("requested_url"), record.get("url"), *record.get("redirect_urls", ()))
            if isinstance(u, str)}
    identity = str(record.get("identity_url") or record.get("url") or "")
    return {
        "event": "capture",
        "capture_id": str(record.get("capture_id") or capture_id_of(key)),
        "key": key,
        "host": key.split("/", 1)[0],
        "identity_url": identity,
        "url": record.get("url"),
        "requested_url": record.get("requested_url"),
        "aliases": sorted(urls - {normalise_url(identity)}),
        "site": record.get("site"),
        "fetched_at": record.get("fetched_at"),
        "checked_at": record.get("fetched_at"),
        "status": record.get("status"),
        "kind": record.get("kind"),
        "access": record.get("access"),
        "problem": record.get("problem"),
        "title": record.get("title"),
        "authors": [str(a) for a in record.get("authors") or []],
        "published": record.get("published"),
        "modified": record.get("modified"),
        "language": record.get("language"),
        "words": text.get("words") if text else None,
        "chars": text.get("chars") if text else None,
        "text_sha256": text.get("sha256") if text else None,
        "raw_sha256": (record.get("raw") or {}).get("sha256"),
        "previous_capture_id": previous.get("capture_id"),
        "change": change_of(record),
        "etag": _first_header(record, "etag"),
        "last_modified": _first_header(record, "last-modified"),
    }


def check_row(pointer: Mapping[str, Any], checked_at: str | None = None) -> dict[str, Any]:
    """A row saying the capture a pointer names was found unchanged at `checked_at`."""
    key = str(pointer.get("key") or pointer.get("prefix") or "")
    return {
        "event": "check",
        "capture_id": pointer.get("capture_id"),
        "key": key,
        "host": key.split("/", 1)[0],
        "identity_url": pointer.get("url"),
        "checked_at": checked_at or pointer.get("checked_at"),
        "etag": pointer.get("etag"),
        "last_modified": pointer.get("last_modified"),
    }


# --- Parquet --------------------------------------------------------------------------------

def arrow_schema(columns: Mapping[str, str]) -> Any:
    """A pyarrow schema for columns named as COLUMNS names them ("string", "int", "list")."""
    import pyarrow as pa

    types = {"string": pa.string(), "int": pa.int64(), "list": pa.list_(pa.string())}
    return pa.schema([(name, types[kind]) for name, kind in columns.items()])


def encode_segment(rows: Sequence[Mapping[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(COLUMNS)
    table = pa.Table.from_pylist([{name: row.get(name) for name in COLUMNS} for row in rows], schema=schema)
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def decode_segment(data: bytes, columns: list[str] | None = None) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    # ParquetFile, not read_table (a dataset scan), and no threads: Arrow's thread pools can abort
    # the interpreter at exit ("terminate called without an active exception", apache/arrow#34314:
    # 4 of 100 `ls` under load did); a segment is small enough for one thread
    table = pq.ParquetFile(io.BytesIO(data), pre_buffer=False).read(columns=columns, use_threads=False)
    return table.to_pylist()  # type: ignore[no-any-return]


# --- reading ----------------------------------------------------------------------------------

def segment_keys(store: Store, host: str | None = None) -> list[str]:
    prefix = f"{CATALOG_PREFIX}{host}/" if host else CATALOG_PREFIX
    return sorted(k for k in store.list(prefix) if k.endswith(SEGMENT_SUFFIX))


def read_rows(store: Store, host: str | None = None, keys: list[str] | None = None,
              columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every row of the catalog (or of one host's), duplicates dropped."""
    seen: set[tuple[str, str, str]] = set()
    rows: list[dict[str, Any]] = []
    wanted = None if columns is None else sorted({*columns, "event", "capture_id", "checked_at"})
    for key in segment_keys(store, host) if keys is None else keys:
        try:
            part = decode_segment(store.get(key), wanted)
        except StoreError:
            raise
        except Exception as exc:  # a damaged segment must not hide the rest: rebuild mends it
            logger.warning("Skipping unreadable catalog segment %s: %s", store.location(key), exc)
            continue
        for row in part:
            mark = (row["event"], str(row["capture_id"]), str(row.get("checked_at")))
            if mark not in seen:
                seen.add(mark)
                rows.append(row)
    return rows


@dataclass
class Article:
    """One article as the catalog knows it: its captures, oldest first, and its last check."""

    identity_url: str
    captures: list[dict[str, Any]] = field(default_factory=list)
    checked_at: str | None = None
    last_check: dict[str, Any] | None = None
    """The newest check row of the latest capture (its validators may be newer than the capture's)."""
    aliases: set[str] = field(default_factory=set)

    @property
    def latest(self) -> dict[str, Any]:
        return self.captures[-1]

    @property
    def changed(self) -> bool:
        """Has its text changed between captures?"""
        return any(c.get("change") == "changed" for c in self.captures)

    def pointer(self) -> dict[str, Any]:
        """What the article's pointer (latest.json) says, as far as the catalog knows."""
        latest = self.latest
        key = str(latest["key"])
        checks = [c for c in (self.checked_at, latest.get("fetched_at")) if c]
        return {
            "url": self.identity_url, "key": key, "prefix": key.rsplit("/", 1)[0] + "/",
            "capture_id": latest["capture_id"], "title": latest.get("title"),
            "fetched_at": latest.get("fetched_at"), "checked_at": max(checks) if checks else None,
            "published": latest.get("published"), "modified": latest.get("modified"),
            "etag": self._validator("etag"), "last_modified": self._validator("last_modified"),
            "raw_sha256": latest.get("raw_sha256"), "text_sha256": latest.get("text_sha256"),
            "kind": latest.get("kind"), "access": latest.get("access"), "from_catalog": True,
        }

    def _validator(self, name: str) -> Any:
        return self.last_check.get(name) if self.last_check else self.latest.get(name)


POINTER_COLUMNS = ("event", "capture_id", "key", "identity_url", "aliases", "title", "fetched_at", "checked_at",
                   "published", "modified", "etag", "last_modified", "raw_sha256", "text_sha256", "kind", "access")
"""The columns Article.pointer() reads (crawl decisions)."""


def articles(rows: Iterable[Mapping[str, Any]]) -> dict[str, Article]:
    """Rows grouped by article (identity URL), captures oldest first."""
    found: dict[str, Article] = {}
    checks: list[Mapping[str, Any]] = []
    for row in rows:
        if row.get("event") == "check":
            checks.append(row)
            continue
        identity = str(row["identity_url"])
        article = found.setdefault(identity, Article(identity))
        article.captures.append(row if isinstance(row, dict) else dict(row))
        if row.get("aliases"):
            article.aliases.update(row["aliases"])
    for article in found.values():
        article.captures.sort(key=lambda c: str(c["capture_id"]))
    by_capture = {str(a.latest["capture_id"]): a for a in found.values()}
    for row in checks:
        checked = by_capture.get(str(row.get("capture_id")))  # a check of an older capture is superseded
        if checked is not None and (checked.checked_at or "") < str(row.get("checked_at") or ""):
            checked.checked_at = str(row["checked_at"])
            checked.last_check = dict(row)
    return found


# --- writing ----------------------------------------------------------------------------------

def new_writer_id(now: datetime | None = None) -> str:
    """A name for one writer's segments: sortable by time, unique across processes."""
    return f"{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


class CatalogWriter:
    """Collects rows (from any thread) and writes them as segments, per host.

    flush() writes what has been collected; add() flushes on its own once `flush_rows` rows
    wait or `flush_seconds` have passed since the last flush. A failed flush keeps the rows for
    the next one. close() flushes and merges a host's segments once it has more than
    `compact_after`.
    """

    def __init__(self, store: Store, *, writer_id: str | None = None, flush_rows: int = 2000,
                 flush_seconds: float = 60.0, compact_after: int = 16) -> None:
        self.store = store
        self.writer_id = writer_id or new_writer_id()
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.compact_after = compact_after
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._parts = 0
        self._last_flush = time.monotonic()
        self._hosts: set[str] = set()

    def add(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._rows.append(row)
            due = len(self._rows) >= self.flush_rows or time.monotonic() - self._last_flush >= self.flush_seconds
        if due:
            try:
                self.flush()
            except StoreError as exc:  # kept for the next flush; the captures themselves are stored
                logger.warning("Catalog rows not written yet (%d waiting): %s", len(self._rows), exc)

    def flush(self) -> int:
        """Write the waiting rows, one segment per host; return how many rows were written."""
        with self._lock:
            rows, self._rows = self._rows, []
            self._last_flush = time.monotonic()
            if not rows:
                return 0
            self._parts += 1
            part = self._parts
        by_host: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_host.setdefault(str(row["host"]), []).append(row)
        written = 0
        try:
            for host, host_rows in sorted(by_host.items()):
                key = f"{CATALOG_PREFIX}{host}/{self.writer_id}-{part:05d}{SEGMENT_SUFFIX}"
                self.store.put(key, encode_segment(host_rows), content_type=PARQUET_CONTENT_TYPE, metadata={})
                written += len(host_rows)
                self._hosts.add(host)
        except StoreError:
            with self._lock:  # put back what did not reach the store (a written segment's rows too:
                self._rows[:0] = rows  # duplicates are dropped by readers)
            raise
        return written

    def close(self) -> None:
        self.flush()
        for host in sorted(self._hosts):
            keys = segment_keys(self.store, host)
            if len(keys) > self.compact_after:
                compact(self.store, host, keys)


def catalog_writer(settings: Any, store: Store) -> CatalogWriter:
    """A writer for `store` configured by the CATALOG_* settings (a Scrapy Settings object)."""
    return CatalogWriter(store, flush_rows=settings.getint("CATALOG_FLUSH_ROWS"),
                         flush_seconds=settings.getfloat("CATALOG_FLUSH_SECONDS"),
                         compact_after=settings.getint("CATALOG_COMPACT_AFTER"))


def compact(store: Store, host: str, keys: list[str]) -> str:
    """Merge the segments `keys` of `host` into one, then delete them (the merged one is written
    first: a reader in between sees rows twice, never none)."""
    rows = read_rows(store, keys=keys)
    key = f"{CATALOG_PREFIX}{host}/compact-{new_writer_id()}{SEGMENT_SUFFIX}"
    store.put(key, encode_segment(rows), content_type=PARQUET_CONTENT_TYPE, metadata={})
    for old in keys:
        store.delete(old)
    logger.info("Catalog of %s: %d segments merged into %s", host, len(keys), store.location(key))
    return key


# --- rebuilding -------------------------------------------------------------------------------

@dataclass
class RebuildSummary:
    captures: int = 0
    checks: int = 0
    hosts: int = 0
    replaced_segments: int = 0
    unreadable: list[str] = field(default_factory=list)


def scan_rows(store: Store, host: str | None = None, summary: RebuildSummary | None = None) -> Iterator[dict[str, Any]]:
    """The catalog's rows made from the captures and pointers themselves (every WARC read once)."""
    from crawler.store.warc import WarcError, read_warc

    summary = summary or RebuildSummary()
    for key in sorted(store.list(f"{host}/" if host else "")):
        parts = key.split("/")
        if parts[0] in ("catalog", "runs") or len(parts) < 3:
            continue
        try:
            if len(parts) == 3 and parts[2].endswith(WARC_SUFFIX) and is_capture_id(capture_id_of(key)):
                record = read_warc(store.get(key), store.location(key)).record
                yield catalog_row(record, key)
                summary.captures += 1
            elif len(parts) == 4 and parts[3] == LEGACY_META_NAME and is_capture_id(parts[2]):
                legacy = json.loads(store.get(key))
                if not isinstance(legacy, dict):
                    raise ValueError("not a JSON object")
                yield catalog_row(legacy, "/".join(parts[:3]) + "/")
                summary.captures += 1
            elif len(parts) == 3 and parts[2] == POINTER_NAME:
                pointer = read_pointer_at(store, key)
                if pointer and pointer.get("checked_at") and pointer.get("checked_at") != pointer.get("fetched_at"):
                    yield check_row(pointer)
                    summary.checks += 1
        except ObjectNotFound:  # deleted while we walked
            continue
        except (WarcError, ValueError) as exc:  # a damaged capture is reported, not catalogued
            summary.unreadable.append(f"{store.location(key)}: {exc}")


def rebuild_catalog(store: Store, host: str | None = None) -> RebuildSummary:
    """Make the catalog (or one host's) again from the captures; replace the segments that
    existed when the rebuild started (segments written meanwhile by running crawls stay)."""
    old = segment_keys(store, host)
    summary = RebuildSummary()
    by_host: dict[str, list[dict[str, Any]]] = {}
    for row in scan_rows(store, host, summary):
        by_host.setdefault(str(row["host"]), []).append(row)
    writer = new_writer_id()
    for name, rows in sorted(by_host.items()):
        key = f"{CATALOG_PREFIX}{name}/rebuild-{writer}{SEGMENT_SUFFIX}"
        store.put(key, encode_segment(rows), content_type=PARQUET_CONTENT_TYPE, metadata={})
    for key in old:
        store.delete(key)
    summary.hosts, summary.replaced_segments = len(by_host), len(old)
    return summary

