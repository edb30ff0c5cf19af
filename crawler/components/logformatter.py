"""QuietLogFormatter: Scrapy's LogFormatter without the per-page DEBUG lines below DEBUG.

Scrapy logs "Crawled (200) <GET ...>" and "Scraped from <200 ...>" with the whole item for
every page at DEBUG. Its handler drops them at any other LOG_LEVEL, but only after each record
was built, since the root logger stays at NOTSET: ~0.1 ms per page for lines nobody sees
(a py-spy profile of bench/throughput.py). Returning None is Scrapy's documented way to skip a message.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure


class QuietLogFormatter(LogFormatter):
    def __init__(self, per_page: bool = True) -> None:
        self.per_page = per_page

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        level = crawler.settings.get("LOG_LEVEL")
        number = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
        return cls(per_page=not isinstance(number, int) or number <= logging.DEBUG)

    # Scrapy's annotations leave out the None its documentation allows.
    def crawled(self, request: Request, response: Response,  # type: ignore[override]
                spider: Spider) -> LogFormatterResult | None:
        return super().crawled(request, response, spider) if self.per_page else None

    def scraped(self, item: Any, response: Response | Failure | None,  # type: ignore[override]
                spider: Spider) -> LogFormatterResult | None:
        return super().scraped(item, response, spider) if self.per_page else None
