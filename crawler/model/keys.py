"""Where a capture's objects go in the store (pure).

Layout, relative to the store's root or prefix::

    {host}/{url_hash}/{capture_id}.warc.gz     the capture: one WARC file (crawler.store.warc)
    {host}/{url_hash}/latest.json              pointer to the article's newest capture

Archives written before WARC captures hold a folder per capture instead, which readers still
read: ``{host}/{url_hash}/{capture_id}/`` with ``raw.gz``, ``text.txt`` and ``meta.json``.

* ``host``: the URL's host, lowercased, IDNA-encoded, ``_port`` appended for a non-default
  port; only ``[a-z0-9.-_]`` survive.
* ``url_hash``: first 32 hex digits of the SHA-256 of the normalised URL
  (crawler.model.urls.normalise_url: no tracking parameters, fragment or AMP suffix).
  Captures are filed under the article's identity URL (its believable rel=canonical, else
  the final URL); every other URL it was reached by (requested, redirected-from) gets a
  ``latest.json`` of its own pointing at the same captures, so a lookup by any of them is
  one GET, never a listing.
* ``capture_id``: the fetch time in UTC, ``YYYYMMDDTHHMMSSffffffZ``: sorting the ids
  sorts the captures by time.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from crawler.model.urls import canonical_url, normalise_url

POINTER_NAME = "latest.json"
WARC_SUFFIX = ".warc.gz"
# the folder-per-capture layout of earlier versions, read but no longer written
LEGACY_RAW_NAME = "raw.gz"
LEGACY_TEXT_NAME = "text.txt"
LEGACY_META_NAME = "meta.json"

_CAPTURE_ID_FORMAT = "%Y%m%dT%H%M%S%fZ"
_CAPTURE_ID_RE = re.compile(r"^\d{8}T\d{12}Z$")
_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def host_part(url: str) -> str:
    """The sanitised host (and non-default port) of `url`, safe as one path segment."""
    parts = urlsplit(canonical_url(url))
    host = _UNSAFE.sub("_", (parts.hostname or "").lower()).strip("._") or "_"
    if parts.port is not None:
        host = f"{host}_{parts.port}"
    return host


def url_prefix(url: str) -> str:
    """The prefix shared by every capture of `url`, ending in "/"."""
    digest = hashlib.sha256(normalise_url(url).encode("utf-8")).hexdigest()[:32]
    return f"{host_part(url)}/{digest}/"


def pointer_key(url: str) -> str:
    """Where the pointer to `url`'s newest capture lives."""
    return url_prefix(url) + POINTER_NAME


def capture_id(fetched_at: datetime) -> str:
    """A sortable id from a fetch time (naive times are taken as UTC)."""
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    return fetched_at.astimezone(UTC).strftime(_CAPTURE_ID_FORMAT)


def is_capture_id(text: str) -> bool:
    return bool(_CAPTURE_ID_RE.match(text))


def capture_key(url: str, fetched_at: datetime) -> str:
    """The key of the capture of `url` fetched at `fetched_at`."""
    return f"{url_prefix(url)}{capture_id(fetched_at)}{WARC_SUFFIX}"


def capture_id_of(key: str) -> str:
    """The capture id in a capture's key (or a legacy capture folder's)."""
    return key.rstrip("/").rsplit("/", 1)[-1].removesuffix(WARC_SUFFIX)


def parse_capture_id(text: str) -> datetime:
    """Inverse of capture_id()."""
    return datetime.strptime(text, _CAPTURE_ID_FORMAT).replace(tzinfo=UTC)
