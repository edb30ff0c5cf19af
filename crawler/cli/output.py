"""One result line per requested URL, as each finishes (the CLI's progress output).

A result is one of:
  archived  the capture is complete, with the article text
  partial   archived with text, but flagged: not the whole article (a paywalled teaser)
  raw-only  the raw page is archived but it has no article text (flagged in the record: not
            HTML, no article, an index page, a consent wall, a bot challenge, a soft 404...)
  spooled   fetched, but the store could not take it: kept in the local spool until the next
            run or `newsarchive spool flush` writes it
  failed    nothing was archived for this URL

`archive` and `extract` exit with the code of the worst outcome (EXIT_CODES): 0 archived,
3 partial, 4 raw-only, 1 spooled or failed; 2 is a usage error, as argparse's own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from crawler.model.items import Capture

OUTCOMES = ("archived", "partial", "raw-only", "spooled", "failed")
"""Best to worst."""
EXIT_CODES = {"archived": 0, "partial": 3, "raw-only": 4, "spooled": 1, "failed": 1}


def outcome_of(problem: str | None, has_text: bool) -> str:
    """The outcome of a capture (or of `extract` on a page) with this problem and text."""
    return "archived" if not problem else "partial" if has_text else "raw-only"


def exit_code(outcomes: list[str]) -> int:
    """The exit code of the worst outcome; 1 when there is none."""
    return EXIT_CODES[max(outcomes, key=OUTCOMES.index)] if outcomes else 1


@dataclass(frozen=True, slots=True)
class Result:
    url: str
    outcome: str
    """"archived", "partial", "raw-only", "spooled" or "failed"."""
    error: str | None = None
    http_status: int | None = None
    final_url: str | None = None
    title: str | None = None
    text_chars: int | None = None
    location: str | None = None
    capture_id: str | None = None
    rendered: dict[str, Any] | None = None
    """The record's `rendered` (ok, reason, ms, error, ...) when the page went through a browser."""

    @property
    def ok(self) -> bool:
        return self.outcome == "archived"


def result_from_capture(capture: Capture) -> Result:
    return Result(
        url=capture.requested_url,
        outcome="spooled" if capture.change == "spooled" else outcome_of(capture.problem, bool(capture.text_chars)),
        error=capture.problem,
        http_status=capture.status,
        final_url=capture.url,
        title=capture.title,
        text_chars=capture.text_chars,
        location=capture.location,
        capture_id=capture.capture_id,
        rendered=rendered if isinstance(rendered := capture.record.get("rendered"), dict) else None,
    )


def format_line(result: Result) -> str:
    """A line for people: outcome, URL, then what matters for that outcome."""
    if result.outcome == "failed":
        return f"failed    {result.url}: {result.error}"
    moved = f" -> {result.final_url}" if result.final_url and result.final_url != result.url else ""
    head = f"{result.outcome:<9} {result.url}{moved} [{result.http_status}]"
    if result.rendered and result.rendered.get("ok"):
        head += f" rendered in {result.rendered.get('ms', 0) / 1000:.1f} s"
    if result.outcome == "spooled":
        return (f"{head} the store is unreachable; kept in the local spool {result.location}"
                " (the next run, or `newsarchive spool flush`, writes it)")
    if result.outcome == "raw-only":
        return f"{head} {result.error}; raw page stored at {result.location}"
    if result.outcome == "partial":
        return f"{head} {result.error}; {result.text_chars} chars -> {result.location}"
    title = f' "{result.title}"' if result.title else " (no title)"
    return f"{head}{title} {result.text_chars} chars -> {result.location}"


def format_json(result: Result) -> str:
    return json.dumps({**asdict(result), "ok": result.ok}, ensure_ascii=False)


class Reporter:
    """Collects one Result per requested URL and prints each as it arrives."""

    def __init__(self, urls: list[str], out: TextIO, as_json: bool = False) -> None:
        self.pending = list(dict.fromkeys(urls))
        self.results: list[Result] = []
        self.out = out
        self.as_json = as_json

    def add(self, result: Result) -> None:
        if result.url not in self.pending:  # only the first word on a URL counts
            return
        self.pending.remove(result.url)
        self.results.append(result)
        self.out.write((format_json(result) if self.as_json else format_line(result)) + "\n")
        self.out.flush()

    def finish(self, reason: str = "no result (interrupted? run with -v to see the crawl log)") -> None:
        for url in list(self.pending):
            self.add(Result(url=url, outcome="failed", error=reason))

    def summary(self) -> str:
        counts = {name: 0 for name in ("archived", "partial", "raw-only", "spooled", "failed")}
        for result in self.results:
            counts[result.outcome] += 1
        return ", ".join(f"{n} {name}" for name, n in counts.items())

    @property
    def exit_code(self) -> int:
        return exit_code([r.outcome for r in self.results])
