"""The Store interface, its errors, and opening a store by URI (backends are plugins).

* open_store(uri, settings) picks the backend class for the URI's scheme from the
  ARCHIVE_STORES_BASE and ARCHIVE_STORES settings (scheme -> class path, as Scrapy's
  FEED_STORAGES): "" and file -> crawler.store.local.LocalDirStore, s3 ->
  crawler.store.s3.S3Store. Another backend is a class with from_uri(uri, settings) named in
  ARCHIVE_STORES, not an edit here.
* Every backend error becomes a StoreError naming the object and the cause, in one line.

I/O at the edge: nothing in the pure core imports a backend.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

TEMP_PREFIX = ".tmp-"


class StoreError(Exception):
    """A store operation failed; the message names the object or bucket and the cause."""


class ObjectNotFound(StoreError):
    pass


class Store(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str, metadata: Mapping[str, str]) -> None: ...

    def put_if_absent(self, key: str, data: bytes, *, content_type: str) -> bool:
        """Create `key` only if it does not exist yet (atomically); False if it existed."""
        ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None:
        """Remove `key`; no error if it is already gone."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[str]:
        """Every key under `prefix` (a folder-like prefix ending in "/" or ""), any order."""
        ...

    def check(self) -> None:
        """Raise StoreError unless the store can be reached and written to (cheap)."""
        ...

    def location(self, key: str) -> str:
        """Where `key` is, for people: a path or an s3:// URI."""
        ...


def check_key(key: str) -> list[str]:
    parts = key.split("/")
    if key.startswith("/") or any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", ".."):
        raise StoreError(f"refusing unsafe key {key!r}")
    return parts


class StoreFactory(Protocol):
    def from_uri(self, uri: str, settings: Any) -> Store: ...


def store_classes(settings: Any) -> dict[str, str]:
    """Scheme -> backend class path: ARCHIVE_STORES_BASE overlaid with ARCHIVE_STORES."""
    return {scheme.lower(): path for scheme, path in settings.getwithbase("ARCHIVE_STORES").items() if path}


def open_store(uri: str, settings: Any) -> Store:
    """The store `uri` names (a local path, file:///path, s3://bucket[/prefix], or a plugin's
    scheme), configured from `settings` (a Scrapy Settings). ValueError for an unusable URI."""
    classes = store_classes(settings)
    scheme = urlsplit(uri).scheme.lower()
    if scheme not in classes:
        supported = ", ".join(f"{s}://" for s in sorted(classes) if s)
        local = " or a local path" if "" in classes else ""
        raise ValueError(f"unsupported store URI {uri!r}: use {supported}{local}")
    factory: StoreFactory = pkgutil.resolve_name(classes[scheme])
    return factory.from_uri(uri, settings)


def store_from_settings(settings: Any) -> Store:
    """The store the ARCHIVE_URI setting names."""
    return open_store(settings.get("ARCHIVE_URI"), settings)
