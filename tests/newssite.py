"""A generated local news site for crawl tests: home and section pages, an RSS feed, an Atom feed,
a sitemap index with a plain sitemap and a Google News sitemap, robots.txt, 32+ articles.

`NewsSite.publish(edition)` writes the files; edition 2 adds three articles and edits one old
article (its sitemap lastmod moves), leaving every other file untouched (same bytes, same
mtime, so If-Modified-Since gets a 304).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

TOPICS = ["harbour", "ferry", "council", "budget", "school", "bridge", "market", "festival", "storm", "rail",
          "museum", "library", "hospital", "election", "fishery", "airport"]
WORDS = ("officials said the plan would be reviewed again next spring after residents raised new questions about "
         "costs timing and the effect on local businesses along the waterfront").split()


@dataclass(frozen=True)
class Article:
    number: int
    published: datetime
    section: str
    paywalled: bool = False

    @property
    def slug(self) -> str:
        topic = TOPICS[self.number % len(TOPICS)]
        return f"{topic}-story-number-{self.number}-update"

    @property
    def path(self) -> str:
        return f"/news/{self.published:%Y/%m}/{self.slug}.html"

    @property
    def title(self) -> str:
        return f"Story {self.number}: the {TOPICS[self.number % len(TOPICS)]} question returns"


def paragraphs(article: Article, edited: bool) -> list[str]:
    found = []
    for i in range(5):
        words = [WORDS[(article.number * 7 + i * 3 + j) % len(WORDS)] for j in range(24)]
        found.append(f"Paragraph {i + 1} of story {article.number}: " + " ".join(words).capitalize() + ".")
    if edited:
        found.insert(2, f"Update: story {article.number} was corrected after the council released new figures.")
    return found


def article_html(article: Article, site_url: str, edited: bool) -> str:
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": article.title,
          "datePublished": article.published.isoformat(), "author": [{"@type": "Person", "name": "Mara Quint"}],
          "isAccessibleForFree": not article.paywalled}
    body = "".join(f"<p>{p}</p>" for p in paragraphs(article, edited)[: 2 if article.paywalled else None])
    paywall = '<div class="paywall"><p>Subscribe to continue reading.</p></div>' if article.paywalled else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{article.title} | Harbor Daily</title>
<link rel="canonical" href="{site_url}{article.path}">
<meta property="og:type" content="article"><meta property="og:site_name" content="Harbor Daily">
<script type="application/ld+json">{json.dumps(ld)}</script></head>
<body><nav><a href="/">Home</a> <a href="/world/">World</a> <a href="/business/">Business</a></nav>
<article><h1>{article.title}</h1><p class="byline">By Mara Quint</p>{body}{paywall}</article>
<footer>Harbor Daily</footer></body></html>
"""


def listing_html(title: str, articles: list[Article], extra_links: str = "", head: str = "") -> str:
    items = "".join(f'<li><a href="{a.path}">{a.title}</a></li>' for a in articles)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Harbor Daily</title>
<meta property="og:type" content="website">{head}</head>
<body><nav><a href="/">Home</a> <a href="/world/">World</a> <a href="/business/">Business</a>
<a href="/about.html">About</a></nav><h1>{title}</h1><ul>{items}</ul>{extra_links}</body></html>
"""


class NewsSite:
    def __init__(self, root: Path, site_url: str, now: datetime | None = None) -> None:
        self.root = root
        self.site_url = site_url
        self.now = now or datetime.now(UTC).replace(microsecond=0)
        self.articles = [self._article(n) for n in range(32)]
        self.added: list[Article] = []
        self.edited: set[int] = set()
        self.edited_at = self.now

    def _article(self, number: int) -> Article:
        age = timedelta(hours=3 + 5 * number) if number < 4 else timedelta(days=3 + number % 20, hours=number)
        return Article(number, self.now - age, "world" if number % 2 else "business", paywalled=number == 30)

    @property
    def young(self) -> list[Article]:
        return [a for a in self.all if self.now - a.published < timedelta(hours=48)]

    @property
    def all(self) -> list[Article]:
        return self.articles + self.added

    def _write(self, path: str, text: str) -> None:
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")

    def publish(self, edition: int = 1) -> None:
        if edition >= 2 and not self.added:
            self.added = [Article(n, self.now - timedelta(hours=1, minutes=n), "world") for n in range(100, 103)]
            self.edited = {10}
            self.edited_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
            edited_file = self.root / self.articles[10].path.lstrip("/")
            if edited_file.exists():  # make sure the edit is newer than any earlier fetch
                later = datetime.now(UTC).timestamp() + 2
                self._write(self.articles[10].path, article_html(self.articles[10], self.site_url, True))
                os.utime(edited_file, (later, later))
        for article in self.all:
            self._write(article.path, article_html(article, self.site_url, article.number in self.edited))
        newest = sorted(self.all, key=lambda a: a.published, reverse=True)
        tracking = f'<a href="{newest[0].path}?utm_source=homepage&amp;utm_medium=web">Top story again</a>'
        feed_link = '<link rel="alternate" type="application/atom+xml" href="/business/atom.xml">'
        self._write("/index.html", listing_html("Harbor Daily", newest[:6], tracking, feed_link))
        for section in ("world", "business"):
            self._write(f"/{section}/index.html",
                        listing_html(section.title(), [a for a in newest if a.section == section][:8]))
        self._write("/about.html", listing_html("About us", []))
        self._write("/rss.xml", self._rss(newest[:10]))
        self._write("/business/atom.xml", self._atom([a for a in newest if a.section == "business"][:10]))
        self._write("/sitemap_index.xml", self._index(["/sitemap-articles.xml", "/news-sitemap.xml"]))
        self._write("/sitemap-articles.xml", self._urlset(self.all))
        self._write("/news-sitemap.xml", self._news([a for a in newest if a in self.young]))
        self._write("/robots.txt", "User-agent: *\nDisallow: /private/\nSitemap: /sitemap_index.xml\n")

    def lastmod(self, article: Article) -> datetime:
        return self.edited_at if article.number in self.edited else article.published

    def _rss(self, articles: list[Article]) -> str:
        items = "".join(
            f"<item><title>{escape(a.title)}</title><link>{self.site_url}{a.path}?utm_source=rss</link>"
            f"<pubDate>{a.published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>" for a in articles)
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Harbor Daily</title>'
                f"<link>{self.site_url}/</link><language>en</language>{items}</channel></rss>")

    def _atom(self, articles: list[Article]) -> str:
        entries = "".join(
            f'<entry><title>{escape(a.title)}</title><link href="{self.site_url}{a.path}"/><id>{a.path}</id>'
            f"<updated>{self.lastmod(a).isoformat()}</updated><published>{a.published.isoformat()}</published></entry>"
            for a in articles)
        return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>Business</title><id>{self.site_url}/business/</id><updated>{self.now.isoformat()}</updated>"
                f"{entries}</feed>")

    def _index(self, paths: list[str]) -> str:
        maps = "".join(f"<sitemap><loc>{self.site_url}{p}</loc></sitemap>" for p in paths)
        return (f'<?xml version="1.0" encoding="UTF-8"?>'
                f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{maps}</sitemapindex>')

    def _urlset(self, articles: list[Article]) -> str:
        urls = "".join(f"<url><loc>{self.site_url}{a.path}</loc><lastmod>{self.lastmod(a).isoformat()}</lastmod></url>"
                       for a in articles)
        return (f'<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')

    def _news(self, articles: list[Article]) -> str:
        urls = "".join(
            f"<url><loc>{self.site_url}{a.path}</loc><news:news><news:publication><news:name>Harbor Daily"
            f"</news:name><news:language>en</news:language></news:publication><news:publication_date>"
            f"{a.published.isoformat()}</news:publication_date><news:title>{escape(a.title)}</news:title>"
            f"</news:news></url>" for a in articles)
        return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>')

    def sites_toml(self, name: str = "harbor") -> str:
        return (f'[[site]]\nname = "{name}"\nstart_urls = ["{self.site_url}/"]\n'
                f'feeds = ["{self.site_url}/rss.xml"]\nsitemaps = ["{self.site_url}/sitemap_index.xml"]\n')
