"""Article text and metadata from one HTML page (pure; the only module importing trafilatura).

The steps, on one parsed tree:
1. metadata from structured data (crawler.extraction.metadata), before anything is removed;
2. on a photo gallery, its captions made paragraphs, on a live blog its entries' headings
   kept (crawler.extraction.layouts); our
   boilerplate pre-cleaning (crawler.extraction.boilerplate.preclean);
3. trafilatura finds the body in what is left;
4. our line filter (crawler.extraction.boilerplate.clean_lines) and the headline/standfirst drop;
5. fallbacks: the page's own JSON-LD articleBody when it is much longer; when the cleaned
   result has too few words, trafilatura on the uncleaned page with its own fallbacks
   (readability, jusText, baseline), then in its recall mode;
6. page kind and access state (crawler.extraction.pagekind), each with its reason.
Never pass deduplicate=True: trafilatura's dedup cache lives for the whole process, so the
same paragraph would vanish from the second page that contains it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin

import trafilatura
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from crawler.extraction.boilerplate import clean_lines, preclean
from crawler.extraction.decoding import decode_html, looks_binary, looks_like_html
from crawler.extraction.layouts import captions_as_paragraphs, entry_headings_kept, is_gallery, is_live_blog
from crawler.extraction.metadata import PageMetadata, extract_metadata
from crawler.extraction.pagekind import classify_access, classify_kind, page_signals, teaser_evidence
from crawler.model.http import media_type
from crawler.model.items import NOT_THE_PAGE, ExtractedPage, Extraction, FetchedPage

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = "trafilatura"
EXTRACTOR_VERSION = trafilatura.__version__

_READING_TIME = re.compile(r"^\d+\s*(min|mins|minute|minutes)\.?\s+(read|reading)$", re.IGNORECASE)
_LANG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W\d_]+|\d+")


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    include_comments: bool = False
    include_tables: bool = True
    favor_precision: bool = False
    min_words: int = 25
    """Less text than this is navigation or a caption, not an article: reported as no text."""
    # These defaults (for callers of extract() outside a crawl) are the EXTRACT_* settings'
    # defaults in settings/; a test keeps the two equal.

    @classmethod
    def from_settings(cls, settings: Any) -> ExtractOptions:
        """From the EXTRACT_* settings (a Scrapy Settings object)."""
        return cls(
            include_comments=settings.getbool("EXTRACT_INCLUDE_COMMENTS"),
            include_tables=settings.getbool("EXTRACT_INCLUDE_TABLES"),
            favor_precision=settings.getbool("EXTRACT_FAVOR_PRECISION"),
            min_words=settings.getint("EXTRACT_MIN_WORDS"),
        )


def word_count(text: str) -> int:
    """Words, counting CJK text (written without spaces) at two characters a word."""
    cjk = len(_CJK.findall(text))
    return len(_WORD.findall(_CJK.sub(" ", text))) + (cjk + 1) // 2


def _first(tree: HtmlElement, xpath: str) -> str | None:
    for value in tree.xpath(xpath):
        cleaned = " ".join(str(value).split())
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


def normalise_text(text: str | None) -> list[str]:
    """Trimmed, space-collapsed, non-empty lines."""
    lines = (" ".join(line.split()) for line in (text or "").splitlines())
    return [line for line in lines if line]


def drop_headline(lines: list[str], title: str | None) -> list[str]:
    """The headline is metadata, not body text: drop leading lines that repeat the title,
    and reading-time lines ("2 min read") around it."""
    wanted = title.casefold().strip(" .") if title else None
    start = 0
    while start < len(lines) and (_READING_TIME.match(lines[start])
                                  or (wanted and lines[start].casefold().strip(" .") == wanted)):
        start += 1
    return lines[start:]


def _trafilatura_text(tree: HtmlElement, url: str | None, options: ExtractOptions, *, fast: bool,
                      recall: bool = False) -> list[str]:
    """trafilatura's body text. fast=True skips its readability/justext comparison: on a tree our
    pre-cleaning has already cleared, that comparison never changed the result on the dev set.
    recall=True is its recall mode, with comment sections left for it to judge (comments, if it
    finds any, come back apart from the body and are not used)."""
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=False,
        include_comments=options.include_comments or recall,
        include_tables=options.include_tables,
        favor_precision=options.favor_precision and not recall,
        favor_recall=recall,
        fast=fast,
        deduplicate=False,
    )
    return normalise_text(getattr(document, "text", None))


def _body_lines(tree: HtmlElement, html: str, url: str | None, meta: PageMetadata,
                options: ExtractOptions) -> tuple[list[str], int]:
    """The body's lines and their word count."""
    preclean(tree)
    lines = clean_lines(drop_headline(_trafilatura_text(tree, url, options, fast=True), meta.title))
    words = word_count(" ".join(lines))
    if meta.json_ld_body:  # the publisher's own plain-text body, when richer than what we found
        ld_lines = clean_lines(drop_headline(normalise_text(meta.json_ld_body), meta.title))
        ld_words = word_count(" ".join(ld_lines))
        if ld_words > 1.5 * max(words, options.min_words):
            return ld_lines, ld_words
    # Too few words: cleaning took too much, or the page is unusual. trafilatura on the page as
    # fetched, with its own fallbacks (readability, jusText, its baseline), then in recall mode.
    for recall in (False, True):
        if words >= options.min_words:
            break
        original = load_html(html)
        if original is None:
            break
        raw = clean_lines(drop_headline(_trafilatura_text(original, url, options, fast=False, recall=recall),
                                        meta.title))
        raw_words = word_count(" ".join(raw))
        if raw_words > words:
            lines, words = raw, raw_words
    return lines, words


def without_teaser_evidence(meta: PageMetadata) -> PageMetadata:
    """Keep only the page's declared authors and dates (structured data), not those read off the markup."""
    declared = ("json-ld", "meta")
    return replace(
        meta,
        authors=meta.authors if meta.authors_source in declared else (),
        authors_source=meta.authors_source if meta.authors_source in declared else None,
        published=meta.published if meta.published and meta.published.source in declared else None,
    )


def extract(html: str, url: str | None = None, options: ExtractOptions | None = None) -> Extraction | None:
    """Extract the article from `html`; None when the HTML cannot be parsed at all.

    The returned Extraction has empty `text` when no article body was found; its
    metadata, kind and access state are still filled from what the page declares.
    """
    options = options or ExtractOptions()
    tree = load_html(html)
    if tree is None:
        return None
    canonical = canonical_link(tree, url)
    language = declared_language(tree)
    meta = extract_metadata(tree, url)
    signals = page_signals(tree, html)
    if is_gallery(tree, meta.schema_types):  # its captions are its text
        captions_as_paragraphs(tree)
    if is_live_blog(meta.schema_types):  # its entries' headings are text
        entry_headings_kept(tree)
    lines, words = _body_lines(tree, html, url, meta, options)
    text = "\n".join(lines)
    access, access_reason = classify_access(signals, meta, words)
    teaser = teaser_evidence(signals, meta, text, words) if access == "paywalled" else None
    kind, kind_reason = classify_kind(signals, meta, words, access, url, options.min_words)
    if kind != "article":  # bylines and dates on a listing belong to its teasers, not to the page
        meta = without_teaser_evidence(meta)
    return Extraction(
        text=text,
        words=words,
        title=meta.title,
        authors=meta.authors,
        published=meta.published.value if meta.published else None,
        published_source=meta.published.source if meta.published else None,
        modified=meta.modified.value if meta.modified else None,
        modified_source=meta.modified.source if meta.modified else None,
        language=language,
        site_name=meta.site_name,
        description=meta.description,
        canonical_url=canonical,
        image=meta.image,
        section=meta.section,
        tags=meta.tags,
        kind=kind,
        kind_reason=kind_reason,
        access=access,
        access_reason=access_reason,
        teaser=teaser,
        extractor=EXTRACTOR_NAME,
        extractor_version=EXTRACTOR_VERSION,
    )


def judge(extraction: Extraction, min_words: int) -> tuple[Extraction, str | None]:
    """Keep text only for what is an article we saw; otherwise say why (the capture is flagged)."""
    if extraction.access in NOT_THE_PAGE:
        label = NOT_THE_PAGE[extraction.access]
        return replace(extraction, text="", words=0), f"{label}: {extraction.access_reason}"
    if extraction.kind == "index":
        return replace(extraction, text="", words=0), f"index page, not an article ({extraction.kind_reason})"
    words = extraction.words
    if words < min_words:
        found = f" (only {words} words)" if words else ""
        return replace(extraction, text="", words=0), f"no article text found{found}"
    if extraction.access == "paywalled" and extraction.teaser:  # behind a paywall and cut short
        return extraction, f"paywalled: only the teaser was visible ({extraction.teaser})"
    return extraction, None


def extract_body(body: bytes, content_type: str | None, url: str, discovery: Mapping[str, str] | None = None,
                 options: ExtractOptions | None = None) -> tuple[Extraction | None, str | None, str | None]:
    """(extraction, problem, encoding) for a response body: what extract_page computes, from
    plain values only, so a worker process can run it and send back a small answer."""
    options = options or ExtractOptions()
    if not body.strip():
        return None, "empty response body", None
    if not looks_like_html(body, content_type):
        return None, f"not HTML ({media_type(content_type) or 'unknown type'})", None
    if looks_binary(body):
        return None, f"binary data, not HTML (served as {media_type(content_type) or 'no Content-Type'})", None
    html, encoding = decode_html(body, content_type)
    try:
        extraction = extract(html, url, options)
    except Exception as exc:  # a bug or a pathological page must not lose the raw capture
        logger.exception("Extractor failed on %s", url)
        return None, f"extractor error: {type(exc).__name__}: {exc}", encoding
    if extraction is None:
        return None, "HTML could not be parsed", encoding
    judged, problem = judge(with_discovery_evidence(extraction, discovery), options.min_words)
    return judged, problem, encoding


def extract_page(page: FetchedPage, options: ExtractOptions | None = None) -> ExtractedPage:
    """Decode and extract one fetched page; never raises, says why when there is no text."""
    extraction, problem, encoding = extract_body(page.body, page.content_type, page.url, page.discovery, options)
    return ExtractedPage(page, extraction, problem, encoding)


def with_discovery_evidence(extraction: Extraction, discovery: Mapping[str, str] | None) -> Extraction:
    """Fill what the page does not declare from what its feed or sitemap said about it."""
    if not discovery:
        return extraction
    via = discovery.get("via", "discovery")
    published = extraction.published or discovery.get("published")
    return replace(
        extraction,
        title=extraction.title or discovery.get("title"),
        language=extraction.language or discovery.get("language"),
        published=published,
        published_source=extraction.published_source or (via if published else None),
    )
