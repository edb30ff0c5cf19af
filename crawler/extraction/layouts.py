"""Page layouts whose content the article rules would drop (pure): photo galleries, live blogs.

Photo galleries: pages whose content is their captions.

On an article, a caption is boilerplate (the benchmark's ground truth leaves captions out, and
DROP_TAGS removes <figcaption>). On a gallery the captions are what the page says: a gallery
found here has each captioned <figure> replaced by a paragraph of its caption, without the
photo credit, the "3/8" counter or the buttons, before the usual extraction runs.

A page is a gallery when it says so (JSON-LD ImageGallery or MediaGallery) or when it looks
like one: at least GALLERY_MIN_FIGURES captioned figures whose captions hold more words than
all the page's other paragraphs together.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

GALLERY_TYPES = frozenset({"imagegallery", "mediagallery"})
GALLERY_MIN_FIGURES = 4
_CREDIT_NAMES = re.compile(r"credit|attribution|copyright|photographer|counter|count\b|source|byline|author",
                           re.IGNORECASE)
_COUNTER = re.compile(r"^\d+\s*(/|of|von|sur|de|di|z|из)\s*\d+$", re.IGNORECASE)
_CREDIT = re.compile(r"^(photo|photos|photograph|image|picture|credit|foto|fotos|bild|bilder|crédit|zdjęcie|фото)"
                     r"\s*(credit)?\s*:", re.IGNORECASE)
_TRAILING_CREDIT = re.compile(r"\s*[(\[]?\b(photo|image|credit|foto|bild|crédit)s?\s*:\s*[^.:()\[\]]{1,80}[)\]]?$",
                              re.IGNORECASE)


def _words(text: str) -> int:
    return len(text.split())


def _captioned_figures(tree: HtmlElement) -> list[tuple[HtmlElement, str]]:
    found = []
    for figure in tree.iter("figure"):
        caption = figure.find(".//figcaption")
        if caption is not None:
            text = caption_text(caption)
            if text:
                found.append((figure, text))
    return found


def caption_text(caption: HtmlElement) -> str:
    """A caption's words without its credit line, counter or buttons (removed from `caption`)."""
    doomed = []
    for node in caption.iterdescendants():
        if not isinstance(node.tag, str):
            continue
        names = f"{node.get('class', '')} {node.get('id', '')}"
        text = " ".join(node.text_content().split())
        if node.tag == "button" or _CREDIT_NAMES.search(names) or _COUNTER.match(text) or _CREDIT.match(text):
            doomed.append(node)
    for node in doomed:
        if node.getparent() is not None:
            node.drop_tree()
    return _TRAILING_CREDIT.sub("", " ".join(caption.text_content().split())).strip()


def is_gallery(tree: HtmlElement, schema_types: tuple[str, ...] | frozenset[str] | set[str]) -> bool:
    if GALLERY_TYPES & {t.lower() for t in schema_types}:
        return bool(tree.xpath("//figcaption"))
    figures = tree.xpath("//figure[.//figcaption]")
    if len(figures) < GALLERY_MIN_FIGURES:
        return False
    caption_words = sum(_words(" ".join(f.xpath(".//figcaption//text()"))) for f in figures)
    other_words = _words(" ".join(tree.xpath("//body//p[not(ancestor::figure)]//text()")))
    return caption_words > other_words


def captions_as_paragraphs(tree: HtmlElement) -> int:
    """Replace each captioned figure by a <p> of its caption, in place; return how many.

    The slides' containers up to the one holding them all lose their class, id and hidden
    state: a carousel hides all slides but one, and extractors treat "slide" and "carousel"
    containers as page furniture."""
    figures = _captioned_figures(tree)
    if not figures:
        return 0
    common = set(figures[0][0].iterancestors())
    for figure, _ in figures[1:]:
        common &= set(figure.iterancestors())
    for figure, text in figures:
        for ancestor in figure.iterancestors():
            for name in ("class", "id", "hidden", "aria-hidden", "style"):
                ancestor.attrib.pop(name, None)
            if ancestor in common:
                break
        paragraph = figure.makeelement("p", {})
        paragraph.text = text
        paragraph.tail = figure.tail
        parent = figure.getparent()
        if parent is not None:
            parent.replace(figure, paragraph)
    return len(figures)


LIVE_BLOG_TYPES = frozenset({"liveblogposting"})


def is_live_blog(schema_types: tuple[str, ...] | frozenset[str] | set[str]) -> bool:
    return bool(LIVE_BLOG_TYPES & {t.lower() for t in schema_types})


def entry_headings_kept(tree: HtmlElement) -> int:
    """Live blogs: each entry is an <article> whose <header> holds the entry's heading, which is
    text (on an article, a header holds the headline and byline, which are not). Such headers
    become plain blocks, without their timestamps, and the entries plain blocks too (an
    extractor looking for "the" <article> would take the first entry alone); return how many."""
    headers = [h for h in tree.xpath("//article//header[.//h2 or .//h3 or .//h4]")
               if h.xpath("ancestor::article[1]/preceding-sibling::article or "
                          "ancestor::article[1]/following-sibling::article")]
    entries = {h.xpath("ancestor::article[1]")[0] for h in headers}
    for entry in entries:
        entry.tag = "div"
    for header in headers:
        for stamp in header.xpath(".//time"):
            holder = stamp.getparent()
            while holder is not None and holder is not header and \
                    " ".join(holder.text_content().split()) == " ".join(stamp.text_content().split()):
                stamp, holder = holder, holder.getparent()
            stamp.drop_tree()
        header.tag = "div"
        for name in ("class", "id", "role"):
            header.attrib.pop(name, None)
    return len(headers)
