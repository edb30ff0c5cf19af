"""ArchivePipeline on a local store, in-process: identity, pointers, unchanged and changed articles."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.extraction.extract import extract_page
from crawler.model.items import Capture, FetchedPage
from crawler.store.captures import list_captures, read_pointer, read_record, read_text
from crawler.store.local import LocalDirStore
from pipelines.archive import ArchivePipeline
from tests.conftest import SITE_ROOT

ARTICLE = (SITE_ROOT / "news/2026/02/ukraine-strikes-missile-factory.html").read_bytes()
CANONICAL = "https://harbor-gazette.example/news/2026/02/ukraine-strikes-missile-factory"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def fetched(url: str, body: bytes = ARTICLE, at: datetime = T0, requested: str | None = None) -> FetchedPage:
    return FetchedPage(requested_url=requested or url, url=url, status=200,
                       headers=(("Content-Type", "text/html"), ("ETag", f'"{at.hour}"')), body=body, fetched_at=at)


def archive(pipeline: ArchivePipeline, page: FetchedPage) -> Capture:
    result = asyncio.run(pipeline.process_item(extract_page(page)))
    assert isinstance(result, Capture)
    return result


def capture_dirs(root: Path) -> list[Path]:
    """Every capture stored under `root` (one WARC each)."""
    return sorted(root.rglob("*.warc.gz"))


def test_unchanged_changed_and_aliases(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    pipeline = ArchivePipeline(store, skip_unchanged=True, cooldown=30, threads=4)
    tracked = f"{CANONICAL}?utm_source=newsletter&fbclid=abc"

    first = archive(pipeline, fetched(tracked))
    assert first.change == "new"
    assert read_record(store, list_captures(store, CANONICAL)[0])["identity_url"] == CANONICAL

    again = archive(pipeline, fetched(CANONICAL, at=T0 + timedelta(hours=1)))
    assert again.change == "unchanged" and again.capture_id == first.capture_id
    assert len(capture_dirs(tmp_path)) == 1  # nothing new written
    pointer = read_pointer(store, CANONICAL)
    assert pointer is not None and pointer["checked_at"].startswith("2026-11-23T09:00") and pointer["etag"] == '"9"'

    edited = ARTICLE.replace(b"The overnight attack marks", b"The overnight attack, confirmed on Monday, marks")
    changed = archive(pipeline, fetched(CANONICAL, body=edited, at=T0 + timedelta(hours=2)))
    assert changed.change == "changed"
    refs = list_captures(store, tracked)  # the tracking URL normalises to the canonical one
    assert [r.capture_id for r in refs] == [changed.capture_id, first.capture_id]
    newest = read_record(store, refs[0])
    assert newest["previous_capture"]["capture_id"] == first.capture_id
    assert "confirmed on Monday" in (read_text(store, refs[0], newest) or "")


def test_a_page_reached_by_another_url_is_found_by_either(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    pipeline = ArchivePipeline(store, skip_unchanged=True, cooldown=30, threads=4)
    short = "https://hgz.example/s/abc123"  # a redirecting short link: another site, another URL
    archive(pipeline, fetched(CANONICAL, requested=short))
    by_short, by_canonical = list_captures(store, short), list_captures(store, CANONICAL)
    assert len(by_short) == 1 and by_short == by_canonical


def test_archiving_on_request_always_writes_a_capture(tmp_path: Path) -> None:
    pipeline = ArchivePipeline(LocalDirStore(tmp_path), skip_unchanged=False, cooldown=30, threads=4)
    assert archive(pipeline, fetched(CANONICAL)).change == "new"
    assert archive(pipeline, fetched(CANONICAL, at=T0 + timedelta(minutes=5))).change == "recaptured"
    assert len(capture_dirs(tmp_path)) == 2


def test_a_crawls_copy_of_the_pointer_is_not_trusted_once_stale(tmp_path: Path) -> None:
    """A crawl hands the pipeline the pointer it read while deciding, to save a second read. A copy
    this run has since made stale, or one read for another URL than the article's, is read again:
    else the same text would be stored twice."""
    store = LocalDirStore(tmp_path)
    first = archive(ArchivePipeline(store, skip_unchanged=True, cooldown=30, threads=4), fetched(CANONICAL))
    decided = read_pointer(store, CANONICAL)  # what the next run's discovery reads, once
    assert decided is not None

    run = ArchivePipeline(store, skip_unchanged=True, cooldown=30, threads=4)
    edited = ARTICLE.replace(b"The overnight attack marks", b"The overnight attack, confirmed on Monday, marks")
    changed = archive(run, replace(fetched(CANONICAL, body=edited, at=T0 + timedelta(hours=1)),
                                   pointer=decided, pointer_read=True))
    assert changed.change == "changed"
    # the same URL again in this run (another feed's link to it), decided on the same old pointer
    again = archive(run, replace(fetched(CANONICAL, body=edited, at=T0 + timedelta(hours=2)),
                                 pointer=decided, pointer_read=True))
    assert again.change == "unchanged" and again.capture_id == changed.capture_id

    # looked up by a short link whose pointer is older than the canonical URL's, filed under the latter
    short = "https://hgz.example/s/abc123"
    redirected = replace(fetched(CANONICAL, body=edited, requested=short, at=T0 + timedelta(hours=3)),
                         pointer=decided, pointer_read=True)
    assert archive(ArchivePipeline(store, skip_unchanged=True, cooldown=30, threads=4),
                   redirected).change == "unchanged"
    assert len(capture_dirs(tmp_path)) == 2 and first.capture_id != changed.capture_id


class GatedStore(LocalDirStore):
    """A real local store whose capture writes wait at a gate the test opens, and which
    records how many captures of one article were being written at once."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Semaphore(0)
        self.entered = threading.Semaphore(0)
        self.writing = 0
        self.most_at_once = 0
        self.guard = threading.Lock()

    def put(self, key: str, data: bytes, *, content_type: str, metadata: Mapping[str, str]) -> None:
        if not key.endswith(".warc.gz"):
            return super().put(key, data, content_type=content_type, metadata=metadata)
        with self.guard:  # a capture's write: one more writer of this article
            self.writing += 1
            self.most_at_once = max(self.most_at_once, self.writing)
        self.entered.release()
        self.gate.acquire(timeout=10)
        super().put(key, data, content_type=content_type, metadata=metadata)
        with self.guard:
            self.writing -= 1


def test_one_writer_per_article_however_many_items_arrive() -> None:
    """Three items for one article: the second waits for the first; the third, arriving while the
    second writes, waits for the second (it once got a fresh lock and wrote beside it)."""

    async def scenario(store: GatedStore, pipeline: ArchivePipeline) -> list[Capture]:
        items = [extract_page(fetched(CANONICAL, at=T0 + timedelta(minutes=n))) for n in range(3)]
        first = asyncio.create_task(pipeline.process_item(items[0]))
        second = asyncio.create_task(pipeline.process_item(items[1]))
        await asyncio.to_thread(store.entered.acquire, timeout=10)  # the first is writing
        store.gate.release()
        done = await first
        await asyncio.to_thread(store.entered.acquire, timeout=10)  # the second is writing now
        third = asyncio.create_task(pipeline.process_item(items[2]))
        await asyncio.sleep(0.3)  # time for the third to start writing, were it let through
        store.gate.release()
        store.gate.release()
        return [done, await second, await third]

    with tempfile.TemporaryDirectory() as folder:
        store = GatedStore(Path(folder))
        pipeline = ArchivePipeline(store, skip_unchanged=False, cooldown=30, threads=4)
        captures = asyncio.run(scenario(store, pipeline))
        asyncio.run(pipeline.close_spider())
        assert [c.change for c in captures] == ["new", "recaptured", "recaptured"]
        assert store.most_at_once == 1
        assert len(pipeline._locks) == 0  # and no lock is left behind
