"""Captures out of the store in the web-archiving field's formats: one WARC, a CDXJ index, a WACZ.

* export_warc: the selected captures' WARCs, one after the other (each is whole gzip members,
  so the concatenation is itself a valid WARC file);
* export_cdxj: a sorted CDXJ index of the selected captures, whose `filename` is each capture's
  key in the store, so pywb (or any CDX server) pointed at the store replays straight from it;
* export_wacz: a WACZ 1.1.1 package (archive/data.warc.gz, indexes/index.cdxj,
  pages/pages.jsonl, datapackage.json with every file's SHA-256, datapackage-digest.json), to
  open in ReplayWeb.page or hand to someone.

Indexes are made by cdxj-indexer (Webrecorder's, the one pywb and py-wacz use) and sorted with
its external-merge writer; WARCs are streamed capture by capture, so memory stays bounded
however large the selection. Captures of the older folder layout have no WARC: they are
counted as skipped, never silently left out.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cdxj_indexer.main import CDXJIndexer, SortingWriter

from crawler import __version__
from crawler.model.keys import LEGACY_META_NAME, WARC_SUFFIX, capture_id_of, is_capture_id, parse_capture_id
from crawler.model.urls import normalise_url
from crawler.store.base import Store
from crawler.store.warc import read_warc

logger = logging.getLogger(__name__)

WACZ_VERSION = "1.1.1"


@dataclass(frozen=True, slots=True)
class Selection:
    """Which captures to export; every criterion given must hold."""

    host: str | None = None
    """The host folder (as in the key layout: `example.com`, `127.0.0.1_8080`)."""
    url_prefix: str | None = None
    """The capture's URL (requested, final or identity, normalised) starts with this."""
    site: str | None = None
    """The sites-file name the capture was crawled for."""
    since: datetime | None = None
    until: datetime | None = None
    """Fetched at or after `since`, before `until` (UTC)."""

    def wants_time(self, capture_id: str) -> bool:
        fetched = parse_capture_id(capture_id)
        return (self.since is None or fetched >= self.since) and (self.until is None or fetched < self.until)

    def wants_record(self, record: dict[str, Any]) -> bool:
        if self.site is not None and record.get("site") != self.site:
            return False
        if self.url_prefix is None:
            return True
        prefix = normalise_url(self.url_prefix)
        urls = (record.get("requested_url"), record.get("url"), record.get("identity_url"))
        return any(isinstance(u, str) and normalise_url(u).startswith(prefix) for u in urls)


@dataclass
class ExportSummary:
    captures: int = 0
    bytes: int = 0
    skipped_legacy: int = 0
    """Captures of the folder layout (before WARC captures) that matched but have no WARC to export."""


@dataclass(frozen=True, slots=True)
class SelectedCapture:
    key: str
    data: bytes
    record: dict[str, Any]


def _is_capture_key(key: str) -> str | None:
    """The capture id if `key` is a capture's WARC ({host}/{hash}/{id}.warc.gz), else None."""
    parts = key.split("/")
    if len(parts) != 3 or not parts[2].endswith(WARC_SUFFIX):
        return None
    capture_id = capture_id_of(key)
    return capture_id if is_capture_id(capture_id) else None


def select_captures(store: Store, selection: Selection, summary: ExportSummary) -> Iterator[SelectedCapture]:
    """The selected captures, oldest first within each article, articles in key order; each WARC
    read once. Legacy captures that match the cheap criteria are counted in `summary`."""
    for key in sorted(store.list(f"{selection.host}/" if selection.host else "")):
        capture_id = _is_capture_key(key)
        if capture_id is None:
            parts = key.split("/")
            if len(parts) == 4 and parts[3] == LEGACY_META_NAME and is_capture_id(parts[2]) \
                    and selection.wants_time(parts[2]):
                summary.skipped_legacy += 1
            continue
        if not selection.wants_time(capture_id):
            continue
        data = store.get(key)
        record = read_warc(data, store.location(key)).record
        if selection.wants_record(record):
            summary.captures += 1
            summary.bytes += len(data)
            yield SelectedCapture(key, data, record)


def export_warc(store: Store, selection: Selection, out: IO[bytes]) -> ExportSummary:
    summary = ExportSummary()
    for capture in select_captures(store, selection, summary):
        out.write(capture.data)
    return summary


def _indexer() -> Any:
    return CDXJIndexer(output=None, inputs=[])


def export_cdxj(store: Store, selection: Selection, out: IO[str]) -> ExportSummary:
    """A sorted CDXJ index; each line's `filename` is the capture's key in the store."""
    summary = ExportSummary()
    writer = SortingWriter(out)
    indexer = _indexer()
    for capture in select_captures(store, selection, summary):
        indexer.force_filename = capture.key
        indexer.process_one(io.BytesIO(capture.data), writer, capture.key)
    writer.flush()
    return summary


def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return f"sha256:{digest.hexdigest()}", size


def _page(record: dict[str, Any]) -> dict[str, Any]:
    page = {"id": record.get("capture_id"), "url": record.get("url"), "ts": record.get("fetched_at"),
            "title": record.get("title")}
    return {k: v for k, v in page.items() if v}


def export_wacz(store: Store, selection: Selection, path: Path, *, title: str = "newsarchive export") -> ExportSummary:
    """A WACZ package at `path` (written beside it under a temporary name, then renamed)."""
    summary = ExportSummary()
    with tempfile.TemporaryDirectory(prefix=".wacz-", dir=path.parent) as work:
        folder = Path(work)
        files = {"archive/data.warc.gz": folder / "data.warc.gz", "indexes/index.cdxj": folder / "index.cdxj",
                 "pages/pages.jsonl": folder / "pages.jsonl"}
        with files["archive/data.warc.gz"].open("wb") as warc, files["pages/pages.jsonl"].open("w") as pages:
            pages.write(json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}) + "\n")
            for capture in select_captures(store, selection, summary):
                warc.write(capture.data)
                pages.write(json.dumps(_page(capture.record), ensure_ascii=False) + "\n")
        with files["indexes/index.cdxj"].open("w") as index, files["archive/data.warc.gz"].open("rb") as warc:
            writer = SortingWriter(index)
            _indexer().process_one(warc, writer, "data.warc.gz")
            writer.flush()
        resources = []
        for name, file in files.items():
            digest, size = _sha256_file(file)
            resources.append({"name": Path(name).name, "path": name, "hash": digest, "bytes": size})
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        package = json.dumps({"profile": "data-package", "wacz_version": WACZ_VERSION, "title": title,
                              "created": now, "modified": now, "software": f"newsarchive {__version__}",
                              "resources": resources}, indent=2).encode("utf-8")
        package_digest = json.dumps({"path": "datapackage.json",
                                     "hash": f"sha256:{hashlib.sha256(package).hexdigest()}"}).encode("utf-8")
        partial = folder / "export.wacz"
        with zipfile.ZipFile(partial, "w") as wacz:
            for name, file in files.items():  # the WARC is gzip already: stored, so replay can seek into it
                compress = zipfile.ZIP_STORED if name.endswith(".gz") else zipfile.ZIP_DEFLATED
                wacz.write(file, name, compress_type=compress)
            wacz.writestr("datapackage.json", package, compress_type=zipfile.ZIP_DEFLATED)
            wacz.writestr("datapackage-digest.json", package_digest, compress_type=zipfile.ZIP_DEFLATED)
        shutil.move(partial, path)
    return summary
