"""ArchiveStore: the crawl's one store, opened from the ARCHIVE_URI setting (a Scrapy extension).

The spider (pointer reads while deciding), the archive pipeline (captures) and the run manifest
(manifest parts, summary) all write through the same store, and so over one S3 client and its
connection pool. They look it up with crawler_store(crawler), after the extensions are built:
in a component's from_crawler, or in a spider once it runs.
"""

from __future__ import annotations

from typing import Any, Self

from scrapy.crawler import Crawler

from crawler.store.base import Store, store_from_settings


class ArchiveStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(store_from_settings(crawler.settings))


def crawler_store(crawler: Any) -> Store:
    """The store of `crawler`'s ArchiveStore extension."""
    extension: ArchiveStore | None = crawler.get_extension(ArchiveStore)
    if extension is None:
        raise RuntimeError("the ArchiveStore extension is disabled in EXTENSIONS: nothing can be stored")
    return extension.store
