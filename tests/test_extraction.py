"""Extraction on the test site's pages: text, boilerplate out, metadata, and honest failures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.extraction.extract import ExtractOptions, extract, extract_page
from crawler.model.items import FetchedPage

SITE = Path(__file__).parent / "site"


def page(path: str, content_type: str | None = "text/html", body: bytes | None = None) -> FetchedPage:
    headers = (("Content-Type", content_type),) if content_type else ()
    return FetchedPage(
        requested_url=f"https://example.com/{path}", url=f"https://example.com/{path}", status=200,
        headers=headers, body=(SITE / path).read_bytes() if body is None else body,
        fetched_at=datetime(2026, 11, 23, tzinfo=UTC),
    )


def test_article_text_and_metadata_from_a_news_page() -> None:
    result = extract_page(page("news/2026/02/ukraine-strikes-missile-factory.html"))
    assert result.problem is None and result.extraction is not None
    ex = result.extraction
    lines = ex.text.split("\n")
    assert lines[0].startswith("Ukraine has struck one of Russia's most strategically significant")
    assert lines[-1].endswith("increasingly within reach.")
    assert len(lines) == 5  # one line per paragraph
    for boilerplate in ("Politics", "MARKETS", "Latest", "Parliament passes energy bill",
                        "All rights reserved", "Privacy policy"):
        assert boilerplate not in ex.text
    assert ex.title == "Ukraine strikes deep inside Russia hitting key missile factory"
    assert ex.authors == ("Akbar Novruz",)
    assert ex.published == "2026-02-23T01:04:00+04:00" and ex.published_source == "json-ld"
    assert ex.modified == "2026-02-23T09:30:00+04:00"
    assert ex.section == "World" and ex.image == "https://harbor-gazette.example/img/votkinsk.jpg"
    assert (ex.kind, ex.access) == ("article", "free")
    assert ex.language == "en"
    assert ex.site_name == "Harbor Gazette"
    assert ex.canonical_url == "https://harbor-gazette.example/news/2026/02/ukraine-strikes-missile-factory"
    assert ex.description and ex.description.startswith("A domestically built cruise missile")


def test_comments_bio_and_related_cards_are_dropped() -> None:
    ex = extract_page(page("news/2026/11/drone-strike-izhevsk.html")).extraction
    assert ex is not None
    assert "A drone strike damaged a factory on Nov. 17" in ex.text
    assert "Unknown drones attacked the Izhevsk Electromechanical Plant" in ex.text  # the quote stays
    assert ex.text.rstrip().endswith("during the entire war.")
    for boilerplate in ("Great reporting as always", "Leave a comment", "specializing in international",
                        "KI Insights launches", "Show More", "0 out of 25,000", "Help us reach"):
        assert boilerplate not in ex.text
    assert ex.authors == ("Martin Fornusek",)
    assert ex.language == "en-GB" and ex.tags == ("Ukraine", "Drones")


def test_windows_1252_page_with_two_authors() -> None:
    result = extract_page(page("news/2026/11/conseil-municipal-budget.html"))
    assert result.encoding == "cp1252" and result.extraction is not None
    ex = result.extraction
    assert ex.text.startswith("Après six heures de débat")
    assert "Montant (M€)" in ex.text  # the table belongs to the article
    assert ex.authors == ("Amélie Durand", "José Pereira")
    for boilerplate in ("cookies", "Encore des dépenses inutiles", "Laisser un commentaire", "WordPress"):
        assert boilerplate not in ex.text
    assert ex.language == "fr-FR"


def test_tables_can_be_left_out() -> None:
    ex = extract_page(page("news/2026/11/conseil-municipal-budget.html"),
                      ExtractOptions(include_tables=False)).extraction
    assert ex is not None and "Tramway | 121" not in ex.text and "Après six heures" in ex.text


@pytest.mark.parametrize(("path", "content_type", "body", "problem"), [
    ("contact.html", "text/html", None, "no article text found (only 11 words)"),
    ("gallery.html", "text/html", None, "index page, not an article (mostly links (100% of the text))"),
    ("files/annual-report.pdf", "application/pdf", None, "not HTML (application/pdf)"),
    ("gallery.html", "text/html", b"   \n", "empty response body"),
    ("gallery.html", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not HTML (image/png)"),
])
def test_pages_without_article_text_say_why(path: str, content_type: str, body: bytes | None,
                                            problem: str) -> None:
    result = extract_page(page(path, content_type, body))
    assert result.problem == problem
    assert result.extraction is None or result.extraction.text == ""


def test_metadata_is_kept_when_there_is_no_text() -> None:
    result = extract_page(page("gallery.html"))
    assert result.extraction is not None and result.extraction.title == "Photo galleries"
    assert result.extraction.kind == "index" and result.extraction.text == ""


@pytest.mark.parametrize("html", [
    "<html><body><div><p>unclosed <b>tags <i>everywhere</p></div>",
    "<<<>>>" * 1000,
    "<html>" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "</html>",
    "\x00\x01 binary junk",
])
def test_malformed_html_never_raises(html: str) -> None:
    result = extract_page(page("gallery.html", "text/html", html.encode("utf-8")))
    assert result.problem is not None and result.problem.startswith(("no article text", "HTML could not",
                                                                     "binary data"))


def test_extract_returns_none_only_for_unparseable_input() -> None:
    assert extract("") is None
    result = extract("<html><body><p>short</p></body></html>")
    assert result is not None and result.text == "short"


def test_feed_and_sitemap_evidence_fills_what_the_page_does_not_say() -> None:
    bare = b"<html><body><article>" + b"<p>" + b"Plain words about the harbour and its ferries. " * 10 + b"</p>" * 3 + \
        b"</article></body></html>"
    plain = page("gallery.html", "text/html", bare)
    crawled = FetchedPage(**{**{f: getattr(plain, f) for f in plain.__slots__},
                             "discovery": {"via": "sitemap", "published": "2026-11-20T08:00:00+01:00",
                                           "title": "Ferries return", "language": "de"}})
    ex = extract_page(crawled).extraction
    assert ex is not None
    assert (ex.published, ex.published_source, ex.title, ex.language) == (
        "2026-11-20T08:00:00+01:00", "sitemap", "Ferries return", "de")
    declared = extract_page(FetchedPage(**{**{f: getattr(crawled, f) for f in crawled.__slots__},
                                           "body": (SITE / "news/2026/02/ukraine-strikes-missile-factory.html")
                                           .read_bytes()})).extraction
    assert declared is not None and declared.published_source == "json-ld"  # the page's own word wins


def _paywalled_page(body: str, *, word_count: int | None = None, prompt: str = "") -> str:
    declared = f', "wordCount": {word_count}' if word_count else ""
    return ('<html lang="en"><head><title>Harbor tolls rise</title><script type="application/ld+json">'
            '{"@type": "NewsArticle", "headline": "Harbor tolls rise", "isAccessibleForFree": false' + declared +
            '}</script></head><body><article><h1>Harbor tolls rise</h1>' + body + prompt +
            "</article></body></html>")


PARAGRAPHS = [f"<p>In its {n} point the harbor commission, which raised tolls for cargo ships by six percent on "
              f"Tuesday, cited the cost of dredging the outer channel and repairing berth number {n}.</p>"
              for n in ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")]
WHOLE = "".join(PARAGRAPHS)
WHOLE_WORDS = len(" ".join(PARAGRAPHS).replace("<p>", " ").replace("</p>", " ").split())


@pytest.mark.parametrize(("html", "teaser"), [
    (_paywalled_page(WHOLE), None),  # the whole article is there: a flag alone says nothing
    (_paywalled_page(WHOLE, word_count=WHOLE_WORDS + 5), None),
    (_paywalled_page(WHOLE, word_count=900), "of the 900 words the page declares"),
    (_paywalled_page("".join(PARAGRAPHS[:3]), prompt="<div>Subscribe now to continue reading this story.</div>"),
     "the page says the text stops"),
    (_paywalled_page("".join(PARAGRAPHS[:3]) + "<p>The commission also said that the…</p>"),
     "breaks off with an ellipsis"),
])
def test_a_paywall_is_judged_by_the_text_not_by_the_flag(html: str, teaser: str | None) -> None:
    result = extract_page(page("news/2026/harbor-tolls-rise.html", body=html.encode()))
    assert result.extraction is not None and result.extraction.access == "paywalled"
    assert result.extraction.text  # the text is kept either way
    if teaser is None:
        assert result.problem is None and result.extraction.teaser is None
    else:
        assert result.problem is not None and result.problem.startswith("paywalled: only the teaser was visible")
        assert teaser in (result.extraction.teaser or "")


def test_a_wordpress_post_addressed_by_its_query_string_is_not_the_home_page() -> None:
    """/?p=2895 has the path "/": it is a post, not the site's home page, when it reads as one."""
    post = ("<html lang='en'><head><title>Notes from the allotment</title></head><body><div class='post'>"
            "<h2>Notes from the allotment</h2>" + "".join(PARAGRAPHS[:4]) + "</div></body></html>")
    url = "https://blog.example/?p=2895"
    result = extract_page(FetchedPage(url, url, 200, (("Content-Type", "text/html"),), post.encode(),
                                      datetime(2026, 11, 23, tzinfo=UTC)))
    assert result.extraction is not None and result.extraction.kind == "article", result.extraction.kind_reason
    assert result.problem is None and result.extraction.text.startswith("In its first point")
    root = "https://blog.example/"
    home = extract_page(FetchedPage(root, root, 200, (("Content-Type", "text/html"),), post.encode(),
                                    datetime(2026, 11, 23, tzinfo=UTC)))
    assert home.extraction is not None and home.extraction.kind == "index"


def test_too_few_words_tries_trafilaturas_own_fallbacks_before_giving_up() -> None:
    """A theme that names the post's container like a comment section ("commentable-section"):
    trafilatura with comments off drops it (4 words left). The fallback runs trafilatura's
    recall mode, which judges comment sections itself, and keeps the post."""
    post = ("<html lang='en'><head><title>Roof repair</title></head><body><nav><a href='/'>Home</a></nav>"
            "<h1>Roof repair</h1><div class='commentable-section entry-content'>" + "".join(PARAGRAPHS[:4])
            + "</div><footer>Copyright</footer></body></html>")
    result = extract_page(page("2026/11/roof-repair/", body=post.encode()))
    assert result.problem is None and result.extraction is not None
    assert result.extraction.text.startswith("In its first point") and result.extraction.words > 100


def _entries(count: int) -> str:
    return "".join(
        f"<article class='block'><header><p class='block__time'><time datetime='2026-11-06T1{n}:00Z'>1{n}.00 GMT"
        f"</time></p><h2>Update number {n} from the harbour</h2></header>"
        f"<div class='block__elements'>{PARAGRAPHS[n % len(PARAGRAPHS)]}</div></article>" for n in range(count))


def test_a_live_blog_keeps_every_entry_with_its_heading_and_no_timestamps() -> None:
    ld = '{"@context": "https://schema.org", "@type": "LiveBlogPosting", "headline": "Harbour strike live"}'
    html = (f"<html><head><title>Harbour strike live</title><script type='application/ld+json'>{ld}</script>"
            f"</head><body><main><h1>Harbour strike live</h1><div class='liveblog-body'>{_entries(4)}</div></main>"
            "</body></html>")
    result = extract_page(page("news/live/2026/nov/06/harbour-strike-live", body=html.encode()))
    assert result.extraction is not None and result.problem is None
    lines = result.extraction.text.split("\n")
    assert [line for line in lines if line.startswith("Update number")] == [
        f"Update number {n} from the harbour" for n in range(4)]
    assert not any("GMT" in line for line in lines)
    # on an ordinary article the header (headline, byline, time) is still not text
    article = html.replace("LiveBlogPosting", "NewsArticle")
    plain = extract_page(page("news/2026/nov/06/harbour-strike", body=article.encode()))
    assert plain.extraction is not None and "Update number 1 from the harbour" not in plain.extraction.text


def _gallery(figures: int, ld: str = "") -> str:
    slides = "".join(
        f"<div class='slide' aria-hidden='{str(n > 0).lower()}'><figure><img src='/p{n}.jpg'><figcaption>"
        f"<span class='counter'>{n + 1}/{figures}</span><p>Picture {n}: volunteers haul a giant pumpkin boat out of "
        f"the lake after the race, while children carve faces into smaller ones on the pier.</p>"
        f"<span class='credit'>Photo: Ann Lee/Gazette</span></figcaption></figure></div>" for n in range(figures))
    return (f"<html><head><title>Regatta in pictures</title>{ld}</head><body><h1>Regatta in pictures</h1>"
            f"<div class='carousel'>{slides}</div></body></html>")


@pytest.mark.parametrize("ld", ["", '<script type="application/ld+json">{"@type": "ImageGallery"}</script>'])
def test_a_photo_gallery_keeps_its_captions_without_credits_or_counters(ld: str) -> None:
    result = extract_page(page("news/2026/10/regatta-in-pictures", body=_gallery(6, ld).encode()))
    assert result.extraction is not None and result.problem is None
    lines = result.extraction.text.split("\n")
    assert [line.split(":")[0] for line in lines] == [f"Picture {n}" for n in range(6)]
    assert "Photo: Ann Lee" not in result.extraction.text and "1/6" not in result.extraction.text


def test_an_article_with_a_few_photos_leaves_their_captions_out() -> None:
    html = _gallery(2).replace("</div></body>", "</div><div class='body'>" + "".join(PARAGRAPHS) + "</div></body>")
    result = extract_page(page("news/2026/10/regatta-report", body=html.encode()))
    assert result.extraction is not None and "Picture 0" not in result.extraction.text
