"""ExtractPipeline: FetchedPage -> ExtractedPage (text and metadata, or why there is none)."""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.extraction import ExtractOptions, extract_page
from crawler.items import FetchedPage

logger = logging.getLogger(__name__)


class ExtractPipeline:
    def __init__(self, options: ExtractOptions, stats: StatsCollector | None = None) -> None:
        self.options = options
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(ExtractOptions.from_settings(crawler.settings), crawler.stats)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        extracted = extract_page(item, self.options)
        if extracted.problem and self.stats is not None:
            self.stats.inc_value("extract/empty")
            logger.warning("No article text in %s: %s", item.url, extracted.problem)
        return extracted
