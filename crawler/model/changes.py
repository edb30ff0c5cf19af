"""What changed between two captures of an article (pure): metadata fields, paragraphs, words.

Texts are compared paragraph by paragraph (a capture's text holds one paragraph per line), and
inside a changed paragraph word by word, so a stealth edit of one word shows as that word.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

META_FIELDS = ("title", "authors", "published", "modified", "description", "language", "section", "tags",
               "kind", "access", "status", "problem")
"""The record fields a diff compares, besides the text."""
_WORD = re.compile(r"\S+")


def metadata_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{field: (old value, new value)} for each of META_FIELDS that differs."""
    return {name: (old.get(name), new.get(name)) for name in META_FIELDS if old.get(name) != new.get(name)}


@dataclass(frozen=True, slots=True)
class WordOp:
    op: str
    """equal, delete or insert."""
    text: str


@dataclass(frozen=True, slots=True)
class Block:
    """A run of paragraphs: the same in both texts, or changed."""

    op: str
    """equal, delete (only in the old text), insert (only in the new) or replace."""
    old: tuple[str, ...]
    new: tuple[str, ...]
    words: tuple[tuple[WordOp, ...], ...] = ()
    """For replace: each old/new paragraph pair compared word by word."""


@dataclass(frozen=True, slots=True)
class TextDiff:
    blocks: tuple[Block, ...]
    words_added: int
    words_removed: int

    @property
    def changed(self) -> bool:
        return any(b.op != "equal" for b in self.blocks)


def word_ops(old: str, new: str) -> tuple[WordOp, ...]:
    """`old` turned into `new`, word by word (whitespace between words kept with the word before)."""
    a, b = _WORD.findall(old), _WORD.findall(new)
    ops: list[WordOp] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(WordOp("equal", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            ops.append(WordOp("delete", " ".join(a[i1:i2])))
        if j2 > j1:
            ops.append(WordOp("insert", " ".join(b[j1:j2])))
    return tuple(ops)


def _lines(text: str | None) -> list[str]:
    return [line for line in (text or "").split("\n") if line.strip()]


def text_diff(old: str | None, new: str | None) -> TextDiff:
    """The paragraphs of `old` against those of `new`, and how many words came and went."""
    a, b = _lines(old), _lines(new)
    blocks: list[Block] = []
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old_part, new_part = tuple(a[i1:i2]), tuple(b[j1:j2])
        words: tuple[tuple[WordOp, ...], ...] = ()
        if tag == "replace":
            pairs = list(zip(old_part, new_part, strict=False))
            words = tuple(word_ops(o, n) for o, n in pairs)
            for ops in words:
                added += sum(len(op.text.split()) for op in ops if op.op == "insert")
                removed += sum(len(op.text.split()) for op in ops if op.op == "delete")
            added += sum(len(p.split()) for p in new_part[len(pairs):])
            removed += sum(len(p.split()) for p in old_part[len(pairs):])
        elif tag == "insert":
            added += sum(len(p.split()) for p in new_part)
        elif tag == "delete":
            removed += sum(len(p.split()) for p in old_part)
        blocks.append(Block(tag, old_part, new_part, words))
    return TextDiff(tuple(blocks), added, removed)


@dataclass(frozen=True, slots=True)
class Change:
    """A capture against the one before it."""

    metadata: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    words_added: int = 0
    words_removed: int = 0
    text_changed: bool = False

    def summary(self) -> str:
        """A few words for people: "text +12/-3 words; title, authors"."""
        parts = []
        if self.text_changed:
            parts.append(f"text +{self.words_added}/-{self.words_removed} words")
        if self.metadata:
            parts.append(", ".join(self.metadata))
        return "; ".join(parts) or "no change"


def change_between(old_record: Mapping[str, Any], old_text: str | None,
                   new_record: Mapping[str, Any], new_text: str | None) -> Change:
    diff = text_diff(old_text, new_text)
    return Change(metadata_changes(old_record, new_record), diff.words_added, diff.words_removed, diff.changed)


def diff_as_data(diff: TextDiff) -> list[dict[str, Any]]:
    """The blocks as plain data (for --json), equal runs included."""
    blocks = []
    for block in diff.blocks:
        item: dict[str, Any] = {"op": block.op, "old": list(block.old), "new": list(block.new)}
        if block.words:
            item["words"] = [[{"op": w.op, "text": w.text} for w in ops] for ops in block.words]
        blocks.append(item)
    return blocks
