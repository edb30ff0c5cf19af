"""What flows through the pipeline, as frozen dataclasses (no Scrapy import).

HttpExchange -> one HTTP request and its response as they crossed the wire (one hop).
FetchedPage  -> what the spider received, nothing more.
ExtractedPage -> the page plus what the extractor found (or why it found nothing).
Capture      -> what was written to the store: the pipeline's final item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True, repr=False)
class HttpExchange:
    """One hop of a fetch: the request as sent and the response as received, before any
    decoding (what a WARC request/response record pair holds)."""

    url: str
    method: str
    request_headers: tuple[tuple[str, str], ...]
    """As sent, in order (latin-1 decoded)."""
    request_body: bytes
    status: int
    response_headers: tuple[tuple[str, str], ...]
    """As received, in order, one pair per value (latin-1 decoded)."""
    payload: bytes
    """The response body as transferred: still content-encoded (gzip, br...) when the server encoded it."""
    received_at: datetime
    """When the response arrived, timezone-aware UTC."""
    protocol: str = "HTTP/1.1"

    def __repr__(self) -> str:
        return f"HttpExchange({self.method} {self.url!r} -> {self.status}, {len(self.payload)} bytes)"


RENDER_MODES = ("never", "auto", "always")
"""When a page is rendered in a browser: never, only when its HTML holds no article text and
looks like an app shell (auto), or every page (always)."""


@dataclass(frozen=True, slots=True)
class RenderPolicy:
    """How the pages of a site (or of one `archive --render` run) may be rendered."""

    mode: str = "never"
    """One of RENDER_MODES."""
    hosts: tuple[str, ...] = ()
    """Domains a rendered page may fetch from (subdomains included); every other request of the
    page (ads, trackers, fonts, other sites' scripts) is blocked."""


@dataclass(frozen=True, slots=True, repr=False)
class Rendering:
    """What rendering a fetched page in a browser gave: the DOM it built from the fetched bytes,
    or why there is none."""

    reason: str
    """Why the page was rendered (the mode, and for auto the app-shell signals)."""
    ms: int
    """Wall time of the render in milliseconds, from a browser page being free to the DOM taken."""
    dom: bytes | None = None
    """The rendered document (document.documentElement.outerHTML with its doctype), UTF-8; None on failure."""
    url: str | None = None
    """The page's URL when the snapshot was taken (a script may have changed it)."""
    error: str | None = None
    """Why rendering failed, in a few words; None when it worked."""
    requests: int = 0
    """Requests the page made beyond its own document (allowed through)."""
    blocked: int = 0
    """Requests the page tried to make to hosts it may not fetch from (aborted)."""
    queued_ms: int = 0
    """Milliseconds the render waited for a browser page (RENDER_MAX_PAGES, RENDER_MAX_PAGES_PER_SITE)."""
    text_from: str = "dom"
    """Where the capture's text comes from: "dom", or "fetched" when the DOM held less article
    text than the fetched HTML (a script that hid or replaced the article) or rendering failed."""

    def __repr__(self) -> str:
        size = "failed: " + (self.error or "") if self.dom is None else f"{len(self.dom)} bytes"
        return f"Rendering({self.ms} ms, {size})"


@dataclass(frozen=True, slots=True, repr=False)
class FetchedPage:
    requested_url: str
    """The URL we were asked to archive, before redirects."""
    url: str
    """The final URL after redirects (the one whose body this is)."""
    status: int
    """HTTP status of the final response."""
    headers: tuple[tuple[str, str], ...]
    """Response headers as received, in order, one pair per value (latin-1 decoded)."""
    body: bytes
    """The response body, byte for byte (after transfer/content decoding such as gzip)."""
    fetched_at: datetime
    """When the response arrived, timezone-aware UTC."""
    redirect_urls: tuple[str, ...] = ()
    """URLs passed through before `url`, in order (empty without redirects)."""
    site: str | None = None
    """The configured site this page was crawled for (None for one-off archiving)."""
    discovery: Mapping[str, str] | None = field(default=None, compare=False)
    """How the URL was found: via (feed, sitemap, section, manual), source URL, and the
    date, title or lastmod the feed or sitemap gave as evidence."""
    pointer: Mapping[str, Any] | None = field(default=None, compare=False)
    """The article's latest.json as a crawl read it when deciding to fetch (None: it had none)."""
    pointer_read: bool = field(default=False, compare=False)
    """Whether `pointer` was read while deciding: the archive pipeline then need not read it again."""
    exchanges: tuple[HttpExchange, ...] = field(default=(), compare=False)
    """Each hop of the fetch as it crossed the wire, redirects first, the final response last
    (empty when the page did not come over HTTP, e.g. `newsarchive extract`)."""
    render: RenderPolicy | None = field(default=None, compare=False)
    """Whether and how the page may be rendered in a browser (None: never)."""
    rendering: Rendering | None = field(default=None, compare=False)
    """The page rendered in a browser, when it was: the DOM snapshot extraction then reads."""

    def __repr__(self) -> str:  # Scrapy logs items: never dump the body
        return f"FetchedPage(url={self.url!r}, status={self.status}, {len(self.body)} bytes)"

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")


KINDS = ("article", "index", "other")
"""What a page is: an article, an index (home, section or tag page), or other."""
NOT_THE_PAGE = {"bot_challenge": "bot challenge", "consent_wall": "consent wall", "soft_404": "soft 404"}
"""Access states in which what was fetched is not the page itself, each with its label for people."""
BLOCKING_WALLS = ("bot_challenge", "consent_wall")
"""Of those, the walls put in front of the page (a crawl's summary counts them as "blocked")."""
ACCESS_STATES = ("free", "paywalled", *NOT_THE_PAGE)


@dataclass(frozen=True, slots=True)
class Extraction:
    """What the extractor found in one HTML page. Strings are trimmed; missing is None."""

    text: str
    """Article body: UTF-8, trimmed, paragraphs separated by a single "\\n". Empty if none was found."""
    words: int = 0
    """Words in `text` (CJK counted at two characters a word)."""
    title: str | None = None
    """The headline (without the site name); it is not repeated in `text`."""
    authors: tuple[str, ...] = ()
    """Each author once, without "By" or bio text."""
    published: str | None = None
    """Publication date, ISO 8601 (a date, or date and time with offset when the page gives one)."""
    published_source: str | None = None
    """Where `published` came from: json-ld, meta, time-element, url or text."""
    modified: str | None = None
    modified_source: str | None = None
    language: str | None = None
    """BCP 47 language tag as declared by the page (e.g. "en", "en-GB")."""
    site_name: str | None = None
    description: str | None = None
    canonical_url: str | None = None
    """The page's <link rel="canonical"> (absolute), if it declares one."""
    image: str | None = None
    """The top image (JSON-LD image, og:image)."""
    section: str | None = None
    tags: tuple[str, ...] = ()
    kind: str = "other"
    """One of KINDS."""
    kind_reason: str = ""
    access: str = "free"
    """One of ACCESS_STATES: free, paywalled, or a state NOT_THE_PAGE."""
    access_reason: str = ""
    teaser: str | None = None
    """Why the text is only the start of the article (a paywall's teaser); None when it reads as
    the whole article. A paywalled page whose whole text was visible (metered, client-side
    paywalls) is archived as a complete article, its access state kept."""
    extractor: str = "trafilatura"
    extractor_version: str = ""


@dataclass(frozen=True, slots=True, repr=False)
class ExtractedPage:
    page: FetchedPage
    extraction: Extraction | None
    """None when extraction was not possible (not HTML, empty body, extractor error)."""
    problem: str | None = None
    """Why there is no article text, in a few words; None when text was found."""
    encoding: str | None = None
    """The character encoding the body was decoded with; None if it was not decoded."""

    def __repr__(self) -> str:
        chars = len(self.extraction.text) if self.extraction else 0
        return f"ExtractedPage(url={self.page.url!r}, text={chars} chars, problem={self.problem!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Capture:
    """One archived capture: the item the archive pipeline hands on."""

    requested_url: str
    url: str
    capture_id: str
    location: str
    """Where the capture's objects live, e.g. "archive/example.com/<hash>/<capture_id>/"."""
    status: int
    title: str | None
    text_chars: int
    problem: str | None = None
    """Set when the capture is flagged (no text, not an article, a wall, a teaser)."""
    change: str = "new"
    """new (first capture of the article), changed (text differs from the previous capture),
    unchanged (same text as the previous capture: nothing new was written) or recaptured
    (archived again on request although the text is the same)."""
    kind: str | None = None
    access: str | None = None
    site: str | None = None
    record: dict[str, object] = field(default_factory=dict, compare=False)
    """The capture record (the WARC's metadata record; what `show --json` prints)."""

    def __repr__(self) -> str:
        return f"Capture(url={self.requested_url!r}, location={self.location!r}, problem={self.problem!r})"
