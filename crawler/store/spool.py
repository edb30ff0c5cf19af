"""A durable local spool for captures the store could not take (S3 down, bucket unreachable).

Each spooled capture is one folder: its objects in write order (the capture's WARC, then the
latest.json pointers) as files, and entry.json describing them; entries spooled by earlier
versions (raw, text, meta.json) replay the same way. A folder is written under
a temporary name and renamed, so a crash leaves either a whole entry or none. Flushing
replays entries oldest first into the store and deletes each one only after every object of
it was written; it stops at the first store error (still down) and leaves the rest.

Replays are idempotent: the same keys with the same bytes. Two cases need a look first:
  * a pointer is written only if the store's pointer is not newer (a later run may have
    captured the article meanwhile);
  * with skip_unchanged, a capture whose text equals the store's newest capture is dropped
    (it was spooled before the pointer could be read).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.model.keys import LEGACY_META_NAME, WARC_SUFFIX
from crawler.store.base import Store, StoreError
from crawler.store.captures import read_pointer, read_pointer_at
from crawler.store.catalog import CatalogWriter, catalog_row
from crawler.store.records import StoredObject, same_content
from crawler.store.warc import read_warc

logger = logging.getLogger(__name__)

ENTRY = "entry.json"


def default_spool_root(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "newsarchive" / "spool"


def spool_for(settings: Any, store: Store) -> Spool:
    """The spool of `store`, under the ARCHIVE_SPOOL_DIR setting (None: default_spool_root())."""
    return Spool(spool_dir(Path(settings.get("ARCHIVE_SPOOL_DIR") or default_spool_root()), store))


def spool_dir(root: Path, store: Store) -> Path:
    """One folder per store, named after it, so a flush replays into the store it was meant for."""
    where = store.location("")
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", where).strip("._")[-60:]
    return root / f"{label}-{hashlib.sha256(where.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class FlushResult:
    written: int
    """Entries replayed into the store (or dropped as unchanged)."""
    remaining: int
    error: str | None = None


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir() if p.is_dir() and (p / ENTRY).is_file())

    def __len__(self) -> int:
        return len(self.entries())

    def add(self, objects: list[StoredObject], *, pointers: list[StoredObject], info: dict[str, Any]) -> Path:
        """Keep a capture that could not be stored; raises OSError if even that fails."""
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.path))
        try:
            described = []
            for number, obj in enumerate([*objects, *pointers]):
                name = f"{number:03d}.bin"
                (tmp / name).write_bytes(obj.data)
                described.append({"key": obj.key, "file": name, "content_type": obj.content_type,
                                  "metadata": dict(obj.metadata), "pointer": number >= len(objects)})
            with open(tmp / ENTRY, "w", encoding="utf-8") as handle:
                json.dump({**info, "objects": described}, handle, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            final = self.path / f"{info.get('capture_id', 'capture')}-{tmp.name[5:]}"
            os.rename(tmp, final)
            return final
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def flush(self, store: Store, *, catalog: CatalogWriter | None = None) -> FlushResult:
        """Replay every entry into `store`, oldest first; stop at the first store error. Each
        capture written gets its row in `catalog`."""
        entries = self.entries()
        for done, entry in enumerate(entries):
            try:
                info = json.loads((entry / ENTRY).read_text(encoding="utf-8"))
                outcome = _replay(store, entry, info)
            except StoreError as exc:
                return FlushResult(done, len(entries) - done, str(exc))
            if outcome == "written" and catalog is not None:
                _catalog_rows(store, entry, info, catalog)
            shutil.rmtree(entry)
        return FlushResult(len(entries), 0)


def _catalog_rows(store: Store, entry: Path, info: dict[str, Any], catalog: CatalogWriter) -> None:
    """The catalog row of the capture an entry held (its WARC; an older entry's meta.json)."""
    for obj in info["objects"]:
        data = (entry / obj["file"]).read_bytes()
        try:
            if obj["key"].endswith(WARC_SUFFIX):
                catalog.add(catalog_row(read_warc(data, store.location(obj["key"])).record, obj["key"]))
            elif obj["key"].endswith("/" + LEGACY_META_NAME):
                catalog.add(catalog_row(json.loads(data), obj["key"].rsplit("/", 1)[0] + "/"))
        except ValueError as exc:  # the capture is stored; `index --rebuild` will say what is wrong with it
            logger.warning("No catalog row for %s: %s", store.location(obj["key"]), exc)


def _replay(store: Store, entry: Path, info: dict[str, Any]) -> str:
    identity = info.get("identity")
    current = read_pointer(store, identity) if identity else None
    digests = (str(info.get("raw_sha256")), info.get("text_sha256") or None)
    if current and info.get("skip_unchanged") and same_content(current, digests):
        return "unchanged"
    for obj in info["objects"]:
        if obj["pointer"]:
            existing = read_pointer_at(store, obj["key"])
            if existing and str(existing.get("capture_id", "")) > str(info.get("capture_id", "")):
                continue  # the store already points at a newer capture
        store.put(obj["key"], (entry / obj["file"]).read_bytes(), content_type=obj["content_type"],
                  metadata=obj["metadata"])
    return "written"
