"""The browser itself: scrapy-playwright's download handler, launched late and restartable.

Imported and built by crawler.components.rendering.RenderingHandler at the first render of a
crawl (which also holds the limits and the hang watchdog), so a crawl that renders nothing
never loads Playwright. On top of scrapy-playwright: the browser is launched at the first
render, not when the engine starts, and `restart` closes (or drops) a hung browser so the next
render launches a new one. A crashed browser is relaunched by scrapy-playwright itself
(PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

logger = logging.getLogger(__name__)


class BrowserHandler(ScrapyPlaywrightDownloadHandler):  # type: ignore[misc]
    """Renders requests marked `playwright` in Chromium (PLAYWRIGHT_* settings: see render_settings)."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.start_lock = asyncio.Lock()
        self.started = False

    async def _maybe_launch_in_thread(self) -> None:
        """Not at engine start: at the first render."""

    def _engine_started(self) -> Any:
        return None

    async def download_request(self, request: Request) -> Response:
        async with self.start_lock:
            if not self.started:
                await self._launch()
                self.started = True
        response: Response = await super().download_request(request)
        return response

    async def restart(self) -> None:
        """Close the browser (it stopped answering); the next render launches a new one."""
        browser = getattr(self, "browser", None)
        if browser is None:
            return
        logger.warning("Rendering: the browser stopped answering; closing it (the next page launches a new one)")
        self.stats.inc_value("render/browser_restarts")
        try:
            await asyncio.wait_for(browser.close(), 10)
        except Exception as exc:
            logger.warning("Rendering: closing the hung browser failed (%s): dropping it", exc)
        self.context_wrappers.clear()
        if getattr(self, "browser", None) is browser:
            del self.browser
