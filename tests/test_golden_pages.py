"""Golden extraction pages (fundus style): tests/pages/<name>.html + <name>.expected.json.

The pages are our own, modelled on the seeds in ../shared/seeds/ and on common publishing
platforms; the expectations were written by hand from the pages. Each page is extracted
exactly as the pipeline does it (crawler.extraction.extract.extract_page).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.extraction.extract import extract_page
from crawler.model.items import FetchedPage

PAGES = Path(__file__).parent / "pages"
NAMES = sorted(p.name.removesuffix(".expected.json") for p in PAGES.glob("*.expected.json"))
CATEGORIES = {"subscription", "paywall_prompt", "membership", "donation", "newsletter", "read_more", "share_bar",
              "author_bio", "related", "video_chrome", "comments", "cookie_consent", "nav", "footer", "ticker", "ads"}


def expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAGES / f"{name}.expected.json").read_text(encoding="utf-8"))
    return data


def run(name: str) -> Any:
    spec = expected(name)
    page = FetchedPage(requested_url=spec["url"], url=spec["url"], status=200,
                       headers=(("Content-Type", "text/html; charset=utf-8"),),
                       body=(PAGES / f"{name}.html").read_bytes(), fetched_at=datetime.now(UTC))
    return extract_page(page)


@pytest.mark.parametrize("name", NAMES)
def test_golden_page(name: str) -> None:
    spec = expected(name)
    result = run(name)
    ex = result.extraction
    assert ex is not None
    assert (ex.kind, ex.access) == (spec["kind"], spec["access"]), (ex.kind_reason, ex.access_reason)
    assert ex.title == spec["title"]
    assert list(ex.authors) == spec["authors"]
    assert (ex.published or "")[:10] == (spec["published"] or "")
    if spec.get("language"):
        assert (ex.language or "").split("-")[0].lower() == spec["language"]
    if spec.get("site_name"):
        assert ex.site_name == spec["site_name"]
    text = ex.text
    lines = text.split("\n")
    if spec["body_first"]:
        assert lines[0].startswith(spec["body_first"]), lines[0]
        assert lines[-1].endswith(spec["body_last"]), lines[-1]
        # text kept, and flagged partial only for a real teaser (a paywall flag alone is not one)
        assert (result.problem is not None) == spec.get("partial", False), (result.problem, ex.teaser)
    else:
        assert text == "" and result.problem
    for phrase in spec["must_contain"]:
        assert phrase in text, f"body phrase lost: {phrase!r}"
    for phrase in spec["must_not_contain"]:
        assert phrase not in text, f"boilerplate kept: {phrase!r}"


def test_every_boilerplate_category_is_covered() -> None:
    covered = {category for name in NAMES for category in expected(name)["covers"]}
    assert covered == CATEGORIES, f"no golden page covers {sorted(CATEGORIES - covered)}"
