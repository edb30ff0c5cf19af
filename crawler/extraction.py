"""Article text and metadata from one HTML page (pure; the only module importing trafilatura).

trafilatura finds the body and most metadata; we add what it does not record
(canonical URL, declared language) and shape the result into an Extraction.
Never pass deduplicate=True: trafilatura's dedup cache lives for the whole process,
so the same paragraph would vanish from the second page that contains it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin

import trafilatura
from lxml.html import HtmlElement
from trafilatura.metadata import extract_metadata
from trafilatura.utils import load_html

from crawler.decoding import decode_html, looks_like_html, media_type
from crawler.items import ExtractedPage, Extraction, FetchedPage

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = "trafilatura"
EXTRACTOR_VERSION = trafilatura.__version__

_BLANK_LINES = re.compile(r"\n\s*\n+")
_READING_TIME = re.compile(r"^\d+\s*(min|mins|minute|minutes)\.?\s+(read|reading)$", re.IGNORECASE)
_LANG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    include_comments: bool = False
    include_tables: bool = True
    favor_precision: bool = False
    min_words: int = 25
    """Less text than this is navigation or a caption, not an article: reported as no text."""

    @classmethod
    def from_settings(cls, settings: Any) -> ExtractOptions:
        """From the EXTRACT_* settings (a Scrapy Settings object)."""
        return cls(
            include_comments=settings.getbool("EXTRACT_INCLUDE_COMMENTS", False),
            include_tables=settings.getbool("EXTRACT_INCLUDE_TABLES", True),
            favor_precision=settings.getbool("EXTRACT_FAVOR_PRECISION", False),
            min_words=settings.getint("EXTRACT_MIN_WORDS", 25),
        )


def _clean(value: str | None) -> str | None:
    value = " ".join(value.split()) if value else ""
    return value or None


def _split_list(value: str | list[str] | None, separators: str = ";") -> tuple[str, ...]:
    """Split on any of `separators`, trim, drop empties and case-insensitive repeats."""
    items = value if isinstance(value, list) else [value or ""]
    pattern = "[" + re.escape(separators) + "]"
    found: dict[str, str] = {}
    for item in items:
        for part in re.split(pattern, item):
            cleaned = _clean(part)
            if cleaned:
                found.setdefault(cleaned.lower(), cleaned)
    return tuple(found.values())


def _first(tree: HtmlElement, xpath: str) -> str | None:
    for value in tree.xpath(xpath):
        cleaned = _clean(str(value))
        if cleaned:
            return cleaned
    return None


def canonical_link(tree: HtmlElement, url: str | None) -> str | None:
    """The absolute URL of the page's <link rel="canonical">, if any."""
    href = _first(
        tree,
        "//link[contains(concat(' ', normalize-space(translate(@rel, 'CANONICAL', 'canonical')), ' '),"
        " ' canonical ')]/@href",
    )
    if not href:
        return None
    absolute = urljoin(url or "", href)
    return absolute if absolute.startswith(("http://", "https://")) else None


def declared_language(tree: HtmlElement) -> str | None:
    """The language the page declares: <html lang>, Content-Language meta, og:locale."""
    candidates = [
        _first(tree, "/html/@lang"),
        _first(tree, "/html/@xml:lang"),
        _first(tree, "//meta[translate(@http-equiv, 'CONTENTLANGUAGE', 'contentlanguage')"
                     "='content-language']/@content"),
        _first(tree, "//meta[@property='og:locale']/@content"),
    ]
    for value in candidates:
        if value:
            tag = value.split(",")[0].strip().replace("_", "-")
            if _LANG.match(tag):
                return tag
    return None


def normalise_text(text: str | None) -> str:
    """Trim each line, drop empty ones: paragraphs separated by a single newline."""
    if not text:
        return ""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def drop_headline(text: str, title: str | None) -> str:
    """The headline is metadata, not body text: drop a leading line that repeats the title,
    and reading-time lines ("2 min read") around it."""
    lines = text.split("\n")
    wanted = title.casefold().strip(" .") if title else None
    while lines and (_READING_TIME.match(lines[0]) or (wanted and lines[0].casefold().strip(" .") == wanted)):
        lines.pop(0)
    return "\n".join(lines)


def extract(html: str, url: str | None = None, options: ExtractOptions | None = None) -> Extraction | None:
    """Extract the article from `html`; None when the HTML cannot be parsed at all.

    The returned Extraction has empty `text` when no article body was found; its
    metadata is still filled from whatever the page declares.
    """
    options = options or ExtractOptions()
    tree = load_html(html)
    if tree is None:
        return None
    canonical = canonical_link(tree, url)
    language = declared_language(tree)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=False,
        include_comments=options.include_comments,
        include_tables=options.include_tables,
        favor_precision=options.favor_precision,
        deduplicate=False,
    )
    text = normalise_text(getattr(document, "text", None))
    meta = extract_metadata(tree, default_url=url)
    text = drop_headline(text, _clean(meta.title))
    return Extraction(
        text=text,
        title=_clean(meta.title),
        authors=_split_list(meta.author),
        published=_clean(meta.date),
        language=language,
        site_name=_clean(meta.sitename),
        description=_clean(meta.description),
        canonical_url=canonical,
        image=_clean(meta.image),
        categories=_split_list(meta.categories, ";,"),
        tags=_split_list(meta.tags, ";,"),
        extractor=EXTRACTOR_NAME,
        extractor_version=EXTRACTOR_VERSION,
    )


def extract_text(html: str, url: str | None = None) -> str | None:
    """Just the article text (None if there is none): the adapter scoring scripts call."""
    result = extract(html, url)
    return result.text if result is not None and result.text else None


def extract_page(page: FetchedPage, options: ExtractOptions | None = None) -> ExtractedPage:
    """Decode and extract one fetched page; never raises, says why when there is no text."""
    if not page.body.strip():
        return ExtractedPage(page, None, "empty response body")
    if not looks_like_html(page.body, page.content_type):
        kind = media_type(page.content_type) or "unknown type"
        return ExtractedPage(page, None, f"not HTML ({kind})")
    html, encoding = decode_html(page.body, page.content_type)
    try:
        extraction = extract(html, page.url, options)
    except Exception as exc:  # a bug or a pathological page must not lose the raw capture
        logger.exception("Extractor failed on %s", page.url)
        return ExtractedPage(page, None, f"extractor error: {type(exc).__name__}: {exc}", encoding)
    if extraction is None:
        return ExtractedPage(page, None, "HTML could not be parsed", encoding)
    words = len(extraction.text.split())
    if words < (options or ExtractOptions()).min_words:
        found = f" (only {words} words)" if words else ""
        return ExtractedPage(page, replace(extraction, text=""), f"no article text found{found}", encoding)
    return ExtractedPage(page, extraction, None, encoding)
