from __future__ import annotations

from crawler.extraction.decoding import decode_html, looks_like_html
from crawler.model.http import media_type


def test_meta_charset_is_used_when_http_gives_none() -> None:
    body = '<html><head><meta charset="windows-1252"></head><body>café – 5 €</body></html>'.encode("cp1252")
    text, encoding = decode_html(body, "text/html")
    assert "café – 5 €" in text and encoding == "cp1252"


def test_http_charset_wins_over_meta_and_bom_wins_over_both() -> None:
    body = '<html><head><meta charset="iso-8859-1"></head><body>Привет</body></html>'.encode()
    assert "Привет" in decode_html(body, "text/html; charset=utf-8")[0]
    bom = b"\xef\xbb\xbf" + "<p>naïve</p>".encode()
    text, encoding = decode_html(bom, "text/html; charset=iso-8859-1")
    assert text == "<p>naïve</p>" and encoding == "utf-8"


def test_undeclared_utf8_is_detected_and_broken_bytes_never_raise() -> None:
    assert "日本語" in decode_html("<p>日本語のニュース</p>".encode(), None)[0]
    page = ("<p>Déjà vu: " + "la réunion du conseil a duré trois heures. " * 40 + "</p>").encode("utf-8")
    text, encoding = decode_html(page[:100] + b"\xff\xfe" + page[100:], "text/html; charset=utf-8")
    assert encoding == "utf-8" and "Déjà vu" in text and "\ufffd" in text  # a few bad bytes: still UTF-8


def test_a_legacy_page_mislabelled_as_utf8_is_decoded_right() -> None:
    page = "<html><body><p>" + "Городской совет утвердил бюджет на следующий год. " * 20 + "</p></body></html>"
    text, encoding = decode_html(page.encode("cp1251"), "text/html; charset=utf-8")
    assert encoding == "cp1251" and "Городской совет утвердил бюджет" in text and "\ufffd" not in text


def test_html_is_recognised_by_type_or_by_content() -> None:
    assert media_type("Text/HTML; charset=UTF-8") == "text/html"
    assert looks_like_html(b"%PDF-1.4", "text/html")
    assert not looks_like_html(b"%PDF-1.4 ...", "application/pdf")
    assert looks_like_html(b"\n  <!DOCTYPE html><html>", None)
    assert looks_like_html(b"<html><body>x</body></html>", "application/octet-stream")
    assert not looks_like_html(b"\x89PNG\r\n", None)
