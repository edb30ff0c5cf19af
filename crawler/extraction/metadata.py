"""Article metadata from a parsed page (pure): structured data first, visible text last.

Order of evidence for each field: JSON-LD (schema.org Article types) > meta tags (OpenGraph,
article:*, Dublin Core, Parse.ly, itemprop) > the page's markup (h1, <time>, bylines) > the URL.
Dates keep the source they came from, so a reader of the record can judge them. Only when no
structured date exists do we ask htmldate to search the visible text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from lxml.html import HtmlElement

from crawler.model.dates import normalise_date

ARTICLE_TYPES = {
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "backgroundnewsarticle", "reviewnewsarticle", "blogposting", "liveblogposting", "socialmediaposting",
    "scholarlyarticle", "techarticle", "report", "posting",
}
INDEX_TYPES = {"collectionpage", "itemlist", "searchresultspage", "website", "sitenavigationelement"}

_SPACE = re.compile(r"\s+")
_BY = re.compile(r"^(?:by|von|par|por|door|di|de|av|af|przez|от)\s*[:\-]?\s+", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\||&|\band\b|\bund\b|\bet\b|\bin collaboration with\b)\s*", re.IGNORECASE)
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?:/|[^\d]|$)")
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ")


@dataclass(frozen=True, slots=True)
class Dated:
    value: str
    """ISO 8601: a date, or a date and time with its UTC offset when the page gives one."""
    source: str
    """Where it came from: "json-ld", "meta", "time-element", "url" or "text"."""


@dataclass(frozen=True, slots=True)
class PageMetadata:
    title: str | None = None
    authors: tuple[str, ...] = ()
    authors_source: str | None = None
    """json-ld, meta or byline."""
    published: Dated | None = None
    modified: Dated | None = None
    site_name: str | None = None
    description: str | None = None
    image: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    og_type: str | None = None
    schema_types: tuple[str, ...] = ()
    accessible_for_free: bool | None = None
    """schema.org isAccessibleForFree of the article (None when not declared)."""
    paywalled_selectors: tuple[str, ...] = ()
    """cssSelector of hasPart elements declared not accessible for free."""
    json_ld_body: str | None = None
    """The article's articleBody from JSON-LD, when the page publishes it."""
    word_count: int | None = None
    """The article's length in words as the page declares it (JSON-LD wordCount)."""


def clean(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = _SPACE.sub(" ", str(value)).strip()
    return text or None


# --- JSON-LD -----------------------------------------------------------------------------

def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in node:
                yield from _walk(node[key])


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type", [])
    values = value if isinstance(value, list) else [value]
    return {str(v).lower().rsplit("/", 1)[-1] for v in values}


def json_ld_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for script in tree.xpath('//script[contains(translate(@type, "JSON", "json"), "ld+json")]'):
        raw = (script.text or "").strip().strip(";")
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            try:  # a common breakage: raw newlines or tabs inside strings
                data = json.loads(re.sub(r"[\r\n\t]+", " ", raw))
            except ValueError:
                continue
        objects.extend(_walk(data))
    return objects


def _names(value: Any) -> list[str]:
    """Names from a schema.org author/publisher value: str, Person, list of either."""
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    if isinstance(value, dict):
        name = clean(value.get("name"))
        return [name] if name else []
    name = clean(value)
    return [name] if name else []


def _keywords(value: Any) -> list[str]:
    if isinstance(value, list):
        return [k for item in value for k in _keywords(item)]
    text = clean(value)
    return [part.strip() for part in text.split(",") if part.strip()] if text else []


# --- meta tags ---------------------------------------------------------------------------

def meta_tags(tree: HtmlElement) -> dict[str, list[str]]:
    """content of <meta> by lowercased property/name/itemprop, in page order."""
    found: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        content = clean(meta.get("content"))
        if key and content:
            found.setdefault(key.strip().lower(), []).append(content)
    return found


def _first_meta(meta: dict[str, list[str]], *keys: str) -> str | None:
    for key in keys:
        if meta.get(key):
            return meta[key][0]
    return None


# --- dates -------------------------------------------------------------------------------

def _dated(value: str | None, source: str) -> Dated | None:
    normal = normalise_date(value)
    return Dated(normal, source) if normal else None


_PUBLISHED_META = ("article:published_time", "og:article:published_time", "datepublished", "pubdate",
                   "publishdate", "publish-date", "date", "dc.date.issued", "dcterms.issued", "dc.date",
                   "parsely-pub-date", "sailthru.date", "article.published", "originalpublicationdate")
_MODIFIED_META = ("article:modified_time", "og:updated_time", "datemodified", "lastmod", "last-modified",
                  "dcterms.modified", "article.updated")


def find_dates(tree: HtmlElement, article: dict[str, Any], meta: dict[str, list[str]],
               url: str | None) -> tuple[Dated | None, Dated | None]:
    published = _dated(clean(article.get("datePublished")) or clean(article.get("dateCreated")), "json-ld")
    modified = _dated(clean(article.get("dateModified")), "json-ld")
    published = published or _dated(_first_meta(meta, *_PUBLISHED_META), "meta")
    modified = modified or _dated(_first_meta(meta, *_MODIFIED_META), "meta")
    if published is None:
        for time_el in tree.xpath("//time[@datetime]"):
            published = _dated(time_el.get("datetime"), "time-element")
            if published:
                break
    if published is None and url:
        match = _URL_DATE.search(url)
        if match:
            published = _dated("-".join(match.groups()), "url")
    if published is None:
        published = _dated(_htmldate(tree, url), "text")
    return published, modified


def _htmldate(tree: HtmlElement, url: str | None) -> str | None:
    from htmldate import find_date  # only for pages without any machine-readable date

    try:
        return find_date(tree, extensive_search=True, original_date=True, url=url)
    except Exception:  # htmldate raises a variety of errors on odd pages
        return None


# --- title, authors ----------------------------------------------------------------------

def strip_site_suffix(title: str, site_name: str | None) -> str:
    for sep in _TITLE_SEPARATORS:
        if sep in title:
            head, _, tail = title.rpartition(sep)
            if (site_name and site_name.lower() in tail.lower()) or (len(tail.split()) <= 4 and len(head) > len(tail)):
                return head.strip()
    return title


def clean_authors(candidates: list[str], site_name: str | None = None) -> tuple[str, ...]:
    """Person names only: no "By", no roles or bios, no URLs, each once."""
    names: dict[str, str] = {}
    for candidate in candidates:
        text = _BY.sub("", clean(candidate) or "")
        for part in _AUTHOR_SPLIT.split(text):
            name = _BY.sub("", part).strip(" .:-")
            words = name.split()
            if (not name or not 1 <= len(words) <= 5 or any(ch.isdigit() for ch in name) or "@" in name
                    or "://" in name or name.startswith("/") or (site_name and name.lower() == site_name.lower())
                    or not any(w[0].isupper() for w in words if w[0].isalpha())):
                continue
            names.setdefault(name.casefold(), name)
    return tuple(names.values())


def _byline_candidates(tree: HtmlElement) -> list[str]:
    xpaths = (
        '//*[@rel="author"]',
        '//*[@itemprop="author"]//*[@itemprop="name"]',
        '//*[@itemprop="author" and not(.//*[@itemprop="name"])]',
        '//*[contains(@class, "byline")]//a',
        '//*[contains(@class, "author-name") or contains(@class, "author__name")]',
    )
    for xpath in xpaths:
        found = [clean(el.text_content()) for el in tree.xpath(xpath)]
        names = [name for name in found if name and len(name) < 120]
        if names:
            return names
    return _plain_bylines(tree)


# A byline written out: "By Tom Becker", "By Tom Becker and Ana Ruiz · Nov. 3, 2026", "Von Eva Roth |".
_WRITTEN_BYLINE = re.compile(r"^(?:by|von|par|por|door|di|av|af|przez|от)\s*:?\s+(.{2,100}?)"
                             r"(?:\s+[|·•—–-]\s|\s*\||\s+(?:on|updated|published|am|le|el)\s|\s+\d|$)",
                             re.IGNORECASE)


def _plain_bylines(tree: HtmlElement) -> list[str]:
    """Bylines in plain text, without links or author markup: an element whose class token is
    "author", or a byline-like element (class byline, author-line, article-author) whose text
    starts with "By"."""
    tokens = tree.xpath('//*[contains(concat(" ", normalize-space(@class), " "), " author ")]')
    names = [name for el in tokens if (name := clean(el.text_content())) and len(name) < 80]
    if names:
        return names
    for el in tree.xpath('//*[contains(@class, "byline") or contains(@class, "author-line")'
                         ' or contains(@class, "article-author") or contains(@class, "post-author")]'):
        match = _WRITTEN_BYLINE.match(clean(el.text_content()) or "")
        if match:
            names.append(match.group(1))
    return names


# --- everything --------------------------------------------------------------------------

def _authors(tree: HtmlElement, article: dict[str, Any], author_meta: list[str],
             site_name: str | None) -> tuple[tuple[str, ...], str | None]:
    """Authors and where they came from: JSON-LD, then meta tags, then bylines in the markup."""
    for source, candidates in (("json-ld", _names(article.get("author"))), ("meta", author_meta)):
        authors = clean_authors(candidates, site_name)
        if authors:
            return authors, source
    authors = clean_authors(_byline_candidates(tree), site_name)
    return authors, ("byline" if authors else None)


def _visible_title(tree: HtmlElement) -> str:
    """The <h1> when it is the page's title (the <title> repeats it), else the <title>."""
    title = clean(tree.findtext(".//title")) or ""
    h1s = tree.xpath("//h1")
    h1 = clean(h1s[0].text_content()) if h1s else None
    if h1 and (not title or h1.casefold() in title.casefold()):
        return h1
    return title


def _article_object(objects: list[dict[str, Any]]) -> dict[str, Any]:
    for node in objects:
        if _types(node) & ARTICLE_TYPES:
            return node
    return {}


def _image(article: dict[str, Any], meta: dict[str, list[str]], url: str | None) -> str | None:
    value = article.get("image")
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url")
    image = clean(value) or _first_meta(meta, "og:image", "og:image:url", "twitter:image")
    return urljoin(url or "", image) if image else None


def _free(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = clean(value)
    return {"true": True, "false": False}.get(text.lower()) if text else None


def _paywalled_parts(article: dict[str, Any]) -> tuple[str, ...]:
    parts = article.get("hasPart", [])
    selectors = []
    for part in parts if isinstance(parts, list) else [parts]:
        if isinstance(part, dict) and _free(part.get("isAccessibleForFree")) is False:
            selector = clean(part.get("cssSelector"))
            if selector:
                selectors.append(selector)
    return tuple(selectors)


def extract_metadata(tree: HtmlElement, url: str | None = None) -> PageMetadata:
    objects = json_ld_objects(tree)
    article = _article_object(objects)
    meta = meta_tags(tree)
    publisher = _names(article.get("publisher"))
    site_name = _first_meta(meta, "og:site_name", "application-name", "twitter:site") or (
        publisher[0] if publisher else None)
    if site_name and site_name.startswith("@"):
        site_name = publisher[0] if publisher else site_name[1:]
    title = clean(article.get("headline")) or _first_meta(meta, "og:title", "twitter:title", "parsely-title")
    title = strip_site_suffix(title or _visible_title(tree), site_name) or None
    author_meta = [a for a in meta.get("author", []) + meta.get("article:author", []) + meta.get("parsely-author", [])
                   + meta.get("sailthru.author", []) + meta.get("byl", []) if "://" not in a]
    authors, authors_source = _authors(tree, article, author_meta, site_name)
    published, modified = find_dates(tree, article, meta, url)
    section = clean(article.get("articleSection")) if not isinstance(article.get("articleSection"), list) else (
        clean(article["articleSection"][0]) if article["articleSection"] else None)
    tags = _keywords(article.get("keywords")) or meta.get("article:tag", []) or _keywords(
        _first_meta(meta, "news_keywords", "keywords"))
    return PageMetadata(
        title=title,
        authors=authors,
        authors_source=authors_source,
        published=published,
        modified=modified,
        site_name=site_name,
        description=clean(article.get("description")) or _first_meta(meta, "description", "og:description",
                                                                       "twitter:description"),
        image=_image(article, meta, url),
        section=section or _first_meta(meta, "article:section", "parsely-section"),
        tags=tuple(dict.fromkeys(t for t in tags if t)),
        og_type=(_first_meta(meta, "og:type") or "").lower() or None,
        schema_types=tuple(sorted({t for node in objects for t in _types(node)})),
        accessible_for_free=_free(article.get("isAccessibleForFree")),
        paywalled_selectors=_paywalled_parts(article),
        json_ld_body=article["articleBody"].strip() or None if isinstance(article.get("articleBody"), str) else None,
        word_count=_count(article.get("wordCount")),
    )


def _count(value: Any) -> int | None:
    """A positive whole number from JSON-LD (given as a number or a string), else None."""
    text = clean(value)
    return int(text) if text and text.isdigit() and int(text) > 0 else None
