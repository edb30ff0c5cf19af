"""Finding things in the archive: `ls`, `index`, `history` and `diff` (the CLI's reading side).

`ls` reads the catalog (crawler.store.catalog), a few objects however large the store;
`history` and `diff` read one article's captures (their WARCs) directly.
"""

from __future__ import annotations

import json
import os
from typing import Any, TextIO

from crawler.model.changes import Block, TextDiff, change_between, diff_as_data, metadata_changes, text_diff
from crawler.store.base import Store
from crawler.store.captures import CaptureRef, StoredCapture, list_captures, read_capture
from crawler.store.catalog import Article, rebuild_catalog
from crawler.store.selection import Selection, selected_articles

RED, GREEN, DIM, BOLD, RESET = "\033[31m", "\033[32m", "\033[2m", "\033[1m", "\033[0m"
STRIKE = "\033[9m"


class NotFound(Exception):
    """Nothing in the store for what was asked (a CLI error, exit 1)."""


def use_color(choice: str, out: TextIO) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return out.isatty()


# --- ls ---------------------------------------------------------------------------------------

def article_entry(article: Article) -> dict[str, Any]:
    latest = article.latest
    return {
        "identity_url": article.identity_url, "url": latest.get("url"), "title": latest.get("title"),
        "site": latest.get("site"), "host": latest.get("host"), "kind": latest.get("kind"),
        "access": latest.get("access"), "published": latest.get("published"),
        "capture_id": latest.get("capture_id"), "fetched_at": latest.get("fetched_at"),
        "checked_at": article.checked_at or latest.get("fetched_at"), "words": latest.get("words"),
        "captures": len(article.captures), "changed": article.changed, "problem": latest.get("problem"),
        "warc_key": latest.get("key"),
    }


LS_COLUMNS = ("title", "host", "access", "published", "words", "problem")
"""The catalog columns `ls` shows, besides those every selection reads."""


def list_articles(store: Store, selection: Selection, out: TextIO, *, as_json: bool) -> int:
    """Print the selected articles, newest capture first; return how many."""
    found = selected_articles(store, selection, LS_COLUMNS)
    for article in found:
        entry = article_entry(article)
        if as_json:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        else:
            flag = " *" if entry["changed"] else ""
            out.write(f"{entry['fetched_at'] or '?':<20}  {entry['kind'] or '-':<7}  {entry['words'] or 0:>6}w  "
                      f"{entry['captures']:>3}x{flag:<2}  {entry['title'] or '(no title)'}  {entry['identity_url']}\n")
    return len(found)


# --- index ------------------------------------------------------------------------------------

def rebuild(store: Store, host: str | None, err: TextIO) -> int:
    summary = rebuild_catalog(store, host)
    err.write(f"Catalog rebuilt from the captures: {summary.captures} capture(s) and {summary.checks} check(s) of "
              f"{summary.hosts} host(s); {summary.replaced_segments} older segment(s) replaced\n")
    for problem in summary.unreadable:
        err.write(f"Warning: not catalogued, unreadable: {problem}\n")
    return 1 if summary.unreadable else 0


# --- history ----------------------------------------------------------------------------------

def versions(store: Store, url: str) -> list[tuple[CaptureRef, StoredCapture]]:
    """The article's captures, newest first, each read once."""
    refs = list_captures(store, url)
    if not refs:
        raise NotFound(f"no captures of {url} in {store.location('')}")
    return [(ref, read_capture(store, ref)) for ref in refs]


def history(store: Store, url: str, out: TextIO, *, as_json: bool) -> None:
    found = versions(store, url)
    entries = []
    for at, (ref, capture) in enumerate(found):
        record = capture.record
        before = found[at + 1][1] if at + 1 < len(found) else None
        change = None if before is None else change_between(before.record, before.text, record, capture.text)
        entries.append({
            "capture_id": ref.capture_id, "fetched_at": record.get("fetched_at"), "status": record.get("status"),
            "title": record.get("title"), "words": (record.get("text") or {}).get("words", 0),
            "text_sha256": (record.get("text") or {}).get("sha256"), "problem": record.get("problem"),
            "change": "first capture" if change is None else change.summary(),
            "changes": None if change is None else {
                "text_changed": change.text_changed, "words_added": change.words_added,
                "words_removed": change.words_removed,
                "metadata": {k: {"from": old, "to": new} for k, (old, new) in change.metadata.items()},
            },
        })
    if as_json:
        out.write(json.dumps({"url": url, "captures": entries}, ensure_ascii=False, indent=2) + "\n")
        return
    out.write(f"{len(entries)} capture(s) of {url}, newest first:\n")
    for entry in entries:
        digest = (entry["text_sha256"] or "-")[:12]
        out.write(f"  {entry['capture_id']}  {entry['status']}  {entry['words']:>6}w  {digest:<12}  "
                  f"{entry['title'] or '(no title)'}\n      {entry['change']}\n")


# --- diff -------------------------------------------------------------------------------------

def pick(found: list[tuple[CaptureRef, StoredCapture]], capture_id: str | None, default: int,
         url: str) -> tuple[CaptureRef, StoredCapture]:
    if capture_id is None:
        return found[min(default, len(found) - 1)]
    for ref, capture in found:
        if ref.capture_id == capture_id:
            return ref, capture
    raise NotFound(f"no capture {capture_id} of {url} (see `newsarchive history {url}`)")


def diff(store: Store, url: str, out: TextIO, *, from_id: str | None, to_id: str | None, as_json: bool,
         color: bool, context: int = 1) -> bool:
    """Print the change between two captures (default: the two newest); return whether they differ."""
    found = versions(store, url)
    old_ref, old = pick(found, from_id, 1, url)
    new_ref, new = pick(found, to_id, 0, url)
    meta = metadata_changes(old.record, new.record)
    text = text_diff(old.text, new.text)
    differ = bool(meta) or text.changed
    if as_json:
        out.write(json.dumps({
            "url": url, "differ": differ,
            "from": {"capture_id": old_ref.capture_id, "fetched_at": old.record.get("fetched_at")},
            "to": {"capture_id": new_ref.capture_id, "fetched_at": new.record.get("fetched_at")},
            "metadata": {k: {"from": a, "to": b} for k, (a, b) in meta.items()},
            "text": {"changed": text.changed, "words_added": text.words_added, "words_removed": text.words_removed,
                     "blocks": diff_as_data(text)},
        }, ensure_ascii=False, indent=2) + "\n")
        return differ
    out.write(f"--- {url} {old_ref.capture_id} ({old.record.get('fetched_at')})\n"
              f"+++ {url} {new_ref.capture_id} ({new.record.get('fetched_at')})\n")
    for name, (a, b) in meta.items():
        out.write(f"{_paint('-', RED, color)}{name}: {json.dumps(a, ensure_ascii=False)}{_end(color)}\n"
                  f"{_paint('+', GREEN, color)}{name}: {json.dumps(b, ensure_ascii=False)}{_end(color)}\n")
    if text.changed:
        out.write(f"@@ text: +{text.words_added}/-{text.words_removed} words @@\n")
        out.write(render_blocks(text, color=color, context=context))
    elif not meta:
        out.write("(no difference)\n")
    return differ


def _paint(prefix: str, code: str, color: bool) -> str:
    return f"{code}{prefix}" if color else prefix


def _end(color: bool) -> str:
    return RESET if color else ""


def render_blocks(text: TextDiff, *, color: bool, context: int) -> str:
    """A unified diff of paragraphs; with color, changed words highlighted inside each line."""
    lines: list[str] = []
    blocks = list(text.blocks)
    for at, block in enumerate(blocks):
        if block.op == "equal":
            keep = _context(block, at, len(blocks), context)
            lines += [line if line == "…" else f"{_paint(' ', DIM, color)}{line}{_end(color)}" for line in keep]
            continue
        lines.extend(_changed_lines(block, color))
    return "".join(line + "\n" for line in lines)


def _context(block: Block, at: int, total: int, context: int) -> list[str]:
    """The unchanged paragraphs to show around changes: `context` on each side, "…" between."""
    paras = list(block.old)
    head = 0 if at == 0 else context
    tail = 0 if at == total - 1 else context
    if len(paras) <= head + tail:
        return paras
    return [*paras[:head], "…", *paras[len(paras) - tail:]]


def _changed_lines(block: Block, color: bool) -> list[str]:
    lines = []
    pairs = len(block.words)
    for index, ops in enumerate(block.words):
        if color:
            old = " ".join(f"{RED}{STRIKE}{op.text}{RESET}{RED}" if op.op == "delete" else op.text
                           for op in ops if op.op != "insert")
            new = " ".join(f"{GREEN}{BOLD}{op.text}{RESET}{GREEN}" if op.op == "insert" else op.text
                           for op in ops if op.op != "delete")
            lines += [f"{RED}-{old}{RESET}", f"{GREEN}+{new}{RESET}"]
        else:
            lines += [f"-{block.old[index]}", f"+{block.new[index]}"]
    for line in block.old[pairs:]:
        lines.append(f"{RED}-{line}{RESET}" if color else f"-{line}")
    for line in block.new[pairs:]:
        lines.append(f"{GREEN}+{line}{RESET}" if color else f"+{line}")
    return lines
