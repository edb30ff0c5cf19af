"""Our boilerplate layer around trafilatura (pure functions on lxml trees and text).

trafilatura finds the article container well, but keeps what publishers put *inside* it:
subscription and membership boxes, newsletter sign-ups, "Read more" cards, share bars,
author bios, related-story lists. Two general passes, no per-site rules:

1. preclean(tree), before trafilatura: remove elements that are boilerplate by markup (tag,
   ARIA role, class/id tokens such as "newsletter", "paywall", "related", "share") or by text
   (a short block whose words are a call to action: "Support independent journalism... Join
   now"), or by shape (a list that is nothing but links). A guard keeps any element holding
   a large share of the page's paragraph text, so a body container that happens to be called
   "paywall-content" or "article-share-wrapper" is never thrown away.
2. clean_lines(lines), after trafilatura: drop leftover lines that are navigation words or
   calls to action ("Advertisement", "READ MORE: ...", "Thanks for signing up!").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from lxml.html import HtmlElement

# Elements that never hold article text.
DROP_TAGS = {"nav", "aside", "header", "footer", "form", "button", "select", "textarea", "input", "dialog",
             "figcaption", "iframe", "svg", "video", "audio", "template", "noscript", "label"}
DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search", "menu",
              "menubar", "toolbar", "tablist"}

# class/id tokens that mark boilerplate (class and id are split on -, _, spaces and camelCase).
BOILERPLATE_TOKENS = frozenset("""
    newsletter newsletters subscribe subscription subscriptions subscriber paywall regwall membership donate
    donation donations contribution contributions epic signup cta banner modal popup overlay
    related recirc recirculation trending popular mostread mostpopular share sharing sharebar sharedaddy
    sharetools social socials comment comments commentlist disqus discussion cookie cookies consent gdpr cmp
    promo promotion promoted advert advertisement advertising ad ads adslot adunit arcad dfp sponsor sponsored
    outbrain taboola zergnet bio author authors byline contributor ticker breadcrumb breadcrumbs pagination
    pager tags tagcloud topics toolbar sidebar widget widgets nav navbar navigation menu masthead skip
    standfirst dek headline subtitle strapline kicker reprints print rating ratings reactions
    caption credit credits contact contacts presscontact mediacontact pressekontakt
""".split())
# Tokens that also turn up on text blocks ("after-ad-1", "author-content", "share-wrapper"): they
# only count on an element without paragraph text of its own.
WEAK_TOKENS = frozenset("""
    ad ads advert advertising author authors bio byline contributor caption credit credits print rating ratings
    share sharing social tags topics widget widgets sidebar banner menu skip dek kicker subtitle strapline headline
""".split())
_WEAK_MAX_P_CHARS = 80
# Multi-word class names whose parts are innocent alone.
BOILERPLATE_JOINED = ("readmore", "seemore", "showmore", "loadmore", "moreon", "morestories", "furtherreading",
                      "relatedposts", "youmightlike", "recommended", "alsoread", "mostviewed", "newsfeed",
                      "authorbio", "aboutauthor", "authorcard", "authorbox", "jumplink", "videoplayer",
                      "mediaplayer", "kgcta", "ctacard", "kgsignup", "inlinelink", "richlink", "subline")
_NAME_ATTRIBUTES = ("class", "id", "data-component", "data-area", "data-testid", "data-qa", "data-module",
                    "data-type", "data-gu-name")
_TOKEN_SPLIT = re.compile(r"[\s_\-:./]+|(?<=[a-z])(?=[A-Z])")

# A short block with one of these is a call to action, not article text.
_CTA = re.compile(
    r"subscribe (now|today|to (our|the|continue|unlock)|for|and)|subscribe$|already (a )?(subscriber|member)"
    r"|become an? (member|subscriber|supporter|patron)|(join|sign up|register) (now|today|for free)"
    r"|support (independent|quality|local|our|free|fearless|open)\b.{0,40}\b(journalism|reporting|newsroom)"
    r"|sign(ing)? up (for|to) (our|\w+'s)\b|in your inbox|thanks? (you )?for (signing|subscribing)"
    r"|(sign|subscribe|get|receive|delivered|email|free|daily|weekly)\b.{0,60}\bnewsletter"
    r"|\bnewsletter\b.{0,60}\b(sign|subscribe|inbox|email|free|daily|weekly)|^.{0,40}\bnewsletters?\b.{0,40}$"
    r"|error processing your subscription|follow (us|him|her|them|\w+) on (twitter|facebook|x|instagram|telegram)"
    r"|^(read|see|show|load) more\b|continue reading|click here|don'?t miss|story continues (below|after)"
    r"|^advertisement|^share (this|on|via)|(print|order) (article|reprints)|all rights reserved"
    r"|this copy is for your personal|we use cookies|(accept|reject) (all )?cookies"
    r"|(read|see|view|review|manage|update) our privacy|privacy (policy|settings)\.?$"
    r"|small favou?r to ask|make a (contribution|donation)|donate (now|today)|from just [$€£]\d+ a (month|year)"
    r"|support us from just|(download|get) (the|our) .{0,30}\bapp\b|sign in (or|to)|log ?in to (continue|comment)"
    r"|leave a (comment|reply)|join the (conversation|discussion)|comments? \(\d+\)"
    r"|\d+ out of [\d,.]+ (members|subscribers|supporters)|help us reach"
    r"|\b(abonnieren|jetzt (registrieren|anmelden|abonnieren|testen)|in ihrem postfach|zum newsletter|mitdiskutieren"
    r"|s'abonner|abonnez-vous|inscrivez-vous|suscr[ií]bete|suscribirse|iscriviti|abbonati)\b",
    re.IGNORECASE,
)
_CTA_MAX_CHARS = 320
# Cheap substring test before the regex: every pattern above contains one of these.
_CTA_HINTS = ("subscri", "member", "join", "sign", "register", "support", "newsletter", "inbox", "follow", "more",
              "continu", "click", "miss", "advert", "share", "print", "reprint", "rights", "copy", "cookie",
              "privacy", "favo", "donat", "contribut", "app", "log", "comment", "conversation", "discussion",
              "help us", "out of", "from just", "abonn", "registrier", "anmeld", "postfach", "mitdiskut", "inscri",
              "suscri", "iscri", "abbona")
_TEXT_BLOCKS = {"p", "li", "h2", "h3", "h4", "h5", "h6", "dd", "blockquote"}

# Lines trafilatura keeps that are navigation words, not text.
_NAV_LINES = frozenset("""
    advertisement|read more|see more|show more|load more|more|comments|comment|share|share this|share this article
    |print|print article|order reprints|loading|thank you|thanks|sorry|don't miss|dont miss|related|related articles
    |related stories|related topics|more on this story|most read|most popular|trending|top stories|latest
    |continue reading the main story|story continues below advertisement|advertisement - scroll to continue
    |sign up|subscribe|subscribe now|join now|something to consider|media caption|play video|watch|skip advertisement
    |reporter|video|photo|image|listen|listen to this article|copy link|copied|email|facebook|twitter|whatsapp
    |start over|replay|replay gallery|restart gallery|view gallery|next gallery|previous photo|next photo
    |view fullscreen|enlarge|buy photo|share this photo
""".replace("\n", "").split("|"))
_LINE_PREFIX = re.compile(
    r"^(read more|see more|also read|read also|related|more|watch|listen|click here|subscribe to|sign up for"
    r"|follow us on|you can also follow|download the|get the|recommended|more from|more on|trending"
    # "read also" in the languages of the pages we archive most
    r"|lesen sie auch|lesen sie mehr|mehr zum thema|auch interessant|(à )?lire aussi|voir aussi|lee también"
    r"|leer también|te puede interesar|leggi anche|leia também|veja também|lees ook|czytaj (także|też|również)"
    r"|zobacz (także|też)|läs också|läs mer|læs også|les også|čtěte také|přečtěte si také|читайте также"
    r"|ilgili haber(ler)?)\b\s*[:|-]",
    re.IGNORECASE,
)
# A press release's contact block: this heading and the short lines after it, at the end.
_CONTACT_HEADING = re.compile(
    r"^(press|media|news) ?(contacts?|enquiries|inquiries)|^(presse|medien)kontakte?|^kontakt für (die )?medien"
    r"|^contacts? (presse|médias?)|^contacto de prensa|^contacto para medios|^contatti? (stampa|per la stampa)"
    r"|^contato (de|para) imprensa|^kontakt dla mediów|^perscontact|^pressekontakt",
    re.IGNORECASE,
)
_CONTACT_LINE_MAX_WORDS = 14
_GALLERY_END = re.compile(r"^(you'?ve reached the |this is the )?end of (this|the) (gallery|slideshow|photo gallery)\b",
                          re.IGNORECASE)
_MARK = re.compile(r"\[(insight|video|reaction|news|warning|pictures|poll|live)\]\s*\|?$", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _tokens(raw: str) -> frozenset[str]:
    return frozenset(t.lower() for t in _TOKEN_SPLIT.split(raw) if t)


@lru_cache(maxsize=4096)
def _name_verdict(raw: str) -> str:
    """"strong", "weak" or "" for a class/id/component name string."""
    tokens = _tokens(raw)
    joined = "".join(t.lower() for t in _TOKEN_SPLIT.split(raw) if t)
    if not BOILERPLATE_TOKENS.isdisjoint(tokens - WEAK_TOKENS) or any(part in joined for part in BOILERPLATE_JOINED):
        return "strong"
    return "weak" if not WEAK_TOKENS.isdisjoint(tokens) else ""


def is_boilerplate_markup(element: HtmlElement, paragraph_chars: int = 0) -> bool:
    """Boilerplate by tag, ARIA role, hidden state, or class/id/component names.

    `paragraph_chars` is how much <p> text the element holds: weak name tokens only count
    on elements with (almost) none.
    """
    if element.tag in DROP_TAGS:
        return True
    attrib = element.attrib
    if not attrib:
        return False
    if (attrib.get("role") or "").lower() in DROP_ROLES:
        return True
    if "hidden" in attrib or attrib.get("aria-hidden") == "true":
        return True
    style = attrib.get("style")
    if style:
        style = style.replace(" ", "").lower()
        if "display:none" in style or "visibility:hidden" in style:
            return True
    names = " ".join(attrib[name] for name in _NAME_ATTRIBUTES if name in attrib).strip()
    if not names:
        return False
    verdict = _name_verdict(names)
    return verdict == "strong" or (verdict == "weak" and paragraph_chars < _WEAK_MAX_P_CHARS)


def is_call_to_action(text: str) -> bool:
    """A short text whose point is to make the reader act (subscribe, donate, click...)."""
    if not 0 < len(text) <= _CTA_MAX_CHARS * 2:
        return False
    text = " ".join(text.split())
    if len(text) > _CTA_MAX_CHARS:
        return False
    lowered = text.lower()
    return any(hint in lowered for hint in _CTA_HINTS) and bool(_CTA.search(text))


def _paragraph_shares(root: HtmlElement) -> dict[HtmlElement, int]:
    """Text length inside <p> for every element that contains a <p> (added up the ancestors)."""
    shares: dict[HtmlElement, int] = {}
    for paragraph in root.iter("p"):
        length = len(paragraph.text_content().strip())
        if not length:
            continue
        element: HtmlElement | None = paragraph
        while element is not None:
            shares[element] = shares.get(element, 0) + length
            element = element.getparent()
    return shares


def _is_link_list(element: HtmlElement) -> bool:
    items = [c for c in element if c.tag == "li"]
    if len(items) < 2:
        return False
    text = len("".join(element.itertext()).strip())
    links = len("".join(t for a in element.iter("a") for t in a.itertext()).strip())
    return text > 0 and links >= 0.7 * text


def preclean(tree: HtmlElement, keep_share: float = 0.4) -> int:
    """Remove boilerplate elements in place; return how many were removed.

    An element holding at least `keep_share` of the page's <p> text is never removed; a
    call-to-action paragraph takes its small surrounding box with it.
    """
    body = tree.find(".//body")
    root = body if body is not None else tree
    shares = _paragraph_shares(root)
    total = max(shares.get(root, 0), 1)
    doomed: list[HtmlElement] = []
    stack = [child for child in root if isinstance(child.tag, str)]
    while stack:
        element = stack.pop()
        tag = element.tag
        if shares.get(element, 0) < keep_share * total:
            if is_boilerplate_markup(element, shares.get(element, 0)) or (
                    tag in ("ul", "ol") and _is_link_list(element)):
                doomed.append(element)
                continue  # its descendants go with it
            if tag in _TEXT_BLOCKS and (tag != "p" or shares.get(element, 0) <= 2 * _CTA_MAX_CHARS) \
                    and is_call_to_action(element.text_content()):
                doomed.append(_cta_box(element, root, shares, total))
                continue
        stack.extend(child for child in element if isinstance(child.tag, str))
    for element in doomed:
        if element.getparent() is not None:  # a CTA box may already be gone with an earlier one
            _drop(element)
    return len(doomed)


def _cta_box(element: HtmlElement, root: HtmlElement, shares: dict[HtmlElement, int], total: int) -> HtmlElement:
    """A call to action takes its small surrounding box (promo card, banner) with it."""
    box = element.getparent()
    if (box is not None and box.tag in ("div", "section", "aside") and box is not root
            and shares.get(box, 0) < 0.15 * total and len(box.text_content()) <= 2 * _CTA_MAX_CHARS):
        return box
    return element


def _drop(element: HtmlElement) -> None:
    """Remove an element but keep its tail text (which belongs to the parent)."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    previous = element.getprevious()
    if tail and tail.strip():
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _line_key(line: str) -> str:
    return re.sub(r"[\W_]+", " ", line.casefold()).strip()


def clean_lines(lines: Iterable[str]) -> list[str]:
    """Drop navigation words and calls to action."""
    kept: list[str] = []
    for line in lines:
        key = _line_key(line.lstrip("-*• "))
        if not key or key in _NAV_LINES or _LINE_PREFIX.match(line.lstrip("-*• ")) or _MARK.search(line) \
                or _GALLERY_END.match(line):
            continue
        if is_call_to_action(line):
            continue
        kept.append(line)
    return _without_contact_block(kept)


def _without_contact_block(lines: list[str]) -> list[str]:
    """Drop a press-contact block at the end: its heading and the short lines (names, phone
    numbers, addresses) after it, when nothing longer follows."""
    for at in range(len(lines) - 1, max(-1, len(lines) - 25), -1):
        if _CONTACT_HEADING.match(lines[at].lstrip("-*• ")) and len(lines[at].split()) <= 6 \
                and all(len(line.split()) <= _CONTACT_LINE_MAX_WORDS for line in lines[at + 1:]):
            return lines[:at]
    return lines
