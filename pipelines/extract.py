"""ExtractPipeline: FetchedPage -> ExtractedPage (text and metadata, or why there is none).

Extraction costs tens of milliseconds of CPU per page, so with EXTRACT_WORKERS > 0 it runs
in a pool of worker processes (default: one per CPU), fed through asyncio futures: the
reactor thread never runs it and keeps downloading and uploading meanwhile. Workers receive
the body and return only the extraction (not the body back). EXTRACT_WORKERS = 0 extracts
in-process (one-off archiving of a few URLs, where starting workers would cost more). Both
paths run the same function, crawler.extraction.extract.extract_body, so the text is identical.

Rendering: a page whose site renders (FetchedPage.render) and that should be rendered
(crawler.extraction.appshell.render_reason: always, or auto with no article text in an app
shell) is rendered in a browser (crawler.components.rendering.Renderer) and extracted again
from its DOM. When rendering fails, the page keeps what its fetched HTML gave, flagged. When
the DOM holds clearly less article text than the fetched HTML (appshell.keep_fetched_text: a
script hid or replaced the article), the fetched HTML's text is kept and the DOM only stored.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.extraction.appshell import keep_fetched_text, render_reason
from crawler.extraction.decoding import decode_html
from crawler.extraction.extract import ExtractOptions, extract_body
from crawler.model.items import NOT_THE_PAGE, ExtractedPage, Extraction, FetchedPage
from crawler.store.warc import DOM_CONTENT_TYPE

if TYPE_CHECKING:  # scrapy-playwright is imported only by crawls that render
    from crawler.components.rendering import Renderer

logger = logging.getLogger(__name__)


def _worker_init(parent_pid: int) -> None:
    """Import the extractor before the first page arrives, and leave when the crawl process is
    gone: if it was killed (SIGKILL, OOM), nothing else would stop an idle worker."""
    import threading
    import time

    import crawler.extraction.extract  # noqa: F401

    def watch() -> None:
        while True:
            time.sleep(2)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class ExtractPipeline:
    def __init__(self, options: ExtractOptions, stats: StatsCollector | None = None, workers: int = 0,
                 renderer: Renderer | None = None) -> None:
        self.options = options
        self.stats = stats
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None
        self.renderer = renderer

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        workers = crawler.settings.get("EXTRACT_WORKERS")
        count = (os.cpu_count() or 1) if workers in (None, "", "auto") else int(workers)
        renderer = None
        if crawler.settings.getbool("RENDER_ENABLED"):
            from crawler.components.rendering import Renderer

            renderer = Renderer.from_crawler(crawler)
        return cls(ExtractOptions.from_settings(crawler.settings), crawler.stats, workers=max(count, 0),
                   renderer=renderer)

    def open_spider(self) -> None:
        if self.workers > 0:
            # forkserver: workers are not forked from a process running the reactor's threads
            context = multiprocessing.get_context("forkserver")
            # the forkserver imports the extractor once; each worker forks with it loaded
            context.set_forkserver_preload(["crawler.extraction.extract"])
            self.executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_worker_init,
                                                initargs=(os.getpid(),))

    def close_spider(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        extraction, problem, encoding = await self._extract(item, item.body, item.content_type)
        if item.render is not None and self.renderer is not None:
            item, (extraction, problem, encoding) = await self._render(item, (extraction, problem, encoding))
        if problem and self.stats is not None:
            self.stats.inc_value("extract/empty")
            logger.warning("No article text in %s: %s", item.url, problem)
        return ExtractedPage(item, extraction, problem, encoding)

    async def _extract(self, page: FetchedPage, body: bytes, content_type: str | None
                       ) -> tuple[Extraction | None, str | None, str | None]:
        args = (body, content_type, page.url, page.discovery, self.options)
        if self.executor is None:
            return extract_body(*args)
        return await asyncio.wrap_future(self.executor.submit(extract_body, *args))

    async def _render(self, page: FetchedPage, found: tuple[Extraction | None, str | None, str | None]
                      ) -> tuple[FetchedPage, tuple[Extraction | None, str | None, str | None]]:
        """Render the page if it should be (see the module docstring): the page with its
        Rendering, and what extraction found in the DOM (or, when rendering failed, in the
        fetched HTML, flagged)."""
        assert page.render is not None and self.renderer is not None
        extraction, problem, encoding = found
        text_found = bool(extraction and extraction.text)
        wall = bool(extraction and extraction.access in NOT_THE_PAGE)
        html = None
        if extraction is not None:  # HTML that parsed; decoded again only to look for an app shell
            maybe_shell = page.render.mode == "auto" and not text_found and not wall
            html = decode_html(page.body, page.content_type)[0] if maybe_shell else ""
        reason = render_reason(page.render.mode, text_found=text_found, wall=wall, html=html)
        if reason is None:
            return page, found
        rendering = await self.renderer.render(page, reason)
        page = replace(page, rendering=rendering)
        if rendering.dom is None:
            flag = f"rendering failed ({rendering.error}): the capture holds the page as fetched"
            return page, (extraction, f"{problem}; {flag}" if problem else flag, encoding)
        dom_extraction, dom_problem, _ = await self._extract(page, rendering.dom, DOM_CONTENT_TYPE)
        fetched_chars = len(extraction.text) if extraction is not None else 0
        dom_chars = len(dom_extraction.text) if dom_extraction is not None else 0
        if keep_fetched_text(fetched_chars, bool(problem), dom_chars, bool(dom_problem)):
            logger.info("Rendered %s holds less article text than its fetched HTML (%d chars against %d%s): "
                        "keeping the fetched text", page.url, dom_chars, fetched_chars,
                        f"; {dom_problem}" if dom_problem else "")
            return replace(page, rendering=replace(rendering, text_from="fetched")), found
        return page, (dom_extraction, dom_problem, encoding)  # the encoding the fetched bytes were sent in
