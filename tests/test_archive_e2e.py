"""End to end: the real `newsarchive` command, the local test site, a local folder and moto S3."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.model.keys import url_prefix
from crawler.store.captures import list_captures, read_raw, read_record, read_text
from crawler.store.local import LocalDirStore
from crawler.store.s3 import S3Store
from crawler.store.warc import read_warc
from tests.conftest import REPO
from tests.servers import Site

ARTICLES = {
    "/news/2026/02/ukraine-strikes-missile-factory.html": (
        "Ukraine strikes deep inside Russia hitting key missile factory", "Ukraine has struck one of Russia's"),
    "/news/2026/11/drone-strike-izhevsk.html": (
        "Russian defense plant over 1,300 km from Ukraine reportedly hit by drone strike",
        "A drone strike damaged a factory on Nov. 17"),
    "/news/2026/11/conseil-municipal-budget.html": (
        "Le conseil municipal adopte un budget record pour 2027", "Après six heures de débat"),
}
BOILERPLATE = ["Privacy", "All rights reserved", "Leave a comment", "Great reporting as always",
               "Laisser un commentaire", "Parliament passes energy bill", "KI Insights launches",
               "specializing in international", "Help us reach 25,000", "Nous utilisons des cookies"]


def lines(proc: subprocess.CompletedProcess[bytes]) -> list[str]:
    return proc.stdout.decode().splitlines()


def only_capture(store: Any, url: str) -> tuple[Any, dict[str, Any]]:
    refs = list_captures(store, url)
    assert len(refs) == 1, f"expected one capture of {url}, found {len(refs)}"
    return refs[0], read_record(store, refs[0])


def assert_complete_article(store: Any, site: Site, path: str) -> dict[str, Any]:
    url = site(path)
    ref, record = only_capture(store, url)
    assert read_raw(store, ref) == site.served_bytes(path)  # byte for byte
    text = read_text(store, ref, record)
    title, first_words = ARTICLES[path]
    assert text is not None and text.startswith(first_words)  # no headline, no "2 min read"
    for phrase in BOILERPLATE:
        assert phrase not in text, f"boilerplate {phrase!r} in the text of {path}"
    assert record["title"] == title and record["authors"] and record["published"]
    assert record["requested_url"] == url and record["url"] == url and record["status"] == 200
    assert record["headers"]["content-type"] == ["text/html"]
    assert record["fetched_at"].endswith("Z") and record["problem"] is None
    assert record["text"]["chars"] == len(text)
    for field in ("language", "site_name", "canonical_url", "extractor"):
        assert record[field], field
    return record


def test_archive_into_the_default_local_folder(cli: Any, site: Site, tmp_path: Path) -> None:
    proc = cli("archive", *(site(p) for p in ARTICLES))
    assert proc.returncode == 0, proc.stderr.decode()
    out = lines(proc)
    assert len(out) == 3 and all(line.startswith("archived ") for line in out)
    for path, (title, _) in ARTICLES.items():
        line = next(line for line in out if site(path) in line)
        assert f'"{title}"' in line and "[200]" in line and str(Path("archive")) in line
    store = LocalDirStore(tmp_path / "archive")  # ./archive, relative to where it ran
    records = [assert_complete_article(store, site, path) for path in ARTICLES]
    assert records[2]["authors"] == ["Amélie Durand", "José Pereira"] and records[2]["encoding"] == "cp1252"
    assert "Archiving 3 URL(s) into archive" in proc.stderr.decode()
    assert "Done: 3 archived, 0 partial, 0 raw-only, 0 spooled, 0 failed" in proc.stderr.decode()


def test_bad_urls_fail_loudly_and_the_rest_is_archived(cli: Any, site: Site, tmp_path: Path) -> None:
    good = "/news/2026/02/ukraine-strikes-missile-factory.html"
    requests_before = len(site.requests)
    proc = cli("archive", site(good), site("/status/404"), site("/status/503"), site("/private/staff-only.html"),
               site("/gallery.html"), site("/contact.html"), site("/files/annual-report.pdf"), "ftp://example.com/x",
               "example.com/no-scheme", "http://127.0.0.1:1/refused", "--store", "out",
               "-s", "RETRY_TIMES=0")
    assert proc.returncode == 1
    out = {line.split()[1].rstrip(":"): line for line in lines(proc)}
    assert len(out) == 10  # one line per URL, whatever happened
    assert out[site("/status/404")] == f"failed    {site('/status/404')}: HTTP 404 Not Found"
    assert out[site("/status/503")].endswith("HTTP 503 Service Unavailable")
    assert out[site("/private/staff-only.html")].endswith("forbidden by robots.txt")
    assert out["ftp://example.com/x"].endswith("unsupported scheme 'ftp' (only http and https)")
    assert out["example.com/no-scheme"].endswith("no scheme; did you mean https://example.com/no-scheme?")
    assert out["http://127.0.0.1:1/refused"].endswith("connection refused")
    assert out[site(good)].startswith("archived ")
    assert out[site("/gallery.html")].startswith("raw-only ")
    assert "index page, not an article" in out[site("/gallery.html")]
    assert out[site("/contact.html")].startswith("raw-only ")
    assert "no article text found" in out[site("/contact.html")]
    assert out[site("/files/annual-report.pdf")].startswith("raw-only ")
    assert "not HTML (application/pdf)" in out[site("/files/annual-report.pdf")]
    assert "/private/staff-only.html" not in site.requests[requests_before:]  # robots.txt obeyed

    store = LocalDirStore(tmp_path / "out")
    for path in ("/files/annual-report.pdf", "/gallery.html", "/contact.html"):  # raw kept, flagged, no text
        ref, record = only_capture(store, site(path))
        assert read_raw(store, ref) == site.served_bytes(path)
        assert record["text"] is None and record["problem"]
        assert read_text(store, ref, record) is None
    for path in ("/status/404", "/status/503", "/private/staff-only.html"):
        assert list(store.list(url_prefix(site(path)))) == []  # nothing half-written


def test_redirects_are_followed_and_recorded(cli: Any, site: Site, tmp_path: Path) -> None:
    target = "/news/2026/11/drone-strike-izhevsk.html"
    start = site(f"/redirect?to={target}")
    proc = cli("archive", start, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)
    assert result["ok"] is True and result["outcome"] == "archived"
    assert result["url"] == start and result["final_url"] == site(target)
    assert result["http_status"] == 200 and result["text_chars"] > 500
    store = LocalDirStore(tmp_path / "archive")
    ref, record = only_capture(store, start)  # filed under the URL that was asked for
    assert record["url"] == site(target) and record["redirect_urls"] == [start]
    assert read_raw(store, ref) == site.served_bytes(target)


@pytest.mark.parametrize("pad", [100, 300_000])
def test_meta_refresh_is_followed_on_small_and_long_pages(cli: Any, site: Site, tmp_path: Path, pad: int) -> None:
    # Only the page's head is read for the tag (crawler.components.middlewares.MetaRefreshMiddleware): a long
    # page whose charset is declared in <meta> alone must be followed like a short one.
    target = "/news/2026/11/drone-strike-izhevsk.html"
    start = site(f"/refresh?to={target}&pad={pad}")
    proc = cli("archive", start, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    store = LocalDirStore(tmp_path / "archive")
    ref, record = only_capture(store, start)
    assert record["url"] == site(target) and record["redirect_urls"] == [start]
    assert read_raw(store, ref) == site.served_bytes(target)


def test_the_crawl_log_shows_each_page_only_when_asked(cli: Any, site: Site) -> None:
    url = site("/news/2026/11/drone-strike-izhevsk.html")
    quiet, debug = cli("archive", url), cli("archive", url, "-vvv")
    assert quiet.returncode == debug.returncode == 0
    assert quiet.stderr.decode().splitlines()[1:] == ["Done: 1 archived, 0 partial, 0 raw-only, 0 spooled, 0 failed"]
    assert f"Crawled (200) <GET {url}>" in debug.stderr.decode()
    assert f"Scraped from <200 {url}>" in debug.stderr.decode()


def test_oversized_response_is_refused_with_a_reason(cli: Any, site: Site, tmp_path: Path) -> None:
    proc = cli("archive", site("/big?size=300000"), "-s", "DOWNLOAD_MAXSIZE=100000")
    assert proc.returncode == 1
    assert lines(proc) == [f"failed    {site('/big?size=300000')}: "
                           "response larger than the 100000-byte limit (DOWNLOAD_MAXSIZE)"]
    assert not (tmp_path / "archive").exists() or not any((tmp_path / "archive").rglob("*.warc.gz"))


def test_show_reads_captures_back(cli: Any, site: Site, tmp_path: Path) -> None:
    path = "/news/2026/11/conseil-municipal-budget.html"
    assert cli("archive", site(path)).returncode == 0
    assert cli("archive", site(path)).returncode == 0  # a second capture of the same URL

    shown = cli("show", site(path))
    assert shown.returncode == 0
    assert shown.stdout.decode().startswith("Après six heures de débat")
    listing = shown.stderr.decode().splitlines()
    assert listing[0] == f"2 capture(s) of {site(path)}, newest first:"
    ids = [line.split()[0] for line in listing[1:]]
    assert len(ids) == 2 and ids == sorted(ids, reverse=True)

    raw = cli("show", site(path), "--raw")
    assert raw.returncode == 0 and raw.stdout == site.served_bytes(path)
    record = json.loads(cli("show", site(path), "--json").stdout)
    assert record["capture_id"] == ids[0] and record["title"].startswith("Le conseil municipal")
    older = json.loads(cli("show", site(path), "--json", "--capture", ids[1]).stdout)
    assert older["capture_id"] == ids[1]
    listed = cli("show", site(path), "--list")
    assert listed.stdout.decode().count("Le conseil municipal") == 2

    pdf = site("/files/annual-report.pdf")
    cli("archive", pdf)
    no_text = cli("show", pdf)
    assert no_text.returncode == 1
    assert "has no text (not HTML (application/pdf)); use --raw" in no_text.stderr.decode()


@pytest.mark.parametrize("s3_backend", ["moto", "rgw"], indirect=True)
def test_archive_into_s3_and_show_it_back(cli: Any, site: Site, s3_backend: Any, s3_client: Any, bucket: str) -> None:
    aws_env = s3_backend.env
    env = {**aws_env, "AWS_ENDPOINT_URL": s3_backend.endpoint_url, "NEWSARCHIVE_S3_ADDRESSING_STYLE": "path"}
    uri = f"s3://{bucket}/news-archive"
    proc = cli("archive", *(site(p) for p in ARTICLES), site("/files/annual-report.pdf"),
               "--store", uri, env=env)
    assert proc.returncode == 4  # the PDF has no text: archived raw (raw-only), exit code 4
    out = lines(proc)
    assert sum(line.startswith("archived ") for line in out) == 3
    assert any(line.startswith("raw-only ") and f"{uri}/" in line for line in out)

    store = S3Store(s3_client, bucket, "news-archive")
    for path in ARTICLES:
        assert_complete_article(store, site, path)
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    # one WARC per capture (3 articles and the PDF) + one latest.json pointer each, and the
    # run's one catalog segment for the host
    catalog = [k for k in keys if k.startswith("news-archive/catalog/")]
    keys = [k for k in keys if k not in catalog]
    assert len(catalog) == 1 and catalog[0].startswith("news-archive/catalog/127.0.0.1_") \
        and catalog[0].endswith(".parquet")
    assert len(keys) == 4 + 4 and all(k.startswith("news-archive/127.0.0.1_") for k in keys)
    assert sum(k.endswith("/latest.json") for k in keys) == 4
    warcs = [k for k in keys if k.endswith(".warc.gz")]
    assert {s3_client.head_object(Bucket=bucket, Key=k)["ContentType"] for k in warcs} == {"application/warc"}
    bodies = [read_warc(s3_client.get_object(Bucket=bucket, Key=k)["Body"].read()).body for k in warcs]
    assert sorted(body[:9] for body in bodies) == [b"%PDF-1.4\n"] + [b"<!DOCTYPE"] * 3

    path = next(iter(ARTICLES))
    shown = cli("show", site(path), "--store", uri, "--endpoint-url", s3_backend.endpoint_url,
                "--s3-addressing-style", "path", env=aws_env)
    assert shown.returncode == 0 and shown.stdout.decode().startswith(ARTICLES[path][1])
    raw = cli("show", site(path), "--raw", "--store", uri, env=env)
    assert raw.stdout == site.served_bytes(path)
    secret = aws_env["AWS_SECRET_ACCESS_KEY"].encode()
    assert all(secret not in blob for blob in (proc.stdout, proc.stderr, shown.stdout, shown.stderr))


def warc_records(data: bytes) -> list[tuple[str, str, bytes]]:
    """(type, target URI, payload as stored) of each record of a WARC."""
    return [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI") or "", r.raw_stream.read())
            for r in ArchiveIterator(io.BytesIO(data))]


def test_a_capture_is_one_warc_with_the_exchange_as_received(cli: Any, site: Site, tmp_path: Path) -> None:
    """`show --warc` gives the capture's WARC: every hop of a redirect, and a gzip-encoded page's
    payload still gzip (as its Content-Encoding says), while --raw gives the decoded page."""
    plain, encoded = "/news/2026/11/drone-strike-izhevsk.html", "/gzip/news/2026/11/conseil-municipal-budget.html"
    redirected = "/redirect?to=/news/2026/02/ukraine-strikes-missile-factory.html"
    proc = cli("archive", site(plain), site(encoded), site(redirected))
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert all(line.split()[-1].endswith(".warc.gz") for line in lines(proc))

    warcs = {}
    for path in (plain, encoded, redirected):
        shown = cli("show", site(path), "--warc")
        assert shown.returncode == 0, shown.stderr.decode()
        warcs[path] = shown.stdout
        (tmp_path / "check.warc.gz").write_bytes(shown.stdout)
        check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(tmp_path / "check.warc.gz")],
                               capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr

    kinds = [kind for kind, _, _ in warc_records(warcs[plain])]
    assert kinds == ["warcinfo", "request", "response", "metadata", "conversion"]
    kind, uri, payload = warc_records(warcs[encoded])[2]
    file = encoded.removeprefix("/gzip")
    assert (kind, uri) == ("response", site(encoded)) and payload == site.served_gzip(file)
    assert cli("show", site(encoded), "--raw").stdout == site.served_bytes(file)
    hops = [(kind, uri) for kind, uri, _ in warc_records(warcs[redirected]) if kind in ("request", "response")]
    final = site("/news/2026/02/ukraine-strikes-missile-factory.html")
    assert hops == [("request", site(redirected)), ("response", site(redirected)),
                    ("request", final), ("response", final)]
    assert warc_records(warcs[redirected])[0][2].count(b"http-header-user-agent: newsarchive/") == 1


def test_unreachable_store_fails_before_fetching_anything(cli: Any, site: Site, s3_server: Any,
                                                          aws_env: dict[str, str]) -> None:
    before = len(site.requests)
    env = {**aws_env, "AWS_ENDPOINT_URL": s3_server.endpoint_url}
    missing = cli("archive", site("/gallery.html"), "--store", "s3://no-such-bucket/x", env=env)
    assert missing.returncode == 1
    assert missing.stderr.decode() == "Error: cannot reach s3://no-such-bucket: bucket does not exist\n"
    down = cli("archive", site("/gallery.html"), "--store", "s3://bucket/x",
               "--endpoint-url", "http://127.0.0.1:1", env=aws_env)
    assert down.returncode == 1
    err = down.stderr.decode()
    assert err.startswith("Error: cannot reach s3://bucket: ") and "127.0.0.1:1" in err
    assert err.count("\n") == 1
    assert site.requests[before:] == []  # nothing crawled for nothing


def test_urls_from_a_file_and_python_dash_m(site: Site, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# today's list\n{site('/news/2026/11/drone-strike-izhevsk.html')}\n\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    proc = subprocess.run([sys.executable, "-m", "crawler", "archive", "-i", str(listing), "--store", "arch"],
                          cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().startswith("archived ")
    assert list((tmp_path / "arch").rglob("*.warc.gz"))


def test_scrapy_crawl_in_the_repo_writes_the_same_capture(site: Site, tmp_path: Path) -> None:
    path = "/news/2026/02/ukraine-strikes-missile-factory.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    env["NEWSARCHIVE_STORE"] = str(tmp_path / "via-scrapy")
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"url={site(path)}",
                           "-s", "LOG_LEVEL=INFO"], cwd=REPO, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "'archive/stored': 1" in proc.stderr.decode()
    assert_complete_article(LocalDirStore(tmp_path / "via-scrapy"), site, path)


def test_a_store_write_failure_keeps_the_capture_in_the_spool(cli: Any, site: Site, tmp_path: Path) -> None:
    path = "/news/2026/11/drone-strike-izhevsk.html"
    blocked = tmp_path / "archive" / url_prefix(site(path)).split("/")[0]
    blocked.parent.mkdir()
    blocked.write_text("a file where the host folder should be")
    proc = cli("archive", site(path))
    assert proc.returncode == 1
    [line] = lines(proc)
    assert line.startswith(f"spooled   {site(path)} [200] the store is unreachable; kept in the local spool ")
    assert "Done: 0 archived, 0 partial, 0 raw-only, 1 spooled, 0 failed" in proc.stderr.decode()
    status = cli("spool", "status")
    assert status.stdout.decode().startswith("1 capture(s) waiting in ") and "Not a directory" in status.stdout.decode()
    assert cli("spool", "flush").returncode == 1  # still blocked: says so, keeps the capture
    blocked.unlink()
    flushed = cli("spool", "flush")
    assert flushed.returncode == 0 and flushed.stdout.decode().startswith("1 capture(s) written to archive, 0 left")
    store = LocalDirStore(tmp_path / "archive")
    assert_complete_article(store, site, path)
    # the flush wrote the capture's catalog row: `ls` finds it in the catalog, not by walking
    assert list((tmp_path / "archive" / "catalog").rglob("*.parquet"))
    listed = cli("ls", "--json")
    assert [json.loads(line)["identity_url"] for line in listed.stdout.decode().splitlines()] == [site(path)]
    assert "No catalog" not in listed.stderr.decode()


def test_walls_teasers_and_index_pages_are_archived_raw_and_flagged(cli: Any, site: Site, tmp_path: Path) -> None:
    pages = {
        "/golden/paywall-teaser.html": ("partial", "paywalled: only the teaser was visible", "article", "paywalled"),
        "/golden/consent-wall.html": ("raw-only", "consent wall: ", "other", "consent_wall"),
        "/golden/bot-challenge.html": ("raw-only", "bot challenge: ", "other", "bot_challenge"),
        "/golden/soft-404.html": ("raw-only", "soft 404: ", "other", "soft_404"),
        "/golden/section-front.html": ("raw-only", "index page, not an article", "index", "free"),
    }
    proc = cli("archive", *(site(p) for p in pages))
    assert proc.returncode == 4  # none is a complete article: the worst outcome, raw-only, gives 4
    out = {line.split()[1]: line for line in lines(proc)}
    store = LocalDirStore(tmp_path / "archive")
    for path, (outcome, reason, kind, access) in pages.items():
        assert out[site(path)].startswith(f"{outcome} ") and reason in out[site(path)]
        ref, record = only_capture(store, site(path))
        assert read_raw(store, ref) == site.served_bytes(path)
        assert (record["kind"], record["access"]) == (kind, access)
        assert record["problem"].startswith(reason.split(":")[0]) and record["kind_reason"]
        assert (record["text"] is None) == (outcome == "raw-only")
    teaser = read_text(store, *only_capture(store, site("/golden/paywall-teaser.html")))
    assert teaser is not None and "Subscribe now" not in teaser
    assert "Done: 0 archived, 1 partial, 4 raw-only, 0 spooled, 0 failed" in proc.stderr.decode()
