"""What a page is (article, index, other) and whether we saw it whole (pure).

Each decision comes with the reason, in a few words, so a record can be audited:
kind "article" because "JSON-LD @type NewsArticle"; access "paywalled" because
"JSON-LD isAccessibleForFree=false".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from crawler.extraction.metadata import ARTICLE_TYPES, INDEX_TYPES, PageMetadata
from crawler.model.items import NOT_THE_PAGE
from crawler.model.urls import looks_like_article_url

_CHALLENGE_TITLE = re.compile(
    r"^(just a moment|attention required|access denied|are you a robot|verify you are human|checking your browser"
    r"|pardon our interruption|security check|please verify|one more step|ddos-guard|robot or human)",
    re.IGNORECASE,
)
_CHALLENGE_MARKUP = ("/cdn-cgi/challenge-platform", "cf-browser-verification", "cf_chl_opt", "_incapsula_resource",
                     "captcha-delivery.com", "px-captcha", "perimeterx", "ddos-guard", "challenges.cloudflare.com")
_CONSENT = re.compile(
    r"we use cookies|(accept|reject|refuse) all|manage (privacy|cookie|consent)|before you continue"
    r"|your privacy choices|consent to (the use|our)|cookie (settings|preferences|policy)|(iab|tcf) ",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(
    r"\b(page|article|story|content)s? (was )?(not found|could not be found|can(no|')t be found|does not exist"
    r"|no longer (exists|available))|\b(error )?404\b.{0,20}(not found|error|page)|^(error )?404\b"
    r"|we couldn'?t find (the|that|this) page|^oops\b|^nothing (was )?found",
    re.IGNORECASE,
)


# What a page says where its text stops for non-subscribers. Phrases a metered page also shows
# in its header or a newsletter box ("Already a subscriber?", "Subscribe") are not among them.
_TRUNCATION = re.compile(
    r"continue reading (this|the|your)? ?(article|story)? ?(with|by|for|when you)? ?(a |an )?"
    r"(subscri|regist|sign|log|free account|member)"
    r"|(subscribe|sign up|register|log ?in|become a member) (now )?to (continue|keep|finish) reading"
    r"|to (read|see|access) (the|this) (full|whole|rest of the|complete|entire) (article|story)"
    r"|(this|the rest of this) (article|story|content) is (only )?(available|reserved|exclusive)"
    r" (to|for) (subscribers|members|paying)"
    r"|(you have|you've) (reached|used) (your|all of your) (free|monthly) (article|story|limit)"
    r"|weiterlesen mit|jetzt weiterlesen|lesen sie (jetzt )?weiter mit|la suite est r[ée]serv[ée]e"
    r"|article r[ée]serv[ée] aux abonn[ée]s|contenido exclusivo para suscriptores",
    re.IGNORECASE,
)
_TRUNCATION_ANCHORS = ("reading", "full story", "full article", "whole story", "rest of the", "complete article",
                       "subscribers", "members", "free article", "weiterlesen", "weiter mit", "la suite",
                       "abonné", "suscriptores")
_ELLIPSIS = ("…", "...", "[…]", "(…)")


@dataclass(frozen=True, slots=True)
class PageSignals:
    """What the classifiers look at, read off the page before any cleaning."""

    title: str
    """The <title> text (not the headline)."""
    h1: str
    markup: str
    """The start of the HTML source, lowercased, for vendor fingerprints."""
    visible_text: str
    """The start of the page's text, space-collapsed, for consent wording."""
    link_density: float
    """Share of the page's text (characters) that sits inside links."""
    paywall_markup: bool
    """An element marked as a paywall or regwall (class/id) is present."""
    truncation: str | None = None
    """The first phrase on the page that says the text stops for non-subscribers, if any."""


def page_signals(tree: HtmlElement, html: str) -> PageSignals:
    """Measured with XPath string functions, which run in C: cheap even on 500 kB pages."""
    body = tree.find(".//body")
    root = body if body is not None else tree
    h1s = tree.xpath("//h1")
    text = str(root.xpath("normalize-space(.)"))  # once, for the length, the start and the truncation phrases
    total = len(text)
    link_chars = len(" ".join(" ".join(root.xpath(".//a//text()")).split()))
    return PageSignals(
        title=" ".join((tree.findtext(".//title") or "").split()),
        h1=" ".join(h1s[0].text_content().split()) if h1s else "",
        markup=html[:20_000].lower(),
        visible_text=text[:15_000],
        link_density=min(link_chars / total, 1.0) if total else 0.0,
        paywall_markup=bool(tree.xpath(
            '//*[contains(@class, "paywall") or contains(@id, "paywall") or contains(@class, "regwall")'
            ' or contains(@class, "piano-") or contains(@class, "tp-modal")]')),
        truncation=truncation_phrase(text),
    )


def truncation_phrase(text: str) -> str | None:
    """The first phrase in `text` that says the article stops for non-subscribers. The pattern is
    tried only around its anchor words, found by str.find: a regular expression of many
    alternatives run over a whole page's text cost ~3 ms a page."""
    lowered = text.lower()
    hits = sorted(at for anchor in _TRUNCATION_ANCHORS if (at := lowered.find(anchor)) >= 0)
    for at in hits:
        for start in _positions(lowered, lowered[at:at + 12], at):
            match = _TRUNCATION.search(lowered, max(0, start - 90), start + 120)
            if match:  # quoted as written (lower() can change a string's length: then as lowered)
                return (text if len(text) == len(lowered) else lowered)[match.start():match.end()]
    return None


def _positions(text: str, needle: str, first: int, most: int = 50) -> list[int]:
    found: list[int] = []
    at = first
    while at >= 0 and len(found) < most:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


def teaser_evidence(signals: PageSignals, meta: PageMetadata, text: str, words: int) -> str | None:
    """Why the body found is only the start of the article (a paywall's teaser), or None when it
    reads as the whole article. A paywall flag alone is no evidence: many publishers declare
    isAccessibleForFree=false and serve the whole text (metered and client-side paywalls)."""
    if meta.word_count and words < 0.6 * meta.word_count:
        return f"{words} of the {meta.word_count} words the page declares (JSON-LD wordCount)"
    if signals.truncation:
        return f"the page says the text stops ({signals.truncation!r})"
    last = text.rstrip().rsplit("\n", 1)[-1] if text else ""
    if last.endswith(_ELLIPSIS) and words < 400:
        return "the text breaks off with an ellipsis"
    if signals.paywall_markup and 0 < words < 150:
        return f"paywall markup and a body of only {words} words"
    return None


def classify_access(signals: PageSignals, meta: PageMetadata, words: int, status: int = 200) -> tuple[str, str]:
    """One of crawler.model.items.ACCESS_STATES, with the reason."""
    if _CHALLENGE_TITLE.match(signals.title) or _CHALLENGE_TITLE.match(signals.h1):
        return "bot_challenge", f"challenge page title {signals.title or signals.h1!r}"
    vendor = next((mark for mark in _CHALLENGE_MARKUP if mark in signals.markup), None)
    if vendor and words < 150:
        return "bot_challenge", f"bot-protection markup ({vendor})"
    article_declared = bool(set(meta.schema_types) & ARTICLE_TYPES) or meta.og_type == "article"
    if not article_declared:
        consent_hits = len(_CONSENT.findall(signals.visible_text))
        if consent_hits >= 3 and (words < 800 or _CONSENT.search(signals.title)):
            return "consent_wall", f"cookie/consent wording ({consent_hits} phrases) and no article markup"
    not_found = _NOT_FOUND.search(signals.title) or _NOT_FOUND.search(signals.h1)
    if status == 200 and not_found and (words < 150 or not set(meta.schema_types) & ARTICLE_TYPES):
        return "soft_404", f"HTTP 200 with a not-found page ({(signals.h1 or signals.title)[:60]!r})"
    if meta.accessible_for_free is False or meta.paywalled_selectors:
        return "paywalled", "JSON-LD isAccessibleForFree=false"
    if signals.paywall_markup and 0 < words < 150:
        return "paywalled", "paywall markup and a short body"
    if signals.truncation and 0 < words < 400:
        return "paywalled", f"the page says the text stops for non-subscribers ({signals.truncation!r})"
    return "free", "no paywall or wall detected"


def classify_kind(signals: PageSignals, meta: PageMetadata, words: int, access: str, url: str | None,
                  min_words: int) -> tuple[str, str]:
    """One of crawler.model.items.KINDS, with the reason."""
    if access in NOT_THE_PAGE:
        return "other", f"not the page itself ({access})"
    article_types = sorted(set(meta.schema_types) & ARTICLE_TYPES)
    if article_types:
        return "article", f"JSON-LD @type {article_types[0]}"
    if meta.og_type == "article":
        return "article", "og:type article"
    index_types = sorted(set(meta.schema_types) & (INDEX_TYPES - {"website"}))
    if index_types:
        return "index", f"JSON-LD @type {index_types[0]}"
    if url and not urlsplit(url).path.strip("/") and not looks_like_article_url(url):  # /?p=2895 is a post
        return "index", "the site's home page"
    if signals.link_density > 0.5 and words < 400:
        return "index", f"mostly links ({signals.link_density:.0%} of the text)"
    if words >= min_words and (words >= 150 or looks_like_article_url(url)):
        return "article", f"{words} words of body text"
    if meta.og_type == "website" and signals.link_density > 0.35:
        return "index", f"og:type website, {signals.link_density:.0%} links"
    if words >= min_words:
        return "article", f"{words} words of body text"
    return "other", f"no article body ({words} words)"
