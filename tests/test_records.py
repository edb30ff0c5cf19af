from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime

from crawler.extraction.extract import extract_page
from crawler.model.items import ExtractedPage, FetchedPage
from crawler.model.keys import capture_keys
from crawler.store.records import SCHEMA_VERSION, render_objects
from tests.conftest import SITE_ROOT

ARTICLE = "news/2026/02/ukraine-strikes-missile-factory.html"


def fetched(path: str, content_type: str = "text/html", **extra: object) -> FetchedPage:
    body = (SITE_ROOT / path).read_bytes()
    fields: dict[str, object] = dict(
        requested_url="http://news.example/r?id=1", url=f"https://news.example/{path}", status=200,
        headers=(("Content-Type", content_type), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")),
        body=body, fetched_at=datetime(2026, 11, 23, 10, 0, 0, 5, tzinfo=UTC),
        redirect_urls=("http://news.example/r?id=1",),
    )
    fields.update(extra)
    return FetchedPage(**fields)  # type: ignore[arg-type]


def test_three_objects_raw_then_text_then_meta_last() -> None:
    page = fetched(ARTICLE)
    keys = capture_keys(page.requested_url, page.fetched_at)
    objects, record = render_objects(extract_page(page), keys)
    assert [o.key for o in objects] == [keys.raw, keys.text, keys.meta]
    raw, text, meta = objects
    assert gzip.decompress(raw.data) == page.body  # exact bytes, compressed at rest
    assert raw.metadata["original-content-type"] == "text/html"
    assert text.content_type == "text/plain; charset=utf-8"
    assert text.data.decode("utf-8").startswith("Ukraine has struck")
    assert json.loads(meta.data) == record


def test_metadata_record_is_complete() -> None:
    page = fetched(ARTICLE)
    keys = capture_keys(page.requested_url, page.fetched_at)
    objects, record = render_objects(extract_page(page), keys)
    text = objects[1].data
    assert record["schema_version"] == SCHEMA_VERSION
    assert record["capture_id"] == "20261123T100000000005Z"
    assert record["requested_url"] == "http://news.example/r?id=1"
    assert record["url"] == f"https://news.example/{ARTICLE}"
    assert record["redirect_urls"] == ["http://news.example/r?id=1"]
    assert record["canonical_url"] == "https://harbor-gazette.example/news/2026/02/ukraine-strikes-missile-factory"
    assert record["status"] == 200
    assert record["fetched_at"] == "2026-11-23T10:00:00.000005Z"
    assert record["headers"]["set-cookie"] == ["a=1", "b=2"]
    assert record["raw"] == {"name": "raw.gz", "compression": "gzip", "size": len(page.body),
                             "sha256": hashlib.sha256(page.body).hexdigest()}
    assert record["text"]["sha256"] == hashlib.sha256(text).hexdigest()
    assert record["text"]["size"] == len(text)
    assert record["title"] == "Ukraine strikes deep inside Russia hitting key missile factory"
    assert record["authors"] == ["Akbar Novruz"]
    assert record["published"] == "2026-02-23T01:04:00+04:00" and record["published_source"] == "json-ld"
    assert record["kind"] == "article" and record["access"] == "free" and record["kind_reason"]
    assert record["language"] == "en" and record["site_name"] == "Harbor Gazette"
    assert record["description"].startswith("A domestically built")
    assert record["problem"] is None
    assert record["extractor"]["engine"] == "trafilatura" and record["extractor"]["engine_version"]
    assert record["extractor"]["name"] == "newsarchive" and record["extractor"]["version"]


def test_no_text_means_no_text_object_and_a_flag() -> None:
    page = fetched("files/annual-report.pdf", "application/pdf")
    keys = capture_keys(page.requested_url, page.fetched_at)
    objects, record = render_objects(extract_page(page), keys)
    assert [o.key for o in objects] == [keys.raw, keys.meta]
    assert gzip.decompress(objects[0].data) == page.body
    assert record["text"] is None
    assert record["problem"] == "not HTML (application/pdf)"
    assert record["content_type"] == "application/pdf"


def test_non_ascii_content_type_survives_as_s3_metadata() -> None:
    page = fetched(ARTICLE, "text/html; charset=\u00e9")
    objects, _ = render_objects(ExtractedPage(page, None, "x"), capture_keys(page.url, page.fetched_at))
    assert objects[0].metadata["original-content-type"].isascii()
