"""The crawl's pure parts: sites file, discovery parsers, URL identity, fetch decisions, locks, run report."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.model.urls import article_identity, normalise_url
from crawler.planning.decisions import decide
from crawler.planning.discovery import Candidate, feed_links, page_links, parse_feed, parse_sitemap, sitemaps_in_robots
from crawler.planning.report import RunReport, format_summary
from crawler.planning.sitesfile import SiteConfigError, load_sites, parse_sites
from crawler.store.local import LocalDirStore
from crawler.store.locks import LockHeld, acquire, lock_key

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SITE = parse_sites({"site": [{"name": "ex", "start_urls": ["https://www.example.com/"],
                              "allowed_domains": ["example.com"]}]})[0]


# --- sites file ---------------------------------------------------------------------------

def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    path.write_text('''[[site]]
name = "example"
start_urls = ["https://example.com/", "https://example.com/world/"]
feeds = ["https://example.com/rss.xml"]
sitemaps = ["https://example.com/sitemap.xml"]
allowed_domains = ["example.com"]
article_pattern = "/news/\\\\d{4}/"
max_age_days = 3

[[site]]
name = "other"
feeds = ["https://news.other.org:8443/feed"]
''')
    example, other = load_sites(path)
    assert example.max_age_days == 3 and example.recheck_hours == 48 and example.max_depth == 1
    assert example.article_pattern is not None and example.article_pattern.search("/news/2026/x")
    assert other.allowed_domains == ("news.other.org:8443",)
    assert example.allows("https://www.example.com/a") and not example.allows("https://example.org/a")
    assert [s.name for s in load_sites(path, ["other"])] == ["other"]


@pytest.mark.parametrize(("entry", "message"), [
    ({"start_urls": ["https://a.com/"]}, "site #1: 'name' must be a short name"),
    ({"name": "a"}, "site 'a': needs at least one of 'start_urls', 'feeds' or 'sitemaps'"),
    ({"name": "a", "feeds": "https://a.com/rss"}, "site 'a': 'feeds' must be a list of URLs"),
    ({"name": "a", "feeds": ["ftp://a.com/rss"]}, "site 'a': 'feeds': 'ftp://a.com/rss': unsupported scheme"),
    ({"name": "a", "feeds": ["https://a.com/"], "article_pattern": "(unclosed"}, "'article_pattern' is not a valid"),
    ({"name": "a", "feeds": ["https://a.com/"], "max_age_days": -1}, "'max_age_days' must be a number >= 0.01"),
    ({"name": "a", "feeds": ["https://a.com/"], "max_depth": 9}, "'max_depth' must be a whole number from 0 to 5"),
    ({"name": "a", "feeds": ["https://a.com/"], "feed": ["x"]}, "site 'a': unknown field 'feed'"),
    ({"name": "a", "feeds": ["https://a.com/"], "allowed_domains": ["https://a.com"]}, "'allowed_domains' must be"),
])
def test_each_mistake_names_the_site_and_field(entry: dict[str, object], message: str) -> None:
    with pytest.raises(SiteConfigError, match=message.replace("(", r"\(")):
        parse_sites({"site": [entry]})


def test_file_level_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[[site]\nname=")
    with pytest.raises(SiteConfigError, match=f"{path}: not valid TOML"):
        load_sites(path)
    path.write_text('[[site]]\nname = "a"\nfeeds = ["https://a.com/f"]\n[[site]]\nname = "a"\nfeeds = ["https://a.com/g"]\n')
    with pytest.raises(SiteConfigError, match="site 'a' is defined twice"):
        load_sites(path)
    with pytest.raises(SiteConfigError, match="cannot read"):
        load_sites(tmp_path / "missing.toml")
    path.write_text('[[site]]\nname = "a"\nfeeds = ["https://a.com/f"]\n')
    with pytest.raises(SiteConfigError, match="no site named 'b' \\(sites: a\\)"):
        load_sites(path, ["b"])


# --- URL identity ------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://example.com/news/a?utm_source=rss&utm_medium=feed",
    "https://EXAMPLE.com:443/news/a?fbclid=IwAR0&gclid=1#comments",
    "https://example.com/news/a/amp/",
    "https://example.com/news/a?outputType=amp",
])
def test_tracking_fragments_and_amp_do_not_change_identity(url: str) -> None:
    assert normalise_url(url).rstrip("/") == "https://example.com/news/a"


def test_identity_prefers_a_believable_canonical() -> None:
    assert article_identity("https://example.com/amp/a", "https://www.example.com/news/a") == \
        "https://www.example.com/news/a"
    assert article_identity("https://example.com/news/a", "https://example.com/") == "https://example.com/news/a"
    assert article_identity("https://example.com/news/a", "https://aggregator.net/a") == "https://example.com/news/a"
    assert normalise_url("https://example.com/search?q=ferry&page=2") == "https://example.com/search?page=2&q=ferry"


# --- discovery ---------------------------------------------------------------------------

def test_rss_and_atom_feeds() -> None:
    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><language>en</language>'
           b"<item><title>One</title><link>https://www.example.com/news/one?utm_source=rss</link>"
           b"<pubDate>Mon, 23 Nov 2026 09:00:00 +0100</pubDate></item>"
           b"<item><title>No link</title></item></channel></rss>")
    [one] = parse_feed(rss, "https://www.example.com/rss.xml")
    assert (one.url, one.published, one.title, one.via) == (
        "https://www.example.com/news/one?utm_source=rss", "2026-11-23T08:00:00+00:00", "One", "feed")
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>Two</title>'
            b'<link href="/news/two"/><updated>2026-11-22T10:00:00Z</updated></entry></feed>')
    [two] = parse_feed(atom, "https://www.example.com/atom.xml")
    assert two.url == "https://www.example.com/news/two" and two.updated == "2026-11-22T10:00:00+00:00"
    with pytest.raises(ValueError, match="not a feed"):
        parse_feed(b"<html><body>Not found</body></html>", "https://www.example.com/rss.xml")


def test_sitemap_index_urlset_news_and_gzip() -> None:
    index = (b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc>https://www.example.com/s1.xml.gz</loc></sitemap></sitemapindex>")
    assert parse_sitemap(index, "https://www.example.com/sitemap.xml") == (["https://www.example.com/s1.xml.gz"], [])
    news = (b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>https://www.example.com/n/1</loc>'
            b"<lastmod>2026-11-23</lastmod><news:news><news:publication><news:name>Ex</news:name>"
            b"<news:language>de</news:language></news:publication>"
            b"<news:publication_date>2026-11-22T08:00:00+01:00</news:publication_date>"
            b"<news:title>Eins</news:title></news:news></url></urlset>")
    children, [entry] = parse_sitemap(gzip.compress(news), "https://www.example.com/s1.xml.gz")
    assert children == []
    assert (entry.url, entry.published, entry.updated, entry.title, entry.language) == (
        "https://www.example.com/n/1", "2026-11-22T08:00:00+01:00", "2026-11-23", "Eins", "de")
    for junk in (b"<html><body>404</body></html>", b"\x1f\x8bnot gzip at all", b""):
        with pytest.raises(ValueError):
            parse_sitemap(junk, "https://www.example.com/s.xml")


def test_sitemaps_from_robots_and_feeds_from_pages() -> None:
    robots = b"User-agent: *\nDisallow: /x\nSitemap: /sitemap.xml\nsitemap: https://cdn.example.com/news.xml\n"
    assert sitemaps_in_robots(robots, "https://www.example.com/robots.txt") == [
        "https://www.example.com/sitemap.xml", "https://cdn.example.com/news.xml"]
    html = ('<html><head><link rel="alternate" type="application/rss+xml" href="/rss">'
            '<link rel="stylesheet" href="/s.css"></head><body></body></html>')
    assert feed_links(html, "https://www.example.com/") == ["https://www.example.com/rss"]


def test_page_links_split_articles_from_sections_within_scope() -> None:
    html = """<html><body>
      <a href="/news/2026/11/23/harbour-reopens">a</a><a href="/news/2026/11/23/harbour-reopens?utm_source=x">dup</a>
      <a href="/world/">World</a><a href="https://elsewhere.org/news/2026/11/23/x">off-site</a>
      <a href="/photos/2026/big.jpg">img</a><a href="/story/1234567">numbered</a>
      <a href="/a-long-slug-about-the-ferry-strike">slug</a><a href="mailto:x@example.com">mail</a>
    </body></html>"""
    articles, sections = page_links(html, "https://www.example.com/", SITE)
    assert [a.url for a in articles] == ["https://www.example.com/news/2026/11/23/harbour-reopens",
                                          "https://www.example.com/story/1234567",
                                          "https://www.example.com/a-long-slug-about-the-ferry-strike"]
    assert sections == ["https://www.example.com/world/"]


# --- decisions ---------------------------------------------------------------------------

def pointer(**fields: object) -> dict[str, object]:
    return {"prefix": "p/", "capture_id": "c", "fetched_at": "2026-11-20T00:00:00Z", "etag": '"v1"',
            "last_modified": "Fri, 20 Nov 2026 00:00:00 GMT", **fields}


def test_new_old_young_updated_and_not_due() -> None:
    candidate = Candidate("https://www.example.com/n/1", "sitemap", "s")
    assert decide(candidate, None, SITE, NOW).reason == "new"
    old_site = parse_sites({"site": [{"name": "ex", "feeds": ["https://example.com/f"], "max_age_days": 2}]})[0]
    old = Candidate("https://example.com/n/1", "feed", "f", published="2026-11-01T00:00:00+00:00")
    assert not decide(old, None, old_site, NOW).fetch
    young = decide(candidate, pointer(published="2026-11-23T01:00:00+00:00"), SITE, NOW)
    assert young.fetch and young.headers == {"If-None-Match": '"v1"',
                                             "If-Modified-Since": "Fri, 20 Nov 2026 00:00:00 GMT"}
    updated = Candidate("https://www.example.com/n/1", "sitemap", "s", updated="2026-11-22T00:00:00+00:00")
    assert decide(updated, pointer(published="2026-11-01"), SITE, NOW).fetch
    stale = Candidate("https://www.example.com/n/1", "sitemap", "s", updated="2026-11-19T00:00:00+00:00")
    verdict = decide(stale, pointer(published="2026-11-01"), SITE, NOW)
    assert not verdict.fetch and verdict.reason.startswith("already captured")


# --- locks -------------------------------------------------------------------------------

def test_one_holder_at_a_time_and_expired_locks_are_taken_over(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    first = acquire(store, "job", "run-1", timedelta(hours=1), now=NOW)
    with pytest.raises(LockHeld, match="job 'job' is already running \\(run run-1 on "):
        acquire(store, "job", "run-2", timedelta(hours=1), now=NOW + timedelta(minutes=5))
    later = acquire(store, "job", "run-3", timedelta(hours=1), now=NOW + timedelta(hours=2))  # run-1 died
    first.release()  # not its lock any more: left alone
    assert json.loads(store.get(lock_key("job")))["run_id"] == "run-3"
    later.release()
    assert not store.exists(lock_key("job"))


# --- run report --------------------------------------------------------------------------

def test_summary_counts_and_failed_sites() -> None:
    report = RunReport("job", "run", ["a", "b"])
    for entry in (
        {"site": "a", "role": "feed", "decision": "read", "url": "f"},
        {"site": "a", "decision": "captured", "change": "new", "kind": "article", "access": "free"},
        {"site": "a", "decision": "captured", "change": "changed", "kind": "article", "access": "free"},
        {"site": "a", "decision": "captured", "change": "new", "kind": "index", "access": "free"},
        {"site": "a", "decision": "captured", "change": "new", "kind": "article", "access": "paywalled"},
        {"site": "a", "decision": "captured", "change": "new", "kind": "other", "access": "bot_challenge"},
        {"site": "a", "decision": "unchanged"}, {"site": "a", "decision": "skipped", "reason": "not due"},
        {"site": "a", "decision": "failed", "reason": "HTTP 500"},
        {"site": "b", "role": "robots", "decision": "failed", "url": "r", "reason": "HTTP 404"},
        {"site": "b", "role": "feed", "decision": "failed", "url": "f", "reason": "HTTP 404 Not Found"},
    ):
        report.add(entry)
    summary = report.summary("finished")
    a, b = summary["sites"]["a"], summary["sites"]["b"]
    assert {k: a[k] for k in ("new", "changed", "not_article", "paywalled", "blocked", "unchanged", "skipped",
                              "failed")} == dict.fromkeys(("new", "changed", "not_article", "paywalled", "blocked",
                                                           "unchanged", "skipped", "failed"), 1)
    assert a["status"] == "ok" and b["status"] == "failed" and b["sources_failed"] == ["f: HTTP 404 Not Found"]
    assert len(report.take_lines()) == 11 and report.take_lines() == []


def test_sections_come_from_navigation_not_from_the_footer_or_utility_links() -> None:
    html = """<html><body>
      <header><nav class="main-menu"><a href="/world/">World</a><a href="/business/">Business</a>
        <a href="/about/">About us</a><a href="/newsletters/">Newsletters</a></nav></header>
      <div class="content"><a href="/news/2026/11/23/harbour-reopens">story</a><a href="/tag/ferries/">Ferries</a></div>
      <footer><a href="/privacy/">Privacy</a><a href="/contact/">Contact</a><a href="/archive/">Archive</a>
        <a href="/news/2026/11/22/older-story">older story</a></footer>
    </body></html>"""
    articles, sections = page_links(html, "https://www.example.com/", SITE)
    assert sections == ["https://www.example.com/world/", "https://www.example.com/business/"]
    # articles are articles wherever they are linked
    assert {a.url.rsplit("/", 1)[-1] for a in articles} == {"harbour-reopens", "older-story"}
    # a page without navigation markup: links outside the footer, still no utility pages
    bare = html.replace("<header><nav class=\"main-menu\">", "<div>").replace("</nav></header>", "</div>")
    _, sections = page_links(bare, "https://www.example.com/", SITE)
    assert sections == ["https://www.example.com/world/", "https://www.example.com/business/",
                        "https://www.example.com/tag/ferries/"]


def test_the_printed_summary_shows_every_failed_source() -> None:
    report = RunReport("job", "run", ["a"])
    report.add({"site": "a", "role": "feed", "decision": "read", "url": "https://a.example/rss"})
    report.add({"site": "a", "role": "page", "decision": "failed", "url": "https://a.example/world/",
                "reason": "HTTP 404 Not Found"})
    table = format_summary(report.summary("finished"))
    assert "ok, 1 source(s) failed" in table
    assert "site 'a': 1 source(s) failed: https://a.example/world/: HTTP 404 Not Found" in table
