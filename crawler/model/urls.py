"""URL checks and canonical forms (pure)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

SUPPORTED_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class BadURLError(ValueError):
    """A URL we cannot archive; the message says why in a few words."""


def check_url(url: str) -> str:
    """Return `url` stripped of surrounding blanks if it is an absolute http(s) URL, else raise BadURLError."""
    candidate = url.strip()
    if not candidate:
        raise BadURLError("empty URL")
    if any(ch.isspace() for ch in candidate):
        raise BadURLError("URL contains whitespace")
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError as exc:
        raise BadURLError(f"malformed URL ({exc})") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise BadURLError(f"no scheme; did you mean https://{candidate}?")
    if scheme not in SUPPORTED_SCHEMES:
        raise BadURLError(f"unsupported scheme {scheme!r} (only http and https)")
    if not parts.hostname:
        raise BadURLError("no host name")
    if port == 0:
        raise BadURLError("port 0 is not a valid port")
    return candidate


@lru_cache(maxsize=4096)
def canonical_url(url: str) -> str:
    """The form used to identify a URL in the archive.

    Scheme and host lowercased, IDNA host, default port dropped, path and query
    percent-encoded consistently, query arguments sorted, fragment removed.
    """
    canonical = canonicalize_url(url, keep_fragments=False)
    parts = urlsplit(canonical)
    if parts.port is not None and parts.port == _DEFAULT_PORTS.get(parts.scheme):
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{host}" if userinfo else host
        canonical = urlunsplit(parts._replace(netloc=netloc))
    return canonical


# Query parameters that only say where a click came from: never part of an article's identity.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "li_fat_id",
    "mc_cid", "mc_eid", "igshid", "_ga", "_gl", "_hsenc", "_hsmi", "cmpid", "ocid", "icid", "ncid", "sr_share",
    "ref_src", "ref_url", "s_cid", "at_medium", "at_campaign", "at_custom1", "spm", "smid", "smtyp", "share",
    "xtor", "__twitter_impression", "amp", "outputtype",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "oly_", "vero_")
_AMP_PATH = re.compile(r"(?<=/)amp/?$|\.amp(?=\.html?$)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def normalise_url(url: str) -> str:
    """The canonical form without tracking parameters, fragment or AMP markers.

    Two URLs of one story that differ only in utm_*/fbclid/... parameters, parameter order,
    host case, default port, fragment or an AMP suffix normalise to the same string.
    Cached: one page's URLs are normalised several times (identity, aliases, keys), and
    w3lib's canonicalize_url costs ~0.1 ms a call.
    """
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)]
    path = _AMP_PATH.sub("", parts.path) or "/"
    return canonical_url(urlunsplit(parts._replace(path=path, query=urlencode(query), fragment="")))


@lru_cache(maxsize=1)
def _domain_parser() -> Any:
    import tldextract

    # The public-suffix snapshot shipped with tldextract: never fetched over the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def site_of(url: str) -> str:
    """The registrable domain of `url` ("bbc.co.uk" for "www.bbc.co.uk"), or its host."""
    return _site_of_host((urlsplit(url).hostname or "").lower())


@lru_cache(maxsize=4096)
def _site_of_host(host: str) -> str:
    parsed = _domain_parser()(host)
    return str(parsed.top_domain_under_public_suffix or host)


_LONG_NUMBER = re.compile(r"\d{4,}")
# Query-string permalinks: WordPress's ?p=2895 and ?page_id=, and the ?id= / ?story= of older CMSs.
_PERMALINK_PARAMS = frozenset({"p", "page_id", "id", "aid", "nid", "sid", "post", "story", "storyid", "article",
                               "articleid", "article_id", "newsid", "news_id", "itemid", "contentid"})
_PERMALINK_VALUE = re.compile(r"^(\d{2,}|[\w]+(-[\w]+){2,})$")
_ARTICLE_SCRIPT = re.compile(r"(article|story|news|post|item|detail|view|read|show)\w*\.(php|aspx?|jsp|cfm|cgi)$",
                             re.IGNORECASE)


def looks_like_article_url(url: str | None) -> bool:
    """The shapes article URLs take: a number of four or more digits in the path (a year, an
    id), a last segment of four or more hyphenated words (a slug), or a query-string permalink
    (`/?p=2895`, `article.php?id=77`). Used to pick article links off section pages, and as
    evidence of an article when a page declares nothing."""
    parts = urlsplit(url or "")
    path = parts.path.rstrip("/")
    if parts.query and _has_permalink_query(parts.query, path):
        return True
    segments = [s for s in path.split("/") if s]
    if not segments:
        return False
    last = segments[-1].rsplit(".", 1)[0]
    return bool(_LONG_NUMBER.search(path)) or last.count("-") >= 3


def _has_permalink_query(query: str, path: str) -> bool:
    pairs = parse_qsl(query, keep_blank_values=False)
    if any(k.lower() in _PERMALINK_PARAMS and _PERMALINK_VALUE.match(v) for k, v in pairs):
        return True
    return bool(pairs) and bool(_ARTICLE_SCRIPT.search(path.rsplit("/", 1)[-1]))


def article_identity(url: str, canonical: str | None = None) -> str:
    """Which URL names this article: the page's rel=canonical when it is believable (same site,
    and not the home page for a page that is not), else the URL itself; normalised."""
    if canonical:
        canonical_path = urlsplit(canonical).path.strip("/")
        own_path = urlsplit(url).path.strip("/")
        if site_of(canonical) == site_of(url) and (canonical_path or not own_path):
            return normalise_url(canonical)
    return normalise_url(url)
