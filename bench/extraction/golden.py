"""The golden pages (tests/pages/) through plain trafilatura and through newsarchive.

    python bench/extraction/golden.py

For each page: how many of its hand-listed boilerplate phrases (must_not_contain) each
extractor kept, and how many body phrases (body_first, body_last, must_contain) it lost.
The test suite holds newsarchive to zero on both; this prints what plain trafilatura does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

from crawler.extraction.extract import extract_page
from crawler.model.items import FetchedPage

PAGES = Path(__file__).resolve().parents[2] / "tests" / "pages"


def ours(html: bytes, url: str) -> str:
    page = FetchedPage(requested_url=url, url=url, status=200, headers=(("Content-Type", "text/html; charset=utf-8"),),
                       body=html, fetched_at=datetime.now(UTC))
    result = extract_page(page)
    return result.extraction.text if result.extraction else ""


EXTRACTORS: dict[str, Callable[[bytes, str], str]] = {
    "trafilatura": lambda html, url: trafilatura.extract(html.decode("utf-8"), url=url) or "",
    "trafilatura-prec": lambda html, url: trafilatura.extract(html.decode("utf-8"), url=url,
                                                               favor_precision=True) or "",
    "newsarchive": ours,
}


def main() -> int:
    totals = {name: [0, 0] for name in EXTRACTORS}
    print(f"{'page':<20}" + "".join(f"{name + ' kept/lost':>28}" for name in EXTRACTORS))
    for spec_path in sorted(PAGES.glob("*.expected.json")):
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        html = spec_path.with_name(spec_path.name.replace(".expected.json", ".html")).read_bytes()
        body = [p for p in (spec["body_first"], spec["body_last"], *spec["must_contain"]) if p]
        row = f"{spec_path.name.removesuffix('.expected.json'):<20}"
        for name, extractor in EXTRACTORS.items():
            text = extractor(html, spec["url"])
            kept = sum(phrase in text for phrase in spec["must_not_contain"])
            lost = sum(phrase not in text for phrase in body)
            totals[name][0] += kept
            totals[name][1] += lost
            row += f"{kept:>22}/{lost:<5}"
        print(row)
    print(f"{'total':<20}" + "".join(f"{kept:>22}/{lost:<5}" for kept, lost in totals.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
