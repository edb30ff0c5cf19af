"""The web UI (`newsarchive serve`) in a real browser: Debian's Chromium driven by Playwright.

The local news site is crawled twice (edition 2 edits an old article), a hostile page is
archived once, then the real `newsarchive serve` runs on a free port. A person's path is
clicked through (home, site, article, diff); the hostile page's tricks must not reach the UI.
With NEWSARCHIVE_SCREENSHOTS=DIR set, each page type's screenshot is saved there (the README's).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import newsarchive_command, run_cli
from tests.newssite import NewsSite, paragraphs
from tests.servers import Site, serve_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE_PATH = "/news/2026/12/hostile-headline.html"
STORY = " ".join(["The harbour board met on Tuesday to discuss the new ferry timetable and its costs."] * 8)
HOSTILE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Ferry timetable &lt;b&gt;bold&lt;/b&gt; changes</title>
<meta property="og:type" content="article"></head>
<body><h1>Ferry timetable <img src="x" onerror="parent.document.title='pwned-img';fetch('/steal?via=img')"> changes</h1>
<script>
document.title = 'pwned-title';
try {{ parent.document.title = 'pwned-parent'; parent.document.body.innerHTML = 'pwned'; }} catch (e) {{}}
try {{ document.cookie = 'stolen=1; path=/'; }} catch (e) {{}}
try {{ parent.postMessage('pwned', '*'); }} catch (e) {{}}
fetch('/steal?via=fetch').catch(function () {{}});
fetch('/runs').then(function (r) {{ return r.text(); }}).then(function (t) {{
  fetch('/steal?via=read&n=' + t.length); }}).catch(function () {{}});
</script>
<article><p>{STORY}</p><p>{STORY}</p></article></body></html>
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="module")
def archived(work: Path) -> Iterator[tuple[NewsSite, Site]]:
    (work / "site").mkdir()
    with serve_site(work / "site") as served:
        site = NewsSite(work / "site", served.url)
        site.publish(1)
        (work / "sites.toml").write_text(site.sites_toml())
        env = {"NEWSARCHIVE_SPOOL_DIR": str(work / "spool")}
        assert run_cli(["crawl", "--sites", "sites.toml"], cwd=work, env=env).returncode == 0
        site.publish(2)  # an old article gets an "Update:" paragraph
        assert run_cli(["crawl", "--sites", "sites.toml"], cwd=work, env=env).returncode == 0
        hostile = work / "site" / HOSTILE_PATH.lstrip("/")
        hostile.write_text(HOSTILE, encoding="utf-8")
        assert run_cli(["archive", served(HOSTILE_PATH)], cwd=work, env=env).returncode == 0
        yield site, served


@pytest.fixture(scope="module")
def ui(work: Path, archived: Any) -> Iterator[str]:
    """`newsarchive serve` on a free port; its base URL."""
    proc = subprocess.Popen([newsarchive_command(), "serve", "--store", "archive", "--port", "0"], cwd=work,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"read-only at (http://127\.0\.0\.1:\d+/)", line)
    assert match, line
    try:
        yield match.group(1).rstrip("/")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


def snap(page: Page, name: str) -> None:
    folder = os.environ.get("NEWSARCHIVE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def test_from_home_to_the_diff_of_an_edited_article(page: Page, ui: str, archived: tuple[NewsSite, Site]) -> None:
    site, _ = archived
    edited = site.articles[10]
    update = paragraphs(edited, True)[2]
    page.goto(ui + "/")
    assert page.title() == "Sites · newsarchive"
    assert page.locator("svg.chart rect").count() >= 1  # the captures-per-day chart, drawn on the server
    row = page.locator("#sites tbody tr", has_text="harbor")
    assert row.locator("td").nth(1).inner_text() == str(len(site.all))  # 35 articles
    # the page archived by hand, with no sites-file name, is listed under its host
    assert page.locator("#sites tbody tr").count() == 2
    snap(page, "home")
    page.click("a.site-link:has-text('harbor')")
    assert page.locator("#articles tbody tr").count() == len(site.all)
    page.fill("input[name=q]", "Story 10:")
    page.click("button[type=submit]")
    assert page.locator("#articles tbody tr").count() == 1
    snap(page, "site")
    page.click(f"text={edited.title}")
    assert page.locator("#headline").inner_text() == edited.title
    assert page.locator("#timeline tbody tr").count() == 2
    assert update in page.locator("article.text").inner_text()  # the newest capture's text
    snap(page, "article")
    page.click("text=What changed in the newest capture")
    inserted = page.locator("#text-diff ins")
    assert inserted.count() == 1 and inserted.inner_text() == update  # the edit, highlighted inline
    assert page.locator("#text-diff del").count() == 0
    snap(page, "diff")
    page.goto(ui + "/runs")
    assert page.locator("#runs tbody tr").count() == 2  # two crawl runs, one site each
    snap(page, "runs")


@pytest.mark.parametrize("scripts", [False, True], ids=["plain", "scripted"])
def test_an_archived_page_cannot_touch_the_ui(page: Page, ui: str, archived: tuple[NewsSite, Site],
                                              scripts: bool) -> None:
    _, served = archived
    attempts: list[str] = []
    page.route("**/steal*", lambda route: (attempts.append(route.request.url), route.abort()))
    page.on("request", lambda request: attempts.append(request.url) if "steal" in request.url else None)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(ui + "/site/127.0.0.1_" + served.url.rsplit(":", 1)[1])
    link = page.locator("a.article-link")
    # a value from the capture is shown as text: the markup in the title is not markup here
    assert link.inner_text() == "Ferry timetable <b>bold</b> changes"
    assert page.locator("a.article-link b").count() == 0
    link.click()
    assert page.locator("img[src=x]").count() == 0
    page.click("text=page as captured")
    if scripts:
        page.click("text=run the page's inline scripts (sandboxed)")
    frame = page.frame_locator("#archived")
    assert "Ferry timetable" in frame.locator("h1").inner_text()  # the page itself is shown
    page.wait_for_timeout(1500)  # time for its scripts and its image's onerror to try
    archived_frame = next(f for f in page.frames if "/raw?" in f.url)
    # in the scripted view the scripts did run (in their sandbox); in the plain view they did not
    assert archived_frame.evaluate("document.title") == ("pwned-title" if scripts else
                                                          "Ferry timetable <b>bold</b> changes")
    assert page.title().endswith("· newsarchive") and "pwned" not in page.title()
    assert "pwned" not in page.locator("body").inner_text()
    assert page.context.cookies() == []
    assert attempts == [] and dialogs == []
    snap(page, "page-scripted" if scripts else "page")
    # opened on its own (as "open frame in new tab" does), the page is still in a sandbox of its own
    page.goto(archived_frame.url)
    page.wait_for_timeout(1000)
    assert page.context.cookies() == [] and attempts == [] and dialogs == []
    assert page.evaluate("document.domain") == ""  # an opaque origin, not the UI's


def test_the_ui_is_read_only_and_keeps_to_the_store(ui: str) -> None:
    def status(method: str, path: str) -> int:
        request = urllib.request.Request(ui + path, method=method)
        try:
            with urllib.request.urlopen(request) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    assert status("GET", "/") == 200 and status("HEAD", "/") == 200
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        assert status(method, "/") == 405, method
        assert status(method, "/raw?url=x") == 405, method
    # no path parameter reaches a file: captures are found from the URL through the store's keys
    for path in ("/static/../../pyproject.toml", "/site/..%2f..%2fetc", "/raw?url=../../../etc/passwd",
                 "/warc?url=file:///etc/passwd&capture=x", "/article?url=/etc/passwd"):
        assert status("GET", path) in (400, 404), path


def test_serve_says_where_it_listens_and_warns_off_loopback(work: Path, archived: Any) -> None:
    proc = subprocess.Popen([newsarchive_command(), "serve", "--store", "archive", "--host", "0.0.0.0",
                             "--port", "0"], cwd=work, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    try:
        first, second = proc.stderr.readline(), proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "read-only at http://0.0.0.0:" in first
    assert second.startswith("Warning: listening on 0.0.0.0: anyone who can reach this machine can read")
