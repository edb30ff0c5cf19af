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
from crawler.store.base import Store
from crawler.store.selection import Selection, selected_captures
from crawler.store.warc import read_warc

logger = logging.getLogger(__name__)

WACZ_VERSION = "1.1.1"


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


def select_captures(store: Store, selection: Selection, summary: ExportSummary) -> Iterator[SelectedCapture]:
    """The selected captures (crawler.store.selection), oldest first within each article, articles
    in key order; each WARC read once. Legacy captures that match are counted in `summary`."""
    for row in selected_captures(store, selection):
        key = str(row["key"])
        if key.endswith("/"):  # a capture folder of the layout before WARCs
            summary.skipped_legacy += 1
            continue
        data = store.get(key)
        summary.captures += 1
        summary.bytes += len(data)
        yield SelectedCapture(key, data, read_warc(data, store.location(key)).record)


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
