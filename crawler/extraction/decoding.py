"""Bytes to text for HTML pages (pure).

The pipeline and `newsarchive extract` both decode through decode_html(), so the text
they extract from the same bytes is identical. The order follows browsers and
Scrapy's TextResponse: BOM, Content-Type charset, <meta> declaration, then detection.
Undecodable bytes become U+FFFD; decoding never fails.
"""

from __future__ import annotations

from charset_normalizer import from_bytes
from w3lib.encoding import html_to_unicode, resolve_encoding

from crawler.model.http import media_type

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
    """Return (text, encoding used) for an HTML body and its Content-Type header.

    A page whose declared charset is wrong (cp1251 bytes served as UTF-8, a common mistake)
    decodes into replacement characters; when more than 1 in 200 characters are, the bytes
    are decoded with the detected charset instead, if that one decodes them cleanly.
    """
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_detect)
    if text.count("\ufffd") * 200 > max(len(text), 1):
        detected = _detect_strict(body)
        if detected and detected != encoding:
            return body.decode(detected), detected
    return text, encoding


def _detect_strict(body: bytes) -> str | None:
    match = from_bytes(body[:200_000]).best()
    encoding = resolve_encoding(match.encoding) if match else None
    if encoding is None:
        return None
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError, TypeError):
        return None
    return encoding


def looks_binary(body: bytes) -> bool:
    """NUL bytes or mostly control characters at the start: not text, whatever the header says."""
    head = body[:4096]
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    return controls * 10 > max(len(head), 1)


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """True for HTML by declared type, or for an untyped body that starts like HTML."""
    declared = media_type(content_type)
    if declared in HTML_TYPES:
        return True
    if declared and declared not in ("text/plain", "application/octet-stream"):
        return False
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<!--"))
