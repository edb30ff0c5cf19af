"""LocalDirStore: objects as files in a folder (the default store).

Each write goes to a temporary file in the same folder, flushed to disk, then renamed over
the object's name, so no reader ever sees a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from crawler.store.base import TEMP_PREFIX, ObjectNotFound, StoreError, check_key


class LocalDirStore:
    """Objects as files under `root`; keys are relative POSIX paths."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_uri(cls, uri: str, settings: Any = None) -> LocalDirStore:
        """A local path or file:///path (file://localhost/path)."""
        parts = urlsplit(uri)
        if parts.scheme.lower() != "file":
            return cls(Path(uri).expanduser())
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file URI must name a local path, not host {parts.netloc!r}: {uri}")
        return cls(Path(unquote(parts.path)).expanduser())

    def _path(self, key: str) -> Path:
        parts = [p for p in check_key(key) if p]
        return self.root.joinpath(*parts)

    @staticmethod
    def _write_temp(path: Path, data: bytes) -> str:
        """Write `data` to a fresh temporary file beside `path`, flushed to disk; return its name."""
        try:  # a capture's folder exists for all but its first file: create it only when missing
            fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:  # disk full, interrupted: leave no partial temp file behind
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return tmp_name

    def put(self, key: str, data: bytes, *, content_type: str, metadata: Mapping[str, str]) -> None:
        path = self._path(key)
        tmp_name = None
        try:
            tmp_name = self._write_temp(path, data)
            os.replace(tmp_name, path)  # readers see the old file or the new one, never half of it
            tmp_name = None
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        finally:
            if tmp_name is not None:
                Path(tmp_name).unlink(missing_ok=True)

    def put_if_absent(self, key: str, data: bytes, *, content_type: str) -> bool:
        path = self._path(key)
        tmp_name = None
        try:
            tmp_name = self._write_temp(path, data)
            os.link(tmp_name, path)  # fails if `path` exists: create-if-absent, complete or not at all
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        finally:
            if tmp_name is not None:
                Path(tmp_name).unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot delete {path}: {exc.strerror or exc}") from exc

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"{path}: no such object") from exc
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix) if prefix.strip("/") else self.root
        if not base.is_dir():
            return
        for dirpath, _dirnames, filenames in os.walk(base):
            for name in filenames:
                if not name.startswith(TEMP_PREFIX):
                    yield (Path(dirpath) / name).relative_to(self.root).as_posix()

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create archive folder {self.root}: {exc.strerror or exc}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreError(f"archive folder {self.root} is not writable")

    def location(self, key: str) -> str:
        return str(self._path(key)) + ("/" if key.endswith("/") else "")
