"""The Store interface: a local folder, and S3 over HTTP against a real moto server process."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.store.base import ObjectNotFound, StoreError, open_store
from crawler.store.captures import list_captures, read_raw, read_record, read_text
from crawler.store.local import LocalDirStore
from crawler.store.s3 import S3Store, make_s3_client
from tests.conftest import project_settings


def exercise(store: Any) -> None:
    """What every store must do, the same way."""
    store.check()
    store.put("a/b/one.txt", b"1", content_type="text/plain", metadata={"k": "v"})
    store.put("a/b/two.bin", b"\x00\xff" * 1000, content_type="application/octet-stream", metadata={})
    store.put("a/c/three.txt", b"3", content_type="text/plain", metadata={})
    store.put("a/b/one.txt", b"one", content_type="text/plain", metadata={})  # overwrite
    assert store.get("a/b/one.txt") == b"one"
    assert store.get("a/b/two.bin") == b"\x00\xff" * 1000
    assert store.exists("a/b/one.txt") and not store.exists("a/b/nope.txt")
    assert sorted(store.list("a/b/")) == ["a/b/one.txt", "a/b/two.bin"]
    assert sorted(store.list("a/")) == ["a/b/one.txt", "a/b/two.bin", "a/c/three.txt"]
    assert list(store.list("z/")) == []
    with pytest.raises(ObjectNotFound, match=r"nope\.txt"):
        store.get("a/b/nope.txt")
    assert store.put_if_absent("locks/job.lock", b"first", content_type="application/json")
    assert not store.put_if_absent("locks/job.lock", b"second", content_type="application/json")
    assert store.get("locks/job.lock") == b"first"
    store.delete("locks/job.lock")
    store.delete("locks/job.lock")  # already gone: no error
    assert not store.exists("locks/job.lock")
    assert store.put_if_absent("locks/job.lock", b"third", content_type="application/json")
    store.delete("locks/job.lock")
    for unsafe in ("../escape", "/abs", "a/../../x", "a//b"):
        with pytest.raises(StoreError, match="unsafe key"):
            store.put(unsafe, b"x", content_type="text/plain", metadata={})


def test_local_store(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path / "archive")
    exercise(store)
    assert (tmp_path / "archive/a/b/one.txt").read_bytes() == b"one"
    leftovers = [p for p in (tmp_path / "archive").rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_local_store_ignores_half_written_temp_files(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    store.put("x/done.txt", b"ok", content_type="text/plain", metadata={})
    (tmp_path / "x" / ".tmp-abc123").write_bytes(b"partial")
    assert list(store.list("x/")) == ["x/done.txt"]


def test_local_store_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = LocalDirStore(blocker / "archive")
    with pytest.raises(StoreError, match=f"cannot create archive folder {blocker / 'archive'}"):
        store.check()
    with pytest.raises(StoreError, match="cannot write"):
        store.put("k", b"x", content_type="text/plain", metadata={})


def test_open_store_by_uri(tmp_path: Path) -> None:
    settings = project_settings()
    assert isinstance(open_store(str(tmp_path), settings), LocalDirStore)
    local = open_store(f"file://{tmp_path}/arch%20ive", settings)
    assert isinstance(local, LocalDirStore) and local.root == tmp_path / "arch ive"
    s3 = open_store("s3://my-bucket/some/prefix/", project_settings({"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}))
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == ("my-bucket", "some/prefix")
    assert s3.location("k/x") == "s3://my-bucket/some/prefix/k/x"
    with pytest.raises(ValueError, match="unsupported store URI 'gs://b': use file://, s3:// or a local path"):
        open_store("gs://b", settings)
    with pytest.raises(ValueError, match="needs a bucket"):
        open_store("s3:///prefix", settings)
    with pytest.raises(ValueError, match="addressing style"):
        open_store("s3://b", project_settings({"ARCHIVE_S3_ADDRESSING_STYLE": "sideways"}))


class FolderPerHostStore(LocalDirStore):
    """A backend from outside the project: named in ARCHIVE_STORES, no edit of crawler/store."""

    @classmethod
    def from_uri(cls, uri: str, settings: Any = None) -> FolderPerHostStore:
        return cls(Path(uri.split("://", 1)[1]))


def test_another_backend_is_a_setting_not_an_edit(tmp_path: Path) -> None:
    settings = project_settings({"ARCHIVE_STORES": {"mine": f"{__name__}.FolderPerHostStore"}})
    store = open_store(f"mine://{tmp_path}", settings)
    assert type(store) is FolderPerHostStore and store.root == tmp_path
    assert isinstance(open_store("s3://b", settings), S3Store)  # the built-in schemes stay
    replaced = project_settings({"ARCHIVE_STORES": {"s3": f"{__name__}.FolderPerHostStore"}})
    assert type(open_store(f"s3://{tmp_path}", replaced)) is FolderPerHostStore


BACKENDS = pytest.mark.parametrize("s3_backend", ["moto", "rgw"], indirect=True)


@BACKENDS
def test_s3_store_over_http(s3_client: Any, bucket: str) -> None:
    store = S3Store(s3_client, bucket, "pre/fix", page_size=2)  # page_size 2: listing must paginate
    exercise(store)
    head = s3_client.head_object(Bucket=bucket, Key="pre/fix/a/b/two.bin")
    assert head["ContentType"] == "application/octet-stream"
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert all(k.startswith("pre/fix/a/") for k in keys) and len(keys) == 3


@BACKENDS
def test_s3_user_metadata_is_stored(s3_client: Any, bucket: str) -> None:
    S3Store(s3_client, bucket).put("k", b"x", content_type="text/plain", metadata={"original-content-type": "a/b"})
    assert s3_client.head_object(Bucket=bucket, Key="k")["Metadata"] == {"original-content-type": "a/b"}


@BACKENDS
def test_s3_missing_bucket_is_a_one_line_error(s3_client: Any) -> None:
    store = S3Store(s3_client, "no-such-bucket-here")
    with pytest.raises(StoreError, match=r"^cannot reach s3://no-such-bucket-here: bucket does not exist$"):
        store.check()
    with pytest.raises(StoreError, match=r"^cannot write s3://no-such-bucket-here/k: NoSuchBucket"):
        store.put("k", b"x", content_type="text/plain", metadata={})


def test_s3_unreachable_endpoint_is_a_one_line_error(s3_server: Any) -> None:
    client = make_s3_client(endpoint_url="http://127.0.0.1:9", region=None, addressing_style="path",
                            max_pool_connections=1, max_attempts=1)
    client.meta.config.retries = {"max_attempts": 1}
    store = S3Store(client, "bucket")
    with pytest.raises(StoreError) as info:
        store.check()
    message = str(info.value)
    assert message.startswith("cannot reach s3://bucket: ") and "127.0.0.1:9" in message
    assert "\n" not in message and os.environ["AWS_SECRET_ACCESS_KEY"] not in message


def test_captures_are_read_back_newest_first_whatever_their_layout(tmp_path: Path) -> None:
    """WARC captures and the capture folders of earlier versions are listed and read alike;
    an older folder without its meta.json (a run killed while writing it) is not a capture."""
    import gzip
    from datetime import UTC, datetime

    from crawler.extraction.extract import extract_page
    from crawler.model.items import FetchedPage
    from crawler.model.keys import capture_id, capture_key, url_prefix
    from crawler.store.records import render_capture

    store = LocalDirStore(tmp_path)
    url = "https://example.com/a"
    for day in (1, 2):  # the folder layout: raw.gz, text.txt, meta.json
        folder = f"{url_prefix(url)}{capture_id(datetime(2026, 1, day, tzinfo=UTC))}/"
        store.put(folder + "raw.gz", gzip.compress(b"<html>%d</html>" % day), content_type="x", metadata={})
        store.put(folder + "text.txt", b"text %d" % day, content_type="x", metadata={})
        store.put(folder + "meta.json", b'{"text": {"name": "text.txt"}, "day": %d}' % day, content_type="x",
                  metadata={})
    half = f"{url_prefix(url)}{capture_id(datetime(2026, 1, 9, tzinfo=UTC))}/"  # newest folder, no meta.json
    store.put(half + "raw.gz", gzip.compress(b"partial"), content_type="x", metadata={})
    body = b"<html><body><p>" + b"A warc capture of the page, long enough to count as text. " * 5
    body += b"</p></body></html>"
    page = FetchedPage(url, url, 200, (("Content-Type", "text/html"),), body, datetime(2026, 1, 3, tzinfo=UTC))
    warc, _ = render_capture(extract_page(page), capture_key(url, page.fetched_at))
    store.put(warc.key, warc.data, content_type=warc.content_type, metadata={})

    refs = list_captures(store, url)
    assert [r.capture_id[:8] for r in refs] == ["20260103", "20260102", "20260101"]
    assert [r.is_warc for r in refs] == [True, False, False]
    newest, older = refs[0], refs[1]
    assert read_record(store, newest)["url"] == url
    assert (read_text(store, newest) or "").startswith("A warc capture of the page")
    assert read_raw(store, newest) == body
    record = read_record(store, older)
    assert record["day"] == 2
    assert read_text(store, older, record) == "text 2"
    assert read_raw(store, older) == b"<html>2</html>"
    assert list_captures(store, "https://example.com/b") == []


OLD_ARTICLE = "http://127.0.0.1:40123/news/2026/11/drone-strike-izhevsk.html"


def test_a_store_written_before_warc_captures_is_still_read_and_extended(tmp_path: Path) -> None:
    """tests/stores/v1 was written by the previous version (folders of raw.gz, text.txt, meta.json):
    `show` reads it, a crawl decides on its pointers, and a new capture links back to the old one."""
    import asyncio
    import shutil
    from dataclasses import replace

    from crawler.extraction.extract import extract_page
    from crawler.model.items import FetchedPage
    from pipelines.archive import ArchivePipeline
    from tests.conftest import REPO, SITE_ROOT, run_cli

    store_dir = tmp_path / "store"
    shutil.copytree(REPO / "tests" / "stores" / "v1", store_dir)
    served = (SITE_ROOT / "news/2026/11/drone-strike-izhevsk.html").read_bytes()
    listed = run_cli(["show", OLD_ARTICLE, "--list", "--store", str(store_dir)], cwd=tmp_path)
    assert listed.returncode == 0 and listed.stdout.decode().startswith(f"2 capture(s) of {OLD_ARTICLE}")
    shown = run_cli(["show", OLD_ARTICLE, "--store", str(store_dir)], cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout.decode().startswith("A drone strike damaged a factory")
    assert run_cli(["show", OLD_ARTICLE, "--raw", "--store", str(store_dir)], cwd=tmp_path).stdout == served
    assert json.loads(run_cli(["show", OLD_ARTICLE, "--json", "--store", str(store_dir)],
                              cwd=tmp_path).stdout)["schema_version"] == 1
    warc = run_cli(["show", OLD_ARTICLE, "--warc", "--store", str(store_dir)], cwd=tmp_path)
    assert warc.returncode == 1 and "stored before captures were WARC files" in warc.stderr.decode()

    store = LocalDirStore(store_dir)
    crawl = ArchivePipeline(store, skip_unchanged=True, cooldown=30, threads=2)
    page = FetchedPage(OLD_ARTICLE, OLD_ARTICLE, 200, (("Content-Type", "text/html"),), served,
                       datetime(2026, 12, 5, tzinfo=UTC))
    assert asyncio.run(crawl.process_item(extract_page(page))).change == "unchanged"  # the old pointer decides
    edited = served.replace(b"A drone strike damaged a factory", b"A drone strike badly damaged a factory")
    later = replace(page, body=edited, fetched_at=datetime(2026, 12, 6, tzinfo=UTC))
    changed = asyncio.run(crawl.process_item(extract_page(later)))
    asyncio.run(crawl.close_spider())
    refs = list_captures(store, OLD_ARTICLE)
    assert changed.change == "changed" and [r.is_warc for r in refs] == [True, False, False]
    assert read_record(store, refs[0])["previous_capture"]["capture_id"] == refs[1].capture_id

    exported = run_cli(["export", "--format", "warc", "-o", "all.warc.gz", "--store", str(store_dir)], cwd=tmp_path)
    assert exported.returncode == 0
    assert "Warning: 3 capture(s) stored before captures were WARC files were left out" in exported.stderr.decode()
