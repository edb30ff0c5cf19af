"""Faults the pipeline survives: the store going away mid-crawl, a full disk, a read-only folder."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawler.model.keys import pointer_key
from crawler.store.captures import list_captures, read_raw, read_record, read_text
from crawler.store.local import LocalDirStore
from crawler.store.s3 import S3Store
from tests.conftest import newsarchive_command
from tests.newssite import NewsSite
from tests.servers import Site, TcpProxy, serve_site


def count_captures(client: Any, bucket: str) -> int:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sum(1 for page in pages for obj in page.get("Contents", []) if obj["Key"].endswith(".warc.gz"))


@pytest.mark.parametrize("s3_backend", ["moto", "rgw"], indirect=True)
def test_s3_down_mid_crawl_loses_nothing(tmp_path: Path, s3_backend: Any, s3_client: Any, bucket: str) -> None:
    aws_env = s3_backend.env
    host, port = urlsplit(s3_backend.endpoint_url).hostname, urlsplit(s3_backend.endpoint_url).port
    proxy = TcpProxy(str(host), int(port or 0))  # the crawl reaches S3 only through this link
    root = tmp_path / "site"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    env.update(aws_env, AWS_ENDPOINT_URL=proxy.url, NEWSARCHIVE_S3_ADDRESSING_STYLE="path",
               NEWSARCHIVE_SPOOL_DIR=str(tmp_path / "spool"))
    store_uri = f"s3://{bucket}/arch"
    try:
        with serve_site(root) as served:
            site = NewsSite(root, served.url)
            site.publish(1)
            served.delay = 0.1
            (tmp_path / "sites.toml").write_text(site.sites_toml())

            def cut_when_half_stored() -> None:
                deadline = time.monotonic() + 60
                while count_captures(s3_client, bucket) < 10 and time.monotonic() < deadline:
                    time.sleep(0.05)
                proxy.cut()

            cutter = threading.Thread(target=cut_when_half_stored)
            cutter.start()
            crawl = subprocess.run([newsarchive_command(), "crawl", "--sites", "sites.toml", "--store", store_uri,
                                    "--json", "-s", "ARCHIVE_S3_MAX_ATTEMPTS=2"],
                                   cwd=tmp_path, env=env, capture_output=True, timeout=300)
            cutter.join()
            stored_during_outage = count_captures(s3_client, bucket)
            assert 10 <= stored_during_outage < 32, crawl.stderr.decode()[-2000:]
            spooled = len(list((tmp_path / "spool").glob("*/*/entry.json")))
            # every page fetched is stored or spooled (or both: cut between its WARC and its pointer)
            assert spooled >= 32 - stored_during_outage, (crawl.stdout.decode(), crawl.stderr.decode()[-3000:])
            assert crawl.returncode == 1  # a scheduler hears that the store was down
            assert json.loads(crawl.stdout)["sites"]["harbor"]["spooled"] == spooled

            proxy.restore()
            flushed = subprocess.run([newsarchive_command(), "spool", "flush", "--store", store_uri],
                                     cwd=tmp_path, env=env, capture_output=True, timeout=120)
            assert flushed.returncode == 0, flushed.stderr.decode()
            assert flushed.stdout.decode().startswith(f"{spooled} capture(s) written to s3://{bucket}/arch/")

            store = S3Store(s3_client, bucket, "arch")
            for article in site.articles:  # none lost, none duplicated, none half-written
                refs = list_captures(store, served(article.path))
                assert len(refs) == 1, article.path
                record = read_record(store, refs[0])
                assert read_raw(store, refs[0]) == (root / article.path.lstrip("/")).read_bytes()
                assert record["url"] == served(article.path)
            assert list((tmp_path / "spool").glob("*/*/entry.json")) == []

            again = subprocess.run([newsarchive_command(), "crawl", "--sites", "sites.toml", "--store", store_uri,
                                    "--json"], cwd=tmp_path, env=env, capture_output=True, timeout=300)
            assert again.returncode == 0
            assert count_captures(s3_client, bucket) == 32  # the next run found nothing left to store
    finally:
        proxy.close()


@pytest.fixture
def immutable_folder(tmp_path: Path) -> Any:
    """A folder nobody may write into, root included (chattr +i: permission bits do not stop root)."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    subprocess.run(["chattr", "+i", str(folder)], check=True)
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_permission_denied_is_a_one_line_error_and_leaves_no_files(cli: Any, site: Site,
                                                                    immutable_folder: Path) -> None:
    proc = cli("archive", site("/news/2026/11/drone-strike-izhevsk.html"), "--store", str(immutable_folder / "arch"))
    assert proc.returncode == 1
    assert proc.stderr.decode() == (f"Error: cannot create archive folder {immutable_folder / 'arch'}: "
                                    "Operation not permitted\n")
    assert list(immutable_folder.iterdir()) == []


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_files(site: Site, tmp_path: Path) -> None:
    def small_disk() -> None:  # writes past 40 kB fail with EFBIG ("File too large"), like a full disk
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    env["NEWSARCHIVE_SPOOL_DIR"] = str(tmp_path / "spool")
    big = site("/noise?size=200000")  # random words: even gzip-compressed, the raw body is over the limit
    proc = subprocess.run([newsarchive_command(), "archive", big, "-s", "ARCHIVE_SKIP_UNCHANGED=False"],
                          cwd=tmp_path, env=env, capture_output=True, timeout=120, preexec_fn=small_disk)
    assert proc.returncode == 1
    [line] = proc.stdout.decode().splitlines()
    assert line.startswith(f"failed    {big}: not archived: cannot write archive/")
    assert line.endswith("the local spool failed too: File too large")
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in ("", ".gz", ".json", ".txt", ".bin")]
    assert [p for p in leftovers if p.stat().st_size >= 40_000] == []  # nothing truncated at the limit
    assert not list(tmp_path.rglob(".tmp-*")) and not list(tmp_path.rglob("*.warc.gz"))


def test_every_kind_of_bad_input_gets_a_reason_and_nothing_half_written(cli: Any, site: Site,
                                                                         tmp_path: Path) -> None:
    expected = {
        "nonexistent.invalid": ("failed", "DNS lookup failed (no such host)"),
        site("/slow?seconds=5"): ("failed", "timed out"),
        site("/trickle"): ("failed", "timed out"),
        site("/loop"): ("failed", "redirect loop (too many redirects)"),
        site("/status/429"): ("failed", "HTTP 429 Too Many Requests (the server asks to retry after 1 s)"),
        site("/status/500"): ("failed", "HTTP 500 Internal Server Error"),
        site("/bomb"): ("failed", "compressed response expands past the 33554432-byte limit (DOWNLOAD_MAXSIZE)"),
        site("/binary"): ("raw-only", "binary data, not HTML (served as text/html)"),
        site("/empty"): ("raw-only", "empty response body"),
        site("/cp1251"): ("archived", ""),
        "javascript:alert(1)": ("failed", "unsupported scheme 'javascript'"),
        "http://[::1": ("failed", "malformed URL"),
    }
    urls = ["http://nonexistent.invalid/x" if u == "nonexistent.invalid" else u for u in expected]
    proc = cli("archive", *urls, "-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_TIMES=0")
    assert proc.returncode == 1
    out = {line.split()[1].rstrip(":"): line for line in proc.stdout.decode().splitlines()}
    assert len(out) == len(expected)
    for url, (outcome, reason) in expected.items():
        line = out["http://nonexistent.invalid/x" if url == "nonexistent.invalid" else url]
        assert line.startswith(outcome) and reason in line, line
    store = LocalDirStore(tmp_path / "archive")
    [ref] = list_captures(store, site("/cp1251"))
    record = read_record(store, ref)
    assert record["encoding"] == "cp1251"  # declared utf-8, detected and decoded right
    assert "городской совет утвердил новый бюджет" in (read_text(store, ref, record) or "")
    for url in (site("/binary"), site("/empty")):  # kept raw, byte for byte, flagged
        [ref] = list_captures(store, url)
        assert read_record(store, ref)["text"] is None
    assert read_raw(store, list_captures(store, site("/empty"))[0]) == b""


def test_private_addresses_can_be_refused(cli: Any, site: Site) -> None:
    url = site("/news/2026/11/drone-strike-izhevsk.html")
    before = len(site.requests)
    proc = cli("archive", url, "http://169.254.169.254/latest/meta-data/",
               env={"NEWSARCHIVE_BLOCK_PRIVATE_ADDRESSES": "1"})
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert f"failed    {url}: refused: 127.0.0.1 resolves to the non-public address 127.0.0.1" in out
    assert "refused: 169.254.169.254 resolves to the non-public address 169.254.169.254" in out
    assert site.requests[before:] == []  # not even robots.txt was fetched


def test_credentials_never_appear_in_anything_a_run_writes(tmp_path: Path, s3_server: Any, aws_env: dict[str, str],
                                                            s3_client: Any, bucket: str) -> None:
    secret = "SENTINEL-secret-4b1d9e7c0a"  # moto accepts any credentials
    root = tmp_path / "site"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    env.update(aws_env, AWS_SECRET_ACCESS_KEY=secret, AWS_ENDPOINT_URL=s3_server.endpoint_url,
               NEWSARCHIVE_S3_ADDRESSING_STYLE="path", NEWSARCHIVE_SPOOL_DIR=str(tmp_path / "spool"))
    with serve_site(root) as served:
        site = NewsSite(root, served.url)
        site.publish(1)
        (tmp_path / "sites.toml").write_text(site.sites_toml())
        runs = [
            [newsarchive_command(), "crawl", "--sites", "sites.toml", "--store", f"s3://{bucket}/a", "-vvv"],
            [newsarchive_command(), "archive", served("/missing"), "--store", f"s3://{bucket}/a", "-vvv"],
            [newsarchive_command(), "archive", served(site.articles[0].path), "--store", "s3://no-such-bucket/x"],
            [newsarchive_command(), "archive", served(site.articles[1].path), "--store", f"s3://{bucket}/a",
             "--endpoint-url", "http://127.0.0.1:1", "-vvv"],
        ]
        outputs = [subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, timeout=300) for args in runs]
    assert [p.returncode for p in outputs] == [0, 1, 1, 1]
    assert b"DEBUG" in outputs[0].stderr  # the crawl logged at debug level, and still:
    written = [p.stdout + p.stderr for p in outputs]
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
    assert any(k.endswith("summary.json") for k in keys) and any("/manifest-" in k for k in keys)
    written += [s3_client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys]
    written += [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "sites.toml"]
    assert sum(len(blob) for blob in written) > 100_000  # the runs did write (and log) plenty
    assert [i for i, blob in enumerate(written) if secret.encode() in blob] == []
    assert [i for i, blob in enumerate(written) if aws_env["AWS_ACCESS_KEY_ID"].encode() in blob] == []


def test_a_pointer_the_store_cannot_read_does_not_lose_the_articles_found_with_it(
        cli: Any, news: tuple[NewsSite, Site], tmp_path: Path) -> None:
    # Deciding what to fetch reads each article's latest.json. When the store fails that read
    # (here: a folder where the file should be), the article is fetched as if new and spooled;
    # the rest of its sitemap is still archived, and the run says so.
    site, served = news
    broken = site.articles[5]
    (tmp_path / "archive" / pointer_key(served(broken.path))).mkdir(parents=True)
    proc = cli("crawl", "--sites", "sites.toml", "--json", "-s", "ARCHIVE_STORE_COOLDOWN=0")
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    assert json.loads(proc.stdout)["sites"]["harbor"]["spooled"] == 1
    [entry] = (tmp_path / "spool").glob("*/*/entry.json")
    assert json.loads(entry.read_text())["url"] == served(broken.path)
    store = LocalDirStore(tmp_path / "archive")
    for article in site.articles:
        if article is not broken:
            assert len(list_captures(store, served(article.path))) == 1, article.path
