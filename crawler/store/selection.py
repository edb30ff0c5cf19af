"""Which captures a command works on: `ls`, and every `export` format, select the same way.

The catalog (crawler.store.catalog) answers without opening a capture. A store that has no
catalog yet (written before it existed) is walked instead, capture by capture, with a warning
that `newsarchive index --rebuild` makes it fast.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crawler.model.keys import parse_capture_id
from crawler.model.urls import normalise_url
from crawler.store.base import Store
from crawler.store.catalog import Article, articles, read_rows, scan_rows, segment_keys

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which captures; every criterion given must hold."""

    host: str | None = None
    """The host folder (as in the key layout: `example.com`, `127.0.0.1_8080`)."""
    url_prefix: str | None = None
    """The capture's URL (requested, final or identity, normalised) starts with this."""
    site: str | None = None
    """The sites-file name the capture was crawled for."""
    since: datetime | None = None
    until: datetime | None = None
    """Fetched at or after `since`, before `until` (UTC)."""
    kind: str | None = None
    """article, index or other."""
    changed: bool = False
    """Only articles whose text changed between two of their captures."""
    latest: bool = False
    """One capture per article: its newest selected one."""

    def wants_time(self, capture_id: str) -> bool:
        fetched = parse_capture_id(capture_id)
        return (self.since is None or fetched >= self.since) and (self.until is None or fetched < self.until)

    def wants_row(self, row: Mapping[str, Any]) -> bool:
        if not self.wants_time(str(row["capture_id"])):
            return False
        if self.site is not None and row.get("site") != self.site:
            return False
        if self.kind is not None and row.get("kind") != self.kind:
            return False
        if self.url_prefix is None:
            return True
        prefix = normalise_url(self.url_prefix)
        urls = (row.get("requested_url"), row.get("url"), row.get("identity_url"))
        return any(isinstance(u, str) and normalise_url(u).startswith(prefix) for u in urls)


SELECTION_COLUMNS = ("event", "capture_id", "key", "identity_url", "url", "requested_url", "site", "kind", "change",
                     "fetched_at", "checked_at")
"""The catalog columns a selection looks at; a caller names the others it needs."""


def catalog_rows(store: Store, host: str | None = None, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The catalog's rows (only `columns` besides SELECTION_COLUMNS, when given: a row's dict
    is most of what a big catalog costs in memory), or the captures' own when the store has no
    catalog."""
    if segment_keys(store, host):
        return read_rows(store, host, columns=None if columns is None else [*SELECTION_COLUMNS, *columns])
    logger.warning("No catalog in %s: reading every capture (run `newsarchive index --rebuild` once to make "
                   "this fast)", store.location(""))
    return list(scan_rows(store, host))


def selected_articles(store: Store, selection: Selection, columns: Sequence[str] | None = None) -> list[Article]:
    """The articles with at least one selected capture, each holding only its selected captures
    (oldest first), newest article first; `columns`: the catalog columns the caller needs
    (default: all)."""
    found = []
    for article in articles(catalog_rows(store, selection.host, columns)).values():
        if selection.changed and not article.changed:
            continue
        article.captures = [c for c in article.captures if selection.wants_row(c)]
        if article.captures:
            found.append(article)
    found.sort(key=lambda a: str(a.latest["capture_id"]), reverse=True)
    return found


def selected_captures(store: Store, selection: Selection,
                      columns: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """The selected captures' catalog rows, by article (key order), oldest first within each;
    with `latest`, each article's newest selected capture only."""
    chosen = selected_articles(store, selection, columns)
    chosen.sort(key=lambda a: str(a.latest["key"]).rsplit("/", 1)[0])
    for article in chosen:
        yield from (article.captures[-1:] if selection.latest else article.captures)
