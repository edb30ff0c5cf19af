"""Pages whose article a script builds: rendered in Debian's Chromium (scrapy-playwright), kept as
fetched *and* as rendered, with bounded cost and no capture lost when the browser fails.

The local site (tests/site/app/, served on 127.0.0.1) has an app shell built from inline JSON,
one that fetch()es its article from the site's API after load, a server-rendered article, a
page that never finishes loading and one whose image takes 4 s. "localhost" on the same port
is the third party: a request reaching it under that name would show in the server's log.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.components.rendering import describe_render_failure, host_allowed, own_hosts, render_settings
from crawler.extraction.appshell import keep_fetched_text, render_reason, shell_evidence
from crawler.planning.sitesfile import SiteConfigError, parse_sites
from crawler.store.warc import read_warc
from tests.conftest import SITE_ROOT, newsarchive_command, project_settings, run_cli
from tests.servers import Site, serve_site

APP = SITE_ROOT / "app"
THIRD_PARTY = ("/fonts/brand.css", "/track.js")


@pytest.fixture
def app_site(tmp_path: Path) -> Iterator[Site]:
    """tests/site/app served on 127.0.0.1, its third party on localhost (same port), with a feed of
    its articles and a sites.toml (render = "auto") in tmp_path."""
    root = tmp_path / "root"
    with serve_site(root) as served:
        port = served.url.rsplit(":", 1)[1]
        for source in APP.rglob("*"):
            target = root / "app" / source.relative_to(APP)
            if source.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes().replace(b"__THIRD_PARTY__", port.encode()))
        (root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
        items = "".join(f"<item><title>{name}</title><link>{served.url}/app/{name}.html</link>"
                        "<pubDate>Mon, 30 Nov 2026 08:00:00 +0000</pubDate></item>"
                        for name in ("inline-json", "api-fetch", "server-rendered"))
        (root / "app" / "feed.xml").write_text(f'<?xml version="1.0"?><rss version="2.0"><channel>'
                                               f"<title>Harbour Daily</title>{items}</channel></rss>")
        (tmp_path / "sites.toml").write_text(
            f'[[site]]\nname = "harbour"\nfeeds = ["{served.url}/app/feed.xml"]\nrender = "auto"\n')
        yield served


def archive(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return run_cli(["archive", *args], cwd=tmp_path, env={"NEWSARCHIVE_SPOOL_DIR": str(tmp_path / "spool")},
                   timeout=timeout)


def record_of(tmp_path: Path, url: str) -> dict[str, Any]:
    shown = run_cli(["show", url, "--json"], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr.decode()
    return dict(json.loads(shown.stdout))


def warc_of(tmp_path: Path, proc: subprocess.CompletedProcess[bytes], url: str) -> bytes:
    """The WARC of the capture `archive` (run in tmp_path) printed for `url`."""
    line = next(line for line in proc.stdout.decode().splitlines() if f" {url} " in line)
    where = line.rsplit(" -> ", 1)[1] if " -> " in line else line.rsplit(" stored at ", 1)[1]
    return (tmp_path / where).read_bytes()


def records(warc: bytes) -> list[tuple[str, str, bytes]]:
    return [(entry.rec_type, str(entry.rec_headers.get_header("WARC-Target-URI")), entry.content_stream().read())
            for entry in ArchiveIterator(io.BytesIO(warc))]


# --- end to end ------------------------------------------------------------------------


def test_an_article_built_from_inline_json(tmp_path: Path, app_site: Site) -> None:
    url = app_site("/app/inline-json.html")
    proc = archive(tmp_path, "--render", url)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().startswith("archived ")
    assert f"{url} [200] rendered in " in proc.stdout.decode()  # the person running it sees it was rendered
    record = record_of(tmp_path, url)
    assert record["title"] == "Night ferry returns to the northern islands after a three-year pause"
    assert record["authors"] == ["Maren Holt"] and record["published"] == "2026-11-30T07:15:00+01:00"
    text = run_cli(["show", url], cwd=tmp_path).stdout.decode()
    assert text.startswith("The night ferry between the harbour and the northern islands will sail again")
    assert "fares would stay at the 2023 level" in text
    rendered = record["rendered"]
    assert rendered["ok"] and rendered["error"] is None and rendered["ms"] > 0
    assert rendered["reason"] == "render = always"
    assert rendered["requests"] == 1  # its own script; the document itself came from the fetch
    assert rendered["blocked"] == 2  # the third party's font and tracker
    # the server saw the page once (the browser got the fetched bytes), its script, and no third party
    assert app_site.requests.count("/app/inline-json.html") == 1
    assert "/app/render.js" in app_site.requests
    assert not [path for path in app_site.requests if path in THIRD_PARTY]
    # the WARC: the response as fetched, and the DOM the script built, referring to it
    warc = warc_of(tmp_path, proc, url)
    kinds = records(warc)
    response = next(body for kind, target, body in kinds if kind == "response" and target == url)
    assert response == (app_site.root / "app" / "inline-json.html").read_bytes()
    dom = next(body for kind, target, body in kinds if kind == "conversion" and target == f"urn:dom:{url}")
    assert b"<article><h1>Night ferry returns" in dom and b'<div id="root"></div>' not in dom
    capture = read_warc(warc)
    assert capture.body == response and capture.dom == dom and capture.text == text.rstrip("\n")
    assert capture.record["rendered"]["dom"]["size"] == len(dom)


def test_the_rendered_page_is_what_show_and_the_web_ui_give_back(tmp_path: Path, app_site: Site) -> None:
    shell, served = app_site("/app/inline-json.html"), app_site("/app/server-rendered.html")
    proc = archive(tmp_path, "--render-auto", shell, served)
    assert proc.returncode == 0, proc.stderr.decode()
    dom = read_warc(warc_of(tmp_path, proc, shell)).dom
    assert dom is not None and b"<article><h1>Night ferry returns" in dom
    assert run_cli(["show", shell, "--dom"], cwd=tmp_path).stdout == dom
    fetched_bytes = (app_site.root / "app" / "inline-json.html").read_bytes()
    assert run_cli(["show", shell, "--raw"], cwd=tmp_path).stdout == fetched_bytes
    refused = run_cli(["show", served, "--dom"], cwd=tmp_path)
    assert refused.returncode == 1 and b"was not rendered in a browser" in refused.stderr and not refused.stdout
    ui = subprocess.Popen([newsarchive_command(), "serve", "--store", "archive", "--port", "0"], cwd=tmp_path,
                          stderr=subprocess.PIPE, text=True)
    try:
        assert ui.stderr is not None
        match = re.search(r"read-only at (http://127\.0\.0\.1:\d+)/", ui.stderr.readline())
        assert match

        def get(path: str, **query: str) -> tuple[bytes, Any]:
            with urllib.request.urlopen(f"{match.group(1)}{path}?{urllib.parse.urlencode(query)}") as response:
                return response.read(), response.headers

        page, _ = get("/page", url=shell)
        assert b"As rendered in a browser" in page and b"view=rendered" in page  # the frame shows the DOM
        src = re.search(rb'<iframe[^>]* src="([^"]+)"', page)
        assert src
        frame = urllib.parse.urlsplit(html.unescape(src.group(1).decode()))
        body, headers = get(frame.path, **dict(urllib.parse.parse_qsl(frame.query)))
        assert body == dom and headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Content-Security-Policy"].startswith("sandbox;")  # still the archived-page sandbox
        fetched, _ = get("/page", url=shell, view="fetched")
        assert b"As fetched" in fetched and b"view=rendered" not in fetched
        plain, _ = get("/page", url=served)  # not rendered: as fetched, no switch
        assert b"As rendered" not in plain and b"As fetched" not in plain
    finally:
        ui.terminate()
        ui.wait(timeout=10)


def test_an_article_fetched_from_the_site_api_after_load(tmp_path: Path, app_site: Site) -> None:
    url = app_site("/app/api-fetch.html")
    proc = archive(tmp_path, "--render-auto", url, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)
    assert result["ok"] and result["rendered"]["ok"] and result["rendered"]["ms"] > 0
    record = record_of(tmp_path, url)
    assert record["title"] == "Council approves the tidal barrier after a decade of floods"
    assert record["rendered"]["reason"].startswith("no article text in the fetched HTML; app shell: ")
    assert "empty mount element #app" in record["rendered"]["reason"]
    assert "/app/api/article-42.json" in app_site.requests
    text = run_cli(["show", url], cwd=tmp_path).stdout.decode()
    assert "The city council voted 31 to 9 on Tuesday night" in text
    assert "The council will borrow the rest over thirty years." in text


def test_auto_leaves_a_server_rendered_page_alone(tmp_path: Path, app_site: Site) -> None:
    url = app_site("/app/server-rendered.html")
    proc = run_cli(["archive", "--render-auto", url, "-vv"], cwd=tmp_path,
                   env={"NEWSARCHIVE_SPOOL_DIR": str(tmp_path / "spool")})
    assert proc.returncode == 0, proc.stderr.decode()
    record = record_of(tmp_path, url)
    assert record["rendered"] is None and record["title"] == "Lighthouse keepers' cottages open as a museum"
    assert proc.stdout.decode().startswith("archived ") and " rendered in " not in proc.stdout.decode()
    assert app_site.requests == ["/robots.txt", "/app/server-rendered.html"]  # no second request, no script
    log = proc.stderr.decode()
    assert "Rendered " not in log and "Browser chromium launched" not in log  # no browser was started
    assert "Starting download handler" not in log  # nor Playwright's driver


def test_a_page_that_never_finishes_loading_is_kept_as_fetched(tmp_path: Path, app_site: Site) -> None:
    url = app_site("/app/never-loads.html")
    started = time.monotonic()
    proc = archive(tmp_path, "--render", url, "-s", "RENDER_TIMEOUT=2", "-s", "RENDER_HANG_GRACE=5")
    took = time.monotonic() - started
    assert proc.returncode == 4, proc.stderr.decode()  # raw-only: no text, but the capture is there
    line = proc.stdout.decode()
    assert line.startswith("raw-only ") and "rendering failed" in line
    assert "did not finish loading within 2 s (RENDER_TIMEOUT)" in line
    assert took < 40
    record = record_of(tmp_path, url)
    assert record["rendered"]["ok"] is False and record["rendered"]["dom"] is None
    assert "RENDER_TIMEOUT" in record["rendered"]["error"]
    assert "rendering failed" in record["problem"]
    kinds = records(warc_of(tmp_path, proc, url))
    assert [kind for kind, _, _ in kinds] == ["warcinfo", "request", "response", "metadata"]
    assert kinds[2][2] == (app_site.root / "app" / "never-loads.html").read_bytes()


def test_a_crawl_renders_only_the_app_shells(tmp_path: Path, app_site: Site) -> None:
    proc = run_cli(["crawl", "--sites", "sites.toml", "--json"], cwd=tmp_path,
                   env={"NEWSARCHIVE_SPOOL_DIR": str(tmp_path / "spool")}, timeout=180)
    assert proc.returncode == 0, proc.stderr.decode()
    counts = json.loads(proc.stdout)["sites"]["harbour"]
    assert (counts["new"], counts["rendered"], counts["render_failed"], counts["failed"]) == (3, 2, 0, 0)
    shell, api, served = (record_of(tmp_path, app_site(f"/app/{name}.html"))
                          for name in ("inline-json", "api-fetch", "server-rendered"))
    assert shell["rendered"]["ok"] and shell["title"].startswith("Night ferry returns")
    assert api["rendered"]["ok"] and api["title"].startswith("Council approves the tidal barrier")
    assert served["rendered"] is None and served["title"] == "Lighthouse keepers' cottages open as a museum"
    assert "/app/ssr-widget.js" not in app_site.requests  # the server-rendered page's scripts never ran
    for name in ("inline-json", "api-fetch", "server-rendered"):
        assert app_site.requests.count(f"/app/{name}.html") == 1
    assert not [path for path in app_site.requests if path in THIRD_PARTY]
    assert app_site.requests.count("/robots.txt") == 1


def _chromium_under(pid: int) -> list[int]:
    """Chromium processes descending from `pid` (read from /proc)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parents[int(entry.name)] = int(status.split("PPid:")[1].split()[0])
        names[int(entry.name)] = cmdline.split(b"\0")[0].decode(errors="replace")
    found = []
    for candidate, name in names.items():
        if "chromium" not in name:
            continue
        ancestor = parents.get(candidate, 0)
        while ancestor > 1 and ancestor != pid:
            ancestor = parents.get(ancestor, 0)
        if ancestor == pid:
            found.append(candidate)
    return found


def _wait_for(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_a_script_that_replaces_the_article_does_not_cost_its_text(tmp_path: Path, app_site: Site) -> None:
    """A bot check whose vendor is blocked swaps the article for its error notice: the DOM is
    kept, but the text stays the article the server sent."""
    url = app_site("/app/bot-check.html")
    proc = archive(tmp_path, "--render", url)
    assert proc.returncode == 0, proc.stderr.decode()
    record = record_of(tmp_path, url)
    assert record["rendered"]["ok"] and record["rendered"]["text_from"] == "fetched"
    assert record["rendered"]["blocked"] == 1 and record["title"] == "Ferry fares frozen until 2028"
    assert record["problem"] is None
    text = run_cli(["show", url], cwd=tmp_path).stdout.decode()
    assert "Fares on every ferry route in the region will stay" in text and "not available" not in text
    dom = read_warc(warc_of(tmp_path, proc, url)).dom
    assert dom is not None and b"This page is not available right now" in dom  # what the browser showed


def test_a_script_that_navigates_away_falls_back_to_the_fetched_page(tmp_path: Path, app_site: Site) -> None:
    url = app_site("/app/navigates-away.html")
    proc = archive(tmp_path, "--render", url)
    line = proc.stdout.decode()
    assert proc.returncode == 3, proc.stderr.decode()  # partial: the text is there, the capture is flagged
    assert line.startswith("partial ") and "navigated away (to http://localhost:" in line
    record = record_of(tmp_path, url)
    assert record["rendered"]["ok"] is False and record["rendered"]["text_from"] == "fetched"
    assert record["title"] == "Harbour pilots vote to strike"
    assert "The harbour's pilots voted on Wednesday" in run_cli(["show", url], cwd=tmp_path).stdout.decode()
    assert "/app/moved.html" not in app_site.requests  # the browser never went there
    assert read_warc(warc_of(tmp_path, proc, url)).dom is None  # no error page stored as the DOM


@pytest.mark.parametrize("failure", ["crash", "hang"])
def test_a_browser_that_crashes_or_hangs_loses_no_capture(tmp_path: Path, app_site: Site, failure: str) -> None:
    """The browser is killed (crash) or stopped (hang) while it renders the first page; the
    run goes on with a new browser and every page is archived."""
    first, others = app_site("/app/slow-image.html"), [app_site("/app/inline-json.html"),
                                                        app_site("/app/api-fetch.html")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    env["NEWSARCHIVE_SPOOL_DIR"] = str(tmp_path / "spool")
    # one page at a time, so the others wait for the browser the first one breaks
    command = [newsarchive_command(), "archive", "--render", first, *others, "-vv", "-s", "RENDER_MAX_PAGES=1",
               "-s", "RENDER_TIMEOUT=8", "-s", "RENDER_HANG_GRACE=3"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stopped: list[int] = []
    try:
        _wait_for(lambda: "/slow?seconds=4" in app_site.requests, 60)  # the first page is rendering
        browsers = _chromium_under(proc.pid)
        assert browsers
        for pid in browsers:
            os.kill(pid, signal.SIGKILL if failure == "crash" else signal.SIGSTOP)
        stopped = browsers if failure == "hang" else []
        out, err = proc.communicate(timeout=120)
    finally:
        for pid in stopped:  # the hung browser: the run dropped it; do not leave it behind
            for sig in (signal.SIGCONT, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        if proc.poll() is None:
            proc.kill()
    log = err.decode()
    assert log.count("Browser chromium launched") >= 2, log[-3000:]  # a new browser after the failure
    lines = out.decode().splitlines()
    assert len(lines) == 3 and not [line for line in lines if line.startswith("failed")], out.decode()
    for url in others:  # rendered by the new browser
        record = record_of(tmp_path, url)
        assert record["rendered"]["ok"], record["rendered"]
    broken = record_of(tmp_path, first)
    if not broken["rendered"]["ok"]:  # it fell back to its fetched capture, flagged
        assert "rendering failed" in broken["problem"]
        if failure == "hang":
            assert "did not answer" in broken["rendered"]["error"] or "RENDER_TIMEOUT" in broken["rendered"]["error"]


# --- units ---------------------------------------------------------------------------------


def test_app_shell_signals() -> None:
    shell = (APP / "inline-json.html").read_text()
    evidence = shell_evidence(shell)
    assert "empty mount element #root" in evidence.signals
    assert "<noscript> asks for JavaScript" in evidence.signals
    assert any(signal.startswith("inline state JSON <script>") for signal in evidence.signals)
    served = shell_evidence((APP / "server-rendered.html").read_text())
    assert not served.is_shell, served  # its #root holds the article; its state is small
    angular = "<html><body><app-root></app-root><script src=/main.js></script></body></html>"
    assert shell_evidence(angular).signals[0] == "empty mount element <app-root>"
    scripts = "<html><body><p>Loading</p><script>" + "var x = 1;" * 400 + "</script></body></html>"
    assert shell_evidence(scripts).signals[0].startswith("scripts outweigh text (4 kB of script, 1 words)")
    plain = "<html><body><article>" + "<p>Words of the article here.</p>" * 20 + "</article></body></html>"
    assert not shell_evidence(plain).is_shell


def test_when_a_page_is_rendered() -> None:
    shell = (APP / "inline-json.html").read_text()
    assert render_reason("never", False, False, shell) is None
    assert render_reason("always", True, False, "") == "render = always"
    assert render_reason("always", False, False, None) is None  # not HTML (a PDF): nothing to render
    assert render_reason("auto", False, False, shell) is not None
    assert render_reason("auto", True, False, shell) is None  # text found: the server rendered it
    assert render_reason("auto", False, True, shell) is None  # a bot challenge or consent wall
    assert render_reason("auto", False, False, "<html><body><p>Gone fishing.</p></body></html>") is None


def test_render_failures_read_as_one_line_for_a_person() -> None:
    class TimeoutError(Exception):  # Playwright's, by name
        pass

    missing = Exception("BrowserType.launch: Failed to launch chromium because executable doesn't exist at "
                        "/opt/none/chromium\n╔════╗\n║ Looks like Playwright was just installed ║")
    assert describe_render_failure(missing, 20) == (
        "no browser at /opt/none/chromium: set RENDER_BROWSER (NEWSARCHIVE_RENDER_BROWSER) to Chromium's path, "
        "or install Debian's chromium")
    slow = TimeoutError('Page.goto: Timeout 2000ms exceeded.\nCall log:\n  - navigating to "http://a/"')
    assert describe_render_failure(slow, 2) == "the page did not finish loading within 2 s (RENDER_TIMEOUT)"
    crashed = Exception("Target page, context or browser has been closed")
    assert describe_render_failure(crashed, 20) == "the browser closed or crashed while rendering"


def test_when_the_fetched_text_beats_the_dom() -> None:
    assert not keep_fetched_text(0, False, 1200, False)  # an app shell: the DOM's text
    assert not keep_fetched_text(0, True, 0, True)  # nothing either way: the DOM's verdict
    assert not keep_fetched_text(3000, False, 3100, False)  # hydrated, the same article
    assert not keep_fetched_text(900, True, 4000, False)  # the fetched HTML was a teaser, the DOM the article
    assert keep_fetched_text(6000, False, 270, False)  # a script replaced the article
    assert keep_fetched_text(4000, False, 0, True)  # the DOM is an error page
    assert keep_fetched_text(4000, False, 3900, True)  # a wall appeared in the DOM only


def test_render_fields_in_the_sites_file() -> None:
    site = parse_sites({"site": [{"name": "a", "feeds": ["https://news.example/rss"], "render": "auto",
                                  "render_hosts": ["cdn.example.net"]}]})[0]
    assert site.render_policy is not None
    assert site.render_policy.mode == "auto" and site.render_policy.hosts == ("news.example", "cdn.example.net")
    assert parse_sites({"site": [{"name": "b", "feeds": ["https://b.example/rss"]}]})[0].render_policy is None
    with pytest.raises(SiteConfigError, match="'render' must be one of 'never', 'auto', 'always', not 'yes'"):
        parse_sites({"site": [{"name": "c", "feeds": ["https://c.example/rss"], "render": "yes"}]})
    with pytest.raises(SiteConfigError, match="'render_hosts' must be a list of domain names"):
        parse_sites({"site": [{"name": "d", "feeds": ["https://d.example/rss"], "render_hosts": "cdn"}]})


def test_which_hosts_a_rendered_page_may_fetch_from() -> None:
    hosts = ("news.example", "cdn.example.net")
    assert host_allowed("https://news.example/app.js", hosts)
    assert host_allowed("https://img.news.example/a.jpg", hosts)
    assert host_allowed("https://cdn.example.net/x.js", hosts)
    assert not host_allowed("https://tracker.example.com/t.js", hosts)
    assert not host_allowed("https://fakenews.example/x.js", hosts)  # a suffix is not a subdomain
    assert host_allowed("data:image/png;base64,AAAA", hosts)
    assert own_hosts("https://www.news.example/a") == ("news.example",)
    assert own_hosts("http://127.0.0.1:8080/a") == ("127.0.0.1:8080",)


def test_rendering_keeps_the_fleet_throttle_for_plain_requests() -> None:
    from crawler.fleet.components import fleet_settings
    from crawler.fleet.frontier import FleetRun

    settings = project_settings()
    fleet = FleetRun(client=None, job="j", run_id="r", worker="w", started=True)
    settings.setdict(fleet_settings(fleet, "redis://127.0.0.1:1/0"), priority="cmdline")
    rendering = render_settings(settings)
    assert rendering["RENDER_PLAIN_HANDLER"] == "crawler.fleet.components.FleetThrottledHTTPHandler"
    assert rendering["DOWNLOAD_HANDLERS"]["https"] == "crawler.components.rendering.RenderingHandler"
    plain = render_settings(project_settings())
    assert plain["RENDER_PLAIN_HANDLER"] == "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
    assert shutil.which("chromium") or Path(plain["PLAYWRIGHT_LAUNCH_OPTIONS"]["executable_path"]).exists()
