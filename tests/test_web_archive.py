"""The web UI's read side (crawler.web.archive) on a local store: catalog snapshots, runs, chart."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

from crawler.store.catalog import CatalogWriter, catalog_row
from crawler.store.local import LocalDirStore
from crawler.web.archive import WebArchive
from crawler.web.chart import captures_chart


def add_capture(store: LocalDirStore, n: int, site: str, fetched_at: str) -> None:
    url = f"https://news.example/story-{n}.html"
    record = {"capture_id": f"2026120{n}T000000000000Z", "identity_url": url, "url": url, "requested_url": url,
              "fetched_at": fetched_at, "site": site, "title": f"Story {n}", "kind": "article"}
    writer = CatalogWriter(store)
    writer.add(catalog_row(record, f"news.example/hash{n}/{record['capture_id']}.warc.gz"))
    writer.close()


def test_a_stale_snapshot_is_refreshed_in_the_background(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    add_capture(store, 1, "harbor", "2026-12-01T08:00:00Z")
    archive = WebArchive(store, ttl=0)
    first = archive.snapshot()
    assert list(first.articles) == ["https://news.example/story-1.html"]
    add_capture(store, 2, "harbor", "2026-12-02T08:00:00Z")
    assert archive.snapshot() is first  # stale: answered from the old one while it refreshes
    deadline = time.monotonic() + 10
    while archive.snapshot() is first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(archive.snapshot().articles) == 2


def test_sites_runs_and_captures_per_day(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    add_capture(store, 1, "harbor", "2026-12-01T08:00:00Z")
    add_capture(store, 2, "harbor", "2026-12-01T09:00:00Z")
    add_capture(store, 3, "<b>bay</b>", "2026-12-03T09:00:00Z")
    for worker, new in (("w1", 2), ("w2", 1)):  # a fleet run: one summary per process, merged
        summary = {"started_at": "2026-12-03T09:00:00Z", "sites": {"harbor": {"new": new, "failed": 0, "status": "ok"}}}
        store.put(f"runs/crawl-sites/20261203T090000Z-abc/{worker}/summary.json", json.dumps(summary).encode(),
                  content_type="application/json", metadata={})
    archive = WebArchive(store)
    runs = archive.runs()
    assert len(runs) == 1 and runs[0]["sites"]["harbor"]["new"] == 3
    sites = {s["name"]: s for s in archive.sites()}
    assert sites["harbor"]["articles"] == 2 and sites["harbor"]["run"]["new"] == 3
    days, series = archive.captures_per_day(days=5, today=date(2026, 12, 4))
    assert days[0] == date(2026, 11, 30) and series == {"<b>bay</b>": [0, 0, 0, 1, 0], "harbor": [0, 2, 0, 0, 0]}
    svg = captures_chart(days, series)
    assert "&lt;b&gt;bay&lt;/b&gt;" in svg and "<b>" not in svg  # a site's name is text, not markup
