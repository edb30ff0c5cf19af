"""Score article-body extraction on two page sets: newsarchive vs plain trafilatura.

    python bench/extraction/eval.py [--data DIR ...] [--worst 10] [--pages] [--json OUT]

The sets (each scored and reported on its own; --data picks others):
  dev   ../shared/data/extraction-dev/: 61 real news and blog pages (scrapinghub's
        article-extraction-benchmark), ground-truth.json + <id>.html.gz;
  own   bench/extraction/own-pages/: our own realistic pages in other languages and layouts
        (CMS blogs, press releases, institutional news, briefs, a live blog), each
        <slug>.html + <slug>.json {url, articleBody, language, layout, ...}, ground truth by hand.
--pages prints every page's F1 per extractor (the README's per-page comparison).

Metric (the one of scrapinghub/article-extraction-benchmark, re-implemented here): text is
tokenised into \\w+ tokens; each page's true and predicted body become multisets of 4-token
shingles; tp/fp/fn are the shingle counts in both / only predicted / only true, normalised by
their sum so every page weighs the same. Precision is the mean per-page precision over pages
with a prediction, recall the mean over pages with a true body, and
F1 = 2PR/(P+R) of those means.

Extractors compared, on the same decoded HTML string:
  trafilatura          trafilatura.extract(html, url=url): plain defaults
  trafilatura-prec     the same with favor_precision=True
  newsarchive          crawler.extraction.extract.extract_page(): what the pipeline and
                       `newsarchive extract` run (decoding, trafilatura, our layer)
Timing is wall-clock per page in this one process (after one warm-up page): each page goes
through the extractors in turn, --repeat rounds, and its fastest round counts; then median and
mean over pages.
This is a benchmark that prints numbers, never a test.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

from crawler.extraction.extract import extract_page
from crawler.model.items import FetchedPage

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "extraction-dev"
OWN = Path(__file__).resolve().parent / "own-pages"
_TOKEN = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    t, p = shingles(true), shingles(pred)
    tp = float(sum((t & p).values()))
    fp = float(sum((p - t).values()))
    fn = float(sum((t - p).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def page_f1(counts: tuple[float, float, float]) -> float:
    p, r = precision(*counts), recall(*counts)
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Score:
    name: str
    counts: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        values = list(self.counts.values())
        prec = statistics.mean(precision(*c) for c in values if c[0] + c[1] > 0)
        rec = statistics.mean(recall(*c) for c in values if c[0] + c[2] > 0)
        return {
            "precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec),
            "ms_median": 1000 * statistics.median(self.seconds), "ms_mean": 1000 * statistics.mean(self.seconds),
        }


def ours(html: str, url: str) -> str:
    page = FetchedPage(requested_url=url, url=url, status=200, headers=(("Content-Type", "text/html; charset=utf-8"),),
                       body=html.encode("utf-8"), fetched_at=datetime.now(UTC))
    result = extract_page(page)
    return result.extraction.text if result.extraction else ""


EXTRACTORS: dict[str, Callable[[str, str], str]] = {
    "trafilatura": lambda html, url: trafilatura.extract(html, url=url) or "",
    "trafilatura-prec": lambda html, url: trafilatura.extract(html, url=url, favor_precision=True) or "",
    "newsarchive": ours,
}


def load(data: Path) -> list[tuple[str, str, str, str]]:
    """(page id, url, html, true body) for each page of a set, in either layout."""
    pages = []
    if (data / "ground-truth.json").exists():
        truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
        for page_id, entry in sorted(truth.items()):
            html = gzip.decompress((data / f"{page_id}.html.gz").read_bytes()).decode("utf-8")
            pages.append((page_id, entry.get("url", ""), html, entry.get("articleBody", "")))
    for spec in sorted(data.glob("*.json")):
        if spec.name != "ground-truth.json":
            entry = json.loads(spec.read_text(encoding="utf-8"))
            html = spec.with_suffix(".html").read_text(encoding="utf-8")
            pages.append((spec.stem, entry["url"], html, entry["articleBody"]))
    return pages


def run(pages: list[tuple[str, str, str, str]], names: list[str], repeat: int) -> dict[str, Score]:
    """Each page through each extractor in turn, `repeat` rounds; a page's time is its fastest
    round, so a busy moment on a shared machine does not count against one extractor."""
    scores = {name: Score(name) for name in names}
    for name in names:
        EXTRACTORS[name](pages[0][2], pages[0][1])  # warm-up: imports, caches
    for page_id, url, html, truth in pages:
        for name in names:
            best = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                predicted = EXTRACTORS[name](html, url)
                best = min(best, time.perf_counter() - start)
            scores[name].seconds.append(best)
            scores[name].counts[page_id] = tp_fp_fn(truth, predicted)
    return scores


def report_pages(mine: dict[str, tuple[float, float, float]], base: dict[str, tuple[float, float, float]],
                 baseline: str, worst: int) -> None:
    deltas = sorted((page_f1(mine[k]) - page_f1(base[k]), k) for k in mine)
    print(f"per-page F1 vs {baseline}: {sum(d > 0.005 for d, _ in deltas)} better, "
          f"{sum(d < -0.005 for d, _ in deltas)} worse, worst delta {deltas[0][0]:+.3f}")
    for delta, key in deltas[:worst]:
        if delta < -0.005:
            print(f"  {delta:+.3f}  {key[:24]}  F1 {page_f1(mine[key]):.3f} vs {page_f1(base[key]):.3f}")


def report_every_page(scores: dict[str, Score]) -> None:
    names = list(scores)
    print(f"{'page':<34} " + " ".join(f"{n:>16}" for n in names))
    for key in next(iter(scores.values())).counts:
        print(f"{key[:34]:<34} " + " ".join(f"{page_f1(scores[n].counts[key]):>16.3f}" for n in names))


def empty_pages(score: Score) -> list[str]:
    """Pages with a true body where the extractor returned nothing."""
    return [key for key, (tp, fp, fn) in score.counts.items() if tp == fp == 0 and fn > 0]


def report_set(data: Path, names: list[str], repeat: int, worst: int, every_page: bool) -> dict[str, dict[str, float]]:
    pages = load(data)
    scores = run(pages, names, repeat)
    print(f"{len(pages)} pages from {data}")
    print(f"{'extractor':<18} {'precision':>9} {'recall':>7} {'F1':>7} {'ms/page median':>15} {'mean':>7}"
          f" {'vs trafilatura':>15} {'empty':>6}")
    summaries = {name: score.summary() for name, score in scores.items()}
    base_ms = summaries.get("trafilatura", {}).get("ms_median")
    for name, s in summaries.items():
        ratio = f"{s['ms_median'] / base_ms:>14.2f}x" if base_ms else ""
        s["empty"] = len(empty_pages(scores[name]))
        print(f"{name:<18} {s['precision']:>9.4f} {s['recall']:>7.4f} {s['f1']:>7.4f} "
              f"{s['ms_median']:>15.1f} {s['ms_mean']:>7.1f} {ratio} {s['empty']:>6.0f}")
    if "newsarchive" in scores and empty_pages(scores["newsarchive"]):
        print("newsarchive returned nothing on: " + ", ".join(empty_pages(scores["newsarchive"])))
    for baseline in ("trafilatura", "trafilatura-prec"):
        if "newsarchive" in scores and baseline in scores:
            report_pages(scores["newsarchive"].counts, scores[baseline].counts, baseline, worst)
    if every_page:
        report_every_page(scores)
    print()
    return summaries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, action="append",
                        help=f"a page set (repeatable; default: {DATA} and {OWN})")
    parser.add_argument("--worst", type=int, default=10, help="list the N pages where newsarchive loses most")
    parser.add_argument("--only", nargs="*", choices=list(EXTRACTORS), default=list(EXTRACTORS))
    parser.add_argument("--repeat", type=int, default=3, help="timing rounds per page; the fastest counts")
    parser.add_argument("--pages", action="store_true", help="print each page's F1 per extractor")
    parser.add_argument("--json", type=Path, help="also write the summaries as JSON here")
    args = parser.parse_args(argv)
    results = {str(data): report_set(data, args.only, args.repeat, args.worst, args.pages)
               for data in (args.data or [DATA, OWN])}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
