"""The sites a scheduled crawl keeps current, read from a TOML file (pure apart from reading it).

    [[site]]
    name = "example"
    start_urls = ["https://example.com/", "https://example.com/world/"]   # home/section pages
    feeds = ["https://example.com/rss.xml"]                               # RSS / Atom
    sitemaps = ["https://example.com/sitemap.xml"]                        # sitemap, index, news sitemap
    allowed_domains = ["example.com"]          # default: the domains of the URLs above
    article_pattern = "/news/\\d{4}/"          # optional: only URLs matching this are articles
    max_age_days = 3                           # optional: skip feed/sitemap entries older than this
    max_depth = 1                              # optional: section pages followed from start pages
    recheck_hours = 48                         # optional: re-fetch articles this young
    render = "auto"                            # optional: "never" (default), "auto" or "always"
    render_hosts = ["cdn.example.net"]         # optional: more domains a rendered page may fetch from

Only `name` plus one of start_urls/feeds/sitemaps is required. Every mistake is reported
before any request is sent, naming the file, the site and the field.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.model.items import RENDER_MODES, RenderPolicy
from crawler.model.urls import BadURLError, check_url

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d+)?$")
FIELDS = ("name", "start_urls", "feeds", "sitemaps", "allowed_domains", "article_pattern", "max_age_days",
          "max_depth", "recheck_hours", "render", "render_hosts")


class SiteConfigError(ValueError):
    """A sites file that cannot be used; the message names the file, the site and the field."""


@dataclass(frozen=True, slots=True)
class SiteConfig:
    name: str
    start_urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    article_pattern: re.Pattern[str] | None = None
    max_age_days: float | None = None
    max_depth: int = 1
    recheck_hours: float = 48.0
    render: str = "never"
    """One of RENDER_MODES: whether the site's articles are rendered in a browser."""
    render_hosts: tuple[str, ...] = ()
    """Domains a rendered page may fetch from besides allowed_domains."""

    @property
    def render_policy(self) -> RenderPolicy | None:
        """How the site's articles may be rendered (None: never)."""
        if self.render == "never":
            return None
        return RenderPolicy(self.render, tuple(dict.fromkeys((*self.allowed_domains, *self.render_hosts))))

    def allows(self, url: str) -> bool:
        """Is `url` on one of the site's domains (or a subdomain of one)?"""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        with_port = f"{host}:{parts.port}" if parts.port else host
        return any(candidate == domain or candidate.endswith("." + domain)
                   for domain in self.allowed_domains for candidate in (host, with_port))


def _domains(site: str, field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(d, str) and _DOMAIN.match(d.lower()) for d in value):
        raise SiteConfigError(f"site {site!r}: {field!r} must be a list of domain names like 'example.com'")
    return tuple(dict.fromkeys(d.lower() for d in value))


def _urls(site: str, field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SiteConfigError(f"site {site!r}: {field!r} must be a list of URLs")
    urls = []
    for url in value:
        try:
            urls.append(check_url(url))
        except BadURLError as exc:
            raise SiteConfigError(f"site {site!r}: {field!r}: {url!r}: {exc}") from None
    return tuple(dict.fromkeys(urls))


def _number(site: str, field: str, value: Any, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise SiteConfigError(f"site {site!r}: {field!r} must be a number >= {minimum:g}, not {value!r}")
    return float(value)


def parse_site(entry: Mapping[str, Any], position: int) -> SiteConfig:
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SiteConfigError(f"site #{position}: 'name' must be a short name of letters, digits, '.', '_' or '-'"
                              f" (got {name!r})")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise SiteConfigError(f"site {name!r}: unknown field {unknown[0]!r} (known: {', '.join(FIELDS)})")
    start_urls = _urls(name, "start_urls", entry.get("start_urls", []))
    feeds = _urls(name, "feeds", entry.get("feeds", []))
    sitemaps = _urls(name, "sitemaps", entry.get("sitemaps", []))
    if not (start_urls or feeds or sitemaps):
        raise SiteConfigError(f"site {name!r}: needs at least one of 'start_urls', 'feeds' or 'sitemaps'")
    domains = entry.get("allowed_domains")
    if domains is None:
        hosts = [urlsplit(u) for u in (*start_urls, *feeds, *sitemaps)]
        domains = [f"{h.hostname}:{h.port}" if h.port else str(h.hostname) for h in hosts]
    allowed = _domains(name, "allowed_domains", domains)
    pattern = entry.get("article_pattern")
    compiled = None
    if pattern is not None:
        if not isinstance(pattern, str):
            raise SiteConfigError(f"site {name!r}: 'article_pattern' must be a regular expression string")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise SiteConfigError(
                f"site {name!r}: 'article_pattern' is not a valid regular expression: {exc}") from None
    max_age = entry.get("max_age_days")
    depth = entry.get("max_depth", 1)
    if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= 5:
        raise SiteConfigError(f"site {name!r}: 'max_depth' must be a whole number from 0 to 5, not {depth!r}")
    render = entry.get("render", "never")
    if render not in RENDER_MODES:
        raise SiteConfigError(f"site {name!r}: 'render' must be one of {', '.join(map(repr, RENDER_MODES))},"
                              f" not {render!r}")
    return SiteConfig(
        name=name, start_urls=start_urls, feeds=feeds, sitemaps=sitemaps,
        allowed_domains=allowed,
        article_pattern=compiled,
        max_age_days=None if max_age is None else _number(name, "max_age_days", max_age, minimum=0.01),
        max_depth=depth,
        recheck_hours=_number(name, "recheck_hours", entry.get("recheck_hours", 48), minimum=0),
        render=render, render_hosts=_domains(name, "render_hosts", entry.get("render_hosts", [])),
    )


def parse_sites(data: Mapping[str, Any], only: Sequence[str] = ()) -> list[SiteConfig]:
    entries = data.get("site")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise SiteConfigError("no [[site]] entries")
    unknown_top = sorted(set(data) - {"site"})
    if unknown_top:
        raise SiteConfigError(f"unknown top-level key {unknown_top[0]!r} (sites are [[site]] tables)")
    sites = [parse_site(entry, i) for i, entry in enumerate(entries, 1)]
    names = [s.name for s in sites]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise SiteConfigError(f"site {duplicate!r} is defined twice")
    missing = [n for n in only if n not in names]
    if missing:
        raise SiteConfigError(f"no site named {missing[0]!r} (sites: {', '.join(names)})")
    return [s for s in sites if not only or s.name in only]


def load_sites(path: Path, only: Sequence[str] = ()) -> list[SiteConfig]:
    """Read and check a sites file; SiteConfigError names the file and what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SiteConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SiteConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return parse_sites(data, only)
    except SiteConfigError as exc:
        raise SiteConfigError(f"{path}: {exc}") from None
