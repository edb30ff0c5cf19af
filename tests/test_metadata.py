"""Metadata from structured data and markup, with the source of each date."""

from __future__ import annotations

import pytest
from lxml.html import fromstring

from crawler.extraction.metadata import clean_authors, extract_metadata, strip_site_suffix
from crawler.model.dates import normalise_date


@pytest.mark.parametrize(("raw", "iso"), [
    ("2026-02-23T01:04:00+04:00", "2026-02-23T01:04:00+04:00"),
    ("2026-11-17T14:20:00.000Z", "2026-11-17T14:20:00+00:00"),
    ("2026-11-20", "2026-11-20"),
    ("2026-11-20 18:45:00", "2026-11-20T18:45:00"),
    ("Mon, 23 Feb 2026 01:04:00 +0400", "2026-02-23T01:04:00+04:00"),
    ("2026-11-20T18:45:00+0100", "2026-11-20T18:45:00+01:00"),
    ("yesterday", None), ("", None), ("0001-01-01", None),
])
def test_dates_become_iso_8601(raw: str, iso: str | None) -> None:
    assert normalise_date(raw) == iso


@pytest.mark.parametrize(("candidates", "names"), [
    (["By Jane Doe and John Roe"], ("Jane Doe", "John Roe")),
    (["Von Anna Müller und Jonas Weber"], ("Anna Müller", "Jonas Weber")),
    (["Amélie Durand; José Pereira", "amélie durand"], ("Amélie Durand", "José Pereira")),
    (["https://example.com/authors/jane", "Harbor Gazette", "jane@example.com"], ()),
    (["Martin Fornusek is a reporter for the Kyiv Independent, specializing in politics"], ()),
])
def test_authors_are_names_only(candidates: list[str], names: tuple[str, ...]) -> None:
    assert clean_authors(candidates, site_name="Harbor Gazette") == names


def test_site_suffix_is_stripped_from_titles() -> None:
    assert strip_site_suffix("Budget approved | Harbor Gazette", "Harbor Gazette") == "Budget approved"
    assert strip_site_suffix("Budget approved - World - Gazette", None) == "Budget approved - World"
    assert strip_site_suffix("Rock - Paper - Scissors: a history of the game", None) == \
        "Rock - Paper - Scissors: a history of the game"


def page(head: str = "", body: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize(("html", "url", "published", "source"), [
    (page('<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebPage"},'
          '{"@type":"NewsArticle","datePublished":"2026-01-02T03:04:05Z"}]}</script>'
          '<meta property="article:published_time" content="2025-12-31">'), None,
     "2026-01-02T03:04:05+00:00", "json-ld"),
    (page('<meta property="article:published_time" content="2025-12-31T10:00:00+01:00">'), None,
     "2025-12-31T10:00:00+01:00", "meta"),
    (page(body='<article><time datetime="2024-05-06">6 May</time><p>x</p></article>'), None, "2024-05-06",
     "time-element"),
    (page(), "https://example.com/2023/07/08/a-story/", "2023-07-08", "url"),
])
def test_published_date_and_its_source(html: str, url: str | None, published: str, source: str) -> None:
    meta = extract_metadata(fromstring(html), url)
    assert meta.published is not None
    assert (meta.published.value, meta.published.source) == (published, source)


def test_broken_json_ld_is_survived_and_authors_fall_back_to_meta() -> None:
    html = page('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Broken</script>'
                '<meta name="author" content="By Jane Doe"><title>Real headline | Site</title>',
                '<h1>Real headline</h1>')
    meta = extract_metadata(fromstring(html))
    assert meta.title == "Real headline" and meta.authors == ("Jane Doe",) and meta.authors_source == "meta"


def test_paywall_declarations_are_read() -> None:
    html = page('<script type="application/ld+json">{"@type":"NewsArticle","isAccessibleForFree":"False",'
                '"hasPart":{"@type":"WebPageElement","isAccessibleForFree":false,"cssSelector":".paywall"}}</script>')
    meta = extract_metadata(fromstring(html))
    assert meta.accessible_for_free is False and meta.paywalled_selectors == (".paywall",)


@pytest.mark.parametrize(("byline", "authors"), [
    ('<div class="byline">By Tom Becker</div>', ["Tom Becker"]),
    ('<p>By <span class="author">Tom Becker</span></p>', ["Tom Becker"]),
    ('<p class="author-line">By Tom Becker and Ana Ruiz · Nov. 3, 2026</p>', ["Tom Becker", "Ana Ruiz"]),
    ('<div class="byline">Von Eva Roth | Aktualisiert am 3. November</div>', ["Eva Roth"]),
    ('<div class="author-bio">Tom Becker is a reporter who has covered city hall for a decade.</div>', []),
    ('<div class="byline">Updated Nov 3</div>', []),
])
def test_bylines_written_out_in_plain_text(byline: str, authors: list[str]) -> None:
    """A byline without links or author markup, as a new user's own site wrote it."""
    tree = fromstring(f"<html><body><article><h1>Harbor tolls rise</h1>{byline}<p>Text.</p></article></body></html>")
    assert list(extract_metadata(tree, "https://news.example/a").authors) == authors
