"""Finding article URLs: feeds, sitemaps, robots.txt and section pages (pure, bytes in, lists out).

Parsing is done by well-kept libraries: feedparser for RSS 2.0 / RSS 1.0 / Atom, Scrapy's
streaming sitemap parser (lxml iterparse, no entity expansion) for sitemaps, sitemap indexes
and Google News sitemaps, whose news:publication_date, news:title and news:language are kept
as evidence for the article's metadata and for deciding whether to fetch it again.
"""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.etree
from lxml.html import HtmlElement, document_fromstring
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.model.dates import normalise_date
from crawler.model.urls import BadURLError, check_url, looks_like_article_url, normalise_url
from crawler.planning.sitesfile import SiteConfig

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for one uncompressed file
_NOT_PAGES = re.compile(r"\.(jpe?g|png|gif|webp|svg|pdf|zip|mp[34]|mov|avi|css|js|xml|rss|json|ico)$", re.I)
# Pages about the publisher or the reader, never lists of articles: not followed as sections.
_UTILITY = re.compile(
    r"(^|/)(about|about-us|contact|contact-us|privacy|privacy-policy|privacy-notice|cookies?|cookie-policy|terms"
    r"|terms-of-(use|service)|terms-and-conditions|legal|imprint|impressum|datenschutz|kontakt|agb"
    r"|mentions-legales|aviso-legal|accessibility|careers|jobs|advertise|advertising|media-kit|subscribe"
    r"|subscriptions?|newsletters?|login|log-in|sign-?in|sign-?up|register|account|my-account|help|faq|feedback"
    r"|corrections|ethics|policies|masthead|staff|team|rss|feeds?|sitemap|search|shop|store|donate|support"
    r"|contribute|membership)(\.(html?|php|aspx?))?/?$", re.I)
_NAV_TOKENS = frozenset({"nav", "navbar", "navigation", "menu", "mainmenu", "sections", "sectionnav", "categories",
                         "category", "topics", "rubriken", "ressorts"})
_FOOTER_TOKENS = frozenset({"footer", "sitefooter", "colophon", "legal"})
_TOKEN = re.compile(r"[\s_\-]+")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A URL that may be an article, and what its source said about it."""

    url: str
    via: str
    """feed, sitemap or section."""
    source: str
    """The feed, sitemap or page it was found on."""
    published: str | None = None
    """ISO 8601 publication date given by the source (feed entry date, news:publication_date)."""
    updated: str | None = None
    """ISO 8601 last modification given by the source (sitemap lastmod, feed updated)."""
    title: str | None = None
    language: str | None = None

    def evidence(self) -> dict[str, str]:
        found = {"via": self.via, "source": self.source, "published": self.published, "updated": self.updated,
                 "title": self.title, "language": self.language}
        return {k: v for k, v in found.items() if v}


def _absolute(url: str | None, base: str) -> str | None:
    if not url:
        return None
    try:
        return check_url(urljoin(base, url.strip()))
    except BadURLError:
        return None


def _struct_time(value: Any) -> str | None:
    """feedparser's parsed dates are UTC struct_times."""
    if not isinstance(value, time.struct_time):
        return None
    return datetime(*value[:6], tzinfo=UTC).isoformat()


def parse_feed(body: bytes, feed_url: str) -> list[Candidate]:
    """Entries of an RSS or Atom feed; raises ValueError when the body is not a feed at all."""
    parsed = feedparser.parse(body)
    if not parsed.entries and (parsed.bozo or not parsed.version):
        raise ValueError(f"not a feed ({type(parsed.get('bozo_exception')).__name__ if parsed.bozo else 'no entries'})")
    found = []
    for entry in parsed.entries:
        url = _absolute(entry.get("link"), feed_url)
        if url:
            found.append(Candidate(
                url=url, via="feed", source=feed_url,
                # dict.get: FeedParserDict would map a missing updated_parsed to published_parsed
                published=_struct_time(dict.get(entry, "published_parsed")) or _struct_time(
                    dict.get(entry, "updated_parsed")),
                updated=_struct_time(dict.get(entry, "updated_parsed")),
                title=" ".join(str(entry.get("title", "")).split()) or None,
                language=parsed.feed.get("language"),
            ))
    return found


def unpack_sitemap(body: bytes) -> bytes:
    """The XML of a sitemap served plain or gzip-compressed (at most MAX_SITEMAP_BYTES)."""
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        xml = decompressor.decompress(body, MAX_SITEMAP_BYTES + 1)
    except zlib.error as exc:
        raise ValueError(f"corrupt gzip sitemap ({exc})") from None
    if len(xml) > MAX_SITEMAP_BYTES:
        raise ValueError(f"sitemap larger than {MAX_SITEMAP_BYTES} bytes uncompressed")
    return xml


class _NewsSitemap(Sitemap):
    """Scrapy's parser, keeping the Google News extension fields it would otherwise drop."""

    def _process_sitemap_element(self, elem: lxml.etree._Element) -> dict[str, Any] | None:
        news = {}
        for child in elem.iter():
            tag = self._get_tag_name(child)
            if tag in ("publication_date", "title", "language") and child.text:
                news[f"news_{tag}"] = child.text.strip()
        found = super()._process_sitemap_element(elem)
        return {**found, **news} if found else None


def parse_sitemap(body: bytes, sitemap_url: str) -> tuple[list[str], list[Candidate]]:
    """(child sitemaps, article candidates) of a sitemap or sitemap index."""
    xml = unpack_sitemap(body)
    try:
        sitemap = _NewsSitemap(xml)
    except (lxml.etree.XMLSyntaxError, StopIteration) as exc:
        raise ValueError(f"not a sitemap ({exc or 'empty document'})") from None
    if sitemap.type not in ("sitemapindex", "urlset"):
        raise ValueError(f"not a sitemap (root element <{sitemap.type}>)")
    children: list[str] = []
    found: list[Candidate] = []
    for entry in sitemap:
        url = _absolute(entry.get("loc"), sitemap_url)
        if not url:
            continue
        if sitemap.type == "sitemapindex":
            children.append(url)
        else:
            found.append(Candidate(
                url=url, via="sitemap", source=sitemap_url,
                published=normalise_date(entry.get("news_publication_date")),
                updated=normalise_date(entry.get("lastmod")),
                title=entry.get("news_title") or None, language=entry.get("news_language") or None,
            ))
    return children, found


def sitemaps_in_robots(body: bytes, robots_url: str) -> list[str]:
    return [u for u in (_absolute(url, robots_url) for url in sitemap_urls_from_robots(body, robots_url)) if u]


def _tree(html: str) -> HtmlElement | None:
    try:
        return document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None


def feed_links(html: str, page_url: str) -> list[str]:
    """Feeds the page announces with <link rel="alternate" type="application/rss+xml|atom+xml">."""
    tree = _tree(html)
    if tree is None:
        return []
    hrefs = tree.xpath('//link[contains(@rel, "alternate") and (contains(@type, "rss") or contains(@type, "atom"))]'
                       '/@href')
    return [u for u in (_absolute(str(h), page_url) for h in hrefs) if u]


def _place(anchor: HtmlElement) -> str:
    """Where a link sits: "footer" (footer, aside, legal block), "nav" (nav, header, a menu) or ""."""
    for element in anchor.iterancestors():
        tag, role = element.tag, (element.get("role") or "").lower()
        names = {t.lower() for t in _TOKEN.split(f"{element.get('class', '')} {element.get('id', '')}") if t}
        names |= {"".join(_TOKEN.split(n)) for n in names}
        if tag in ("footer", "aside") or role in ("contentinfo", "complementary") or names & _FOOTER_TOKENS:
            return "footer"
        if tag in ("nav", "header") or role in ("navigation", "menubar", "menu") or names & _NAV_TOKENS:
            return "nav"
    return ""


def page_links(html: str, page_url: str, site: SiteConfig) -> tuple[list[Candidate], list[str]]:
    """(article candidates, section pages) linked from a start or section page, in the site's scope.

    Sections come from evidence: links in the page's navigation (nav, header, menus), or
    anywhere outside the footer on a page that has no navigation markup; never the footer's
    and utility links (about, contact, privacy, terms, login, newsletter...)."""
    tree = _tree(html)
    if tree is None:
        return [], []
    articles: dict[str, Candidate] = {}
    sections: dict[str, str] = {}  # url -> where its link sat
    for anchor in tree.iter("a"):
        url = _absolute(str(anchor.get("href") or ""), page_url)
        if not url or not site.allows(url) or _NOT_PAGES.search(urlsplit(url).path):
            continue
        normal = normalise_url(url)
        is_article = site.article_pattern.search(normal) if site.article_pattern else looks_like_article_url(normal)
        if is_article:
            articles.setdefault(normal, Candidate(url=normal, via="section", source=page_url))
        elif normal != normalise_url(page_url) and not _UTILITY.search(urlsplit(normal).path):
            place = _place(anchor)
            if sections.get(normal) != "nav":
                sections[normal] = place
    has_nav = "nav" in sections.values()
    return list(articles.values()), [u for u, place in sections.items()
                                     if place == "nav" or (place == "" and not has_nav)]
