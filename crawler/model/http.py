"""Small HTTP helpers shared by extraction and the store (pure)."""

from __future__ import annotations


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lowercased ("" when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()
