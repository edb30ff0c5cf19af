"""Bytes to text for HTML pages (pure).

The pipeline and `newsarchive extract` both decode through decode_html(), so the text
they extract from the same bytes is identical. The order follows browsers and
Scrapy's TextResponse: BOM, Content-Type charset, <meta> declaration, then detection.
Undecodable bytes become U+FFFD; decoding never fails.
"""

from __future__ import annotations

from charset_normalizer import from_bytes
from w3lib.encoding import html_to_unicode, resolve_encoding

HTML_TYPES = ("text/html", "application/xhtml+xml")


def _detect(body: bytes) -> str | None:
    for candidate in ("ascii", "utf-8"):
        try:
            body.decode(candidate)
        except UnicodeDecodeError:
            continue
        return resolve_encoding(candidate)
    match = from_bytes(body[:200_000]).best()
    return resolve_encoding(match.encoding) if match else None


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return (text, encoding used) for an HTML body and its Content-Type header."""
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_detect)
    return text, encoding


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lowercased ("" when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """True for HTML by declared type, or for an untyped body that starts like HTML."""
    declared = media_type(content_type)
    if declared in HTML_TYPES:
        return True
    if declared and declared not in ("text/plain", "application/octet-stream"):
        return False
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<!--"))
