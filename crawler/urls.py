"""URL checks and canonical forms (pure)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

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
