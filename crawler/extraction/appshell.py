"""Does a page's HTML look like an app shell, whose article a script builds in the browser? (pure)

`render = "auto"` renders a page only when extraction found no article text in its fetched HTML
*and* the HTML shows one of these signals, so a site that renders on the server costs nothing
extra:

  mount      an element scripts mount the app into, with (almost) no text: id root, app,
             __next, __nuxt, ___gatsby, ...; data-reactroot, ng-version, data-v-app; an
             Angular-style custom element such as <app-root>;
  noscript   a <noscript> that asks for JavaScript ("enable JavaScript", "requires JavaScript":
             the word is the same in most languages);
  state      application state of 500 characters or more handed to the script inline: __NEXT_DATA__,
             window.__NUXT__, __INITIAL_STATE__, __PRELOADED_STATE__, __APOLLO_STATE__, any
             window.__NAME__ = ..., or a JSON <script> that is not JSON-LD;
  scripts    inline and linked scripts outweigh the visible text: 20 script bytes or more per
             byte of text, with fewer than 150 visible words.

A bot challenge or consent wall is never rendered through: those are walls, not shells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.html
from lxml import etree

MOUNT_IDS = frozenset({"root", "app", "__next", "__nuxt", "___gatsby", "svelte", "app-root", "react-root",
                       "root-app", "main-app", "application", "mount", "spa", "vue-app"})
MOUNT_ATTRIBUTES = ("data-reactroot", "ng-version", "ng-app", "data-v-app", "data-server-rendered")
MOUNT_TAGS = frozenset({"div", "main", "section", "article", "body"})
STATE = re.compile(r"__NEXT_DATA__|__NUXT__|__INITIAL_STATE__|__PRELOADED_STATE__|__APOLLO_STATE__|"
                   r"__REDUX_STATE__|__remixContext|__INITIAL_PROPS__|window\.__[A-Z][A-Z_]+__\s*=")
JSON_TYPES = ("application/json", "text/json")
STATE_MIN_CHARS = 500
MOUNT_MAX_WORDS = 20
SCRIPT_RATIO = 20
SCRIPT_MAX_WORDS = 150
_INVISIBLE = ("script", "style", "noscript", "template", "svg")


@dataclass(frozen=True, slots=True)
class ShellEvidence:
    words: int
    """Visible words in the body (scripts, styles and <noscript> left out)."""
    script_chars: int
    """Characters of inline script, plus 2000 for each linked script."""
    signals: tuple[str, ...]
    """The app-shell signals found, each in a few words (empty: not a shell)."""

    @property
    def is_shell(self) -> bool:
        return bool(self.signals)


def _words(text: str) -> int:
    return len(text.split())


def shell_evidence(html: str) -> ShellEvidence:
    """The app-shell signals in a page's HTML (see the module docstring)."""
    try:
        root = lxml.html.document_fromstring(html) if html.strip() else None
    except (etree.ParserError, ValueError):
        root = None
    if root is None:
        return ShellEvidence(0, 0, ())
    signals: list[str] = []
    body = root.find("body")
    scope = body if body is not None else root
    texts = [t for t in scope.xpath(".//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
                                     " or ancestor::template or ancestor::svg)]")]
    words = sum(_words(t) for t in texts)
    scripts = root.xpath("//script")
    script_chars = sum(len(s.text or "") + (2000 if s.get("src") else 0) for s in scripts)

    for element in scope.iter():
        if not isinstance(element.tag, str) or (element.tag not in MOUNT_TAGS and "-" not in element.tag):
            continue
        ident = (element.get("id") or "").lower()
        marked = ident in MOUNT_IDS or any(element.get(a) is not None for a in MOUNT_ATTRIBUTES)
        custom = "-" in element.tag and element.tag.endswith("-root")
        if (marked or custom) and _visible_words(element) <= MOUNT_MAX_WORDS:
            what = f"#{ident}" if ident in MOUNT_IDS else f"<{element.tag}>"
            signals.append(f"empty mount element {what}")
            break
    for noscript in root.xpath("//noscript"):
        text = " ".join(noscript.itertext()).lower()
        if "javascript" in text or "java script" in text:
            signals.append("<noscript> asks for JavaScript")
            break
    for script in scripts:
        kind = (script.get("type") or "").split(";")[0].strip().lower()
        code = script.text or ""
        if kind == "application/ld+json":
            continue
        marker = STATE.search(code[:4000]) or STATE.search(script.get("id") or "")
        if (marker or kind in JSON_TYPES) and len(code) >= STATE_MIN_CHARS:
            name = marker.group(0).split("=")[0].strip() if marker else "JSON <script>"
            signals.append(f"inline state {name} ({len(code):,} chars)")
            break
    text_chars = sum(len(t.strip()) for t in texts)
    if words < SCRIPT_MAX_WORDS and script_chars >= SCRIPT_RATIO * max(text_chars, 1) and script_chars >= 2000:
        signals.append(f"scripts outweigh text ({script_chars // 1000} kB of script, {words} words)")
    return ShellEvidence(words, script_chars, tuple(signals))


def _visible_words(element: etree._Element) -> int:
    return sum(_words(t) for t in element.xpath(
        ".//text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]"))


def render_reason(mode: str, text_found: bool, wall: bool, html: str | None) -> str | None:
    """Why a fetched page should be rendered under `mode`, or None when it should not.

    `text_found`: extraction found article text in the fetched HTML; `wall`: what was fetched is
    a bot challenge or consent wall; `html`: the decoded page (None when it is not HTML)."""
    if mode == "never" or html is None:
        return None
    if mode == "always":
        return "render = always"
    if text_found or wall:
        return None
    evidence = shell_evidence(html)
    if not evidence.is_shell:
        return None
    return "no article text in the fetched HTML; app shell: " + "; ".join(evidence.signals)


DOM_MIN_SHARE = 0.5
"""A rendered DOM whose article text is shorter than this share of the fetched HTML's is not
trusted over it: a script hid, truncated or replaced the article (a paywall script, a bot check
whose own requests were blocked, an error page)."""


def keep_fetched_text(fetched_chars: int, fetched_flagged: bool, dom_chars: int, dom_flagged: bool) -> bool:
    """Should a rendered page keep the text its fetched HTML gave rather than its DOM's? Yes when
    the fetched HTML had text and the DOM has clearly less (DOM_MIN_SHARE), or the DOM's is
    flagged (a wall, a teaser, no article) where the fetched HTML's was not."""
    if not fetched_chars:
        return False
    return dom_chars < DOM_MIN_SHARE * fetched_chars or (dom_flagged and not fetched_flagged)
