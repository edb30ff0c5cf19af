"""Captures out as a dataset: one row per capture (or per article), as JSON Lines or Parquet.

A row is the capture's catalog fields plus its clean text (read from the capture's WARC, or
from an older capture folder) and where the WARC is. Rows are written as they are read, a
Parquet row group every PARQUET_BATCH rows: memory holds the catalog's rows (small) and one
batch of texts, never the whole export.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from crawler.store.base import Store
from crawler.store.captures import CaptureRef, read_capture
from crawler.store.catalog import arrow_schema

FIELDS: dict[str, str] = {
    "url": "string", "identity_url": "string", "capture_id": "string", "fetched_at": "string", "site": "string",
    "title": "string", "authors": "list", "published": "string", "modified": "string", "language": "string",
    "kind": "string", "access": "string", "problem": "string", "text": "string", "words": "int",
    "text_sha256": "string", "warc": "string",
}
"""The columns of a dataset row, in order. `warc` is the capture's location (a path or s3:// URI);
for a capture stored before captures were WARC files, its folder."""
PARQUET_BATCH = 500
DATASET_COLUMNS = tuple(name for name in FIELDS if name not in ("text", "warc"))
"""The catalog columns a dataset row takes."""


@dataclass
class DatasetSummary:
    rows: int = 0
    text_bytes: int = 0


def dataset_rows(store: Store, selected: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """The dataset row of each selected capture (catalog rows, crawler.store.selection)."""
    for row in selected:
        key = str(row["key"])
        capture = read_capture(store, CaptureRef(str(row["capture_id"]), key))
        yield {
            **{name: row.get(name) for name in FIELDS if name not in ("text", "warc")},
            "text": capture.text, "warc": store.location(key),
        }


def export_jsonl(store: Store, selected: Iterable[Mapping[str, Any]], out: IO[str],
                 progress: Callable[[int], None] | None = None) -> DatasetSummary:
    summary = DatasetSummary()
    for row in dataset_rows(store, selected):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        _count(summary, row, progress)
    return summary


def export_parquet(store: Store, selected: Iterable[Mapping[str, Any]], out: IO[bytes],
                   progress: Callable[[int], None] | None = None) -> DatasetSummary:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(FIELDS)
    summary = DatasetSummary()
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for row in dataset_rows(store, selected):
            batch.append(row)
            _count(summary, row, progress)
            if len(batch) >= PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch or not summary.rows:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return summary


def _count(summary: DatasetSummary, row: dict[str, Any], progress: Callable[[int], None] | None) -> None:
    summary.rows += 1
    summary.text_bytes += len((row.get("text") or "").encode("utf-8"))
    if progress is not None:
        progress(1)
