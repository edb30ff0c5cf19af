"""The boilerplate layer's general rules, each on a small page: what goes and what must stay."""

from __future__ import annotations

import pytest
from lxml.html import fromstring

from crawler.extraction.boilerplate import clean_lines, is_call_to_action, preclean

BODY = "".join(f"<p>Body paragraph {i} tells the story of the harbour in plain and simple words.</p>" for i in range(8))


def cleaned_text(html: str) -> str:
    tree = fromstring(html)
    preclean(tree)
    return " ".join(tree.text_content().split())


@pytest.mark.parametrize("box", [
    '<div class="newsletter-signup"><p>The Morning Brief</p><p>Every weekday at 6am.</p></div>',
    '<div id="paywallPrompt"><p>You have read all your free articles this month.</p></div>',
    '<aside><p>Parliament passes energy bill</p></aside>',
    '<div data-component="rich-link"><p>Ferry service resumes after storm</p></div>',
    '<section class="author-card"><p>Jane Doe covers the port and has won two regional awards.</p></section>',
    '<ul><li><a href="/a">Parliament passes energy bill</a></li><li><a href="/b">Rates on hold</a></li></ul>',
    '<div><p>Here we are to serve you with news.</p><p>Choose quality journalism and subscribe now.</p></div>',
    '<div class="kg-cta"><p>Support independent journalism. Join now.</p></div>',
    '<div style="display: none"><p>Hidden promotional text for bots.</p></div>',
])
def test_boilerplate_boxes_inside_the_article_go(box: str) -> None:
    page = f"<html><body><article>{BODY[:300]}{box}{BODY[300:]}</article></body></html>"
    text = cleaned_text(page)
    assert "Body paragraph 0" in text and "Body paragraph 7" in text
    for word in ("Morning Brief", "free articles", "energy bill", "Ferry service", "regional awards",
                 "serve you with news", "Join now", "Hidden promotional"):
        assert word not in text


@pytest.mark.parametrize("paragraph", [
    "Residents can sign up for the program at city hall until Friday.",
    "Facebook changed our privacy settings overnight, one user said, and nobody was told.",
    "The newsletter, founded in 1990 by two retired teachers, now reaches every home in the valley.",
    "Share prices fell 4 percent after the announcement.",
    "Tickets cost from just $5 and the festival opens on Saturday.",
])
def test_short_body_paragraphs_that_sound_like_promos_stay(paragraph: str) -> None:
    assert not is_call_to_action(paragraph)
    page = f"<html><body><article>{BODY}<p>{paragraph}</p></article></body></html>"
    assert paragraph in cleaned_text(page)


@pytest.mark.parametrize("container", [
    '<div class="article-body paywall-content">{}</div>',
    '<div id="after-ad-1" class="text-block">{}</div>',
    '<div class="article-share-wrapper"><div class="content">{}</div></div>',
])
def test_a_container_holding_most_of_the_text_is_never_removed(container: str) -> None:
    page = f"<html><body><nav><a href='/'>Home</a></nav>{container.format(BODY)}</body></html>"
    text = cleaned_text(page)
    assert "Body paragraph 0" in text and "Body paragraph 7" in text and "Home" not in text


def test_leftover_lines_are_filtered() -> None:
    lines = ["First paragraph of the story.", "Advertisement", "READ MORE: China plague outbreak confirmed",
             "DON'T MISS", "Plane passengers quarantined [NEWS]", "Thanks for signing up!",
             "Second paragraph of the story.", "- Read more"]
    assert clean_lines(lines) == ["First paragraph of the story.", "Second paragraph of the story."]


@pytest.mark.parametrize("link", [
    "Lesen Sie auch: Neue Radwege für die Innenstadt", "À lire aussi : Le marché de Noël ouvre vendredi",
    "Lee también: El puerto bate su récord de pasajeros", "Leggi anche: Il derby finisce in parità",
    "Leia também: Prefeitura anuncia novas linhas", "Lees ook: Gemeente opent nieuw zwembad",
    "Czytaj także: Tramwaj na Kamionki coraz bliżej", "Läs också: Ny bro över älven",
    "Čtěte také: Hasiči slaví výročí", "Читайте также: В городе открыли новый парк",
    "İlgili Haberler: Belediye yeni otobüs hattı açtı",
])
def test_read_also_links_go_in_the_languages_we_archive(link: str) -> None:
    assert clean_lines(["First paragraph of the story.", link, "Second paragraph."]) == \
        ["First paragraph of the story.", "Second paragraph."]


def test_a_press_releases_contact_block_at_the_end_goes() -> None:
    body = ["Voltaris opens a recycling plant in Rheinfurt.", "About Voltaris",
            "Voltaris makes battery systems for buses and trucks and employs 400 people."]
    contact = ["Pressekontakt:", "Konstantin Rehbein", "Leiter Unternehmenskommunikation",
               "Telefon: +49 6231 55870-140", "E-Mail: presse@voltaris.example"]
    assert clean_lines(body + contact) == body
    assert clean_lines(["Media contact:", "Jane Doe, 555-0100"]) == []
    # a paragraph that only starts like one, or a heading followed by text, stays
    later = ["Press contacts with the ministry were frequent that year, the report says, and "
             "several of them were never recorded in the official log."]
    assert clean_lines(body + later) == body + later
    assert clean_lines(["Media contact", "The spokesman said the company had no comment on the findings of the "
                        "inspectors, who visited the plant twice in March and again in May."]) != []
