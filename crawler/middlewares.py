"""Downloader middlewares of our own.

RobotsTxtMiddleware works around a Scrapy bug (seen in 2.19.0): while robots.txt for a
host is being fetched, every request to that host waits on one shared Deferred, each
through maybe_deferred_to_future(), whose callback returns None. So only the first
waiter receives the parsed robots.txt; the others receive None, which means "allowed",
and a disallowed URL requested together with others on the same host was fetched.
Here each waiter gets its own Deferred and the shared one passes its result on.
"""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxtMiddleware
from scrapy.http import Request
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class RobotsTxtMiddleware(_ScrapyRobotsTxtMiddleware):
    async def robot_parser(self, request: Request) -> Any:
        shared = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(shared, Deferred):
            return await super().robot_parser(request)
        mine: Deferred[Any] = Deferred()

        def relay(result: Any) -> Any:
            mine.callback(result)
            return result  # keep the result for the next waiter

        shared.addCallback(relay)
        return await maybe_deferred_to_future(mine)
