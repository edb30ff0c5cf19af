"""Scheduled crawls end to end: the real `newsarchive crawl` on a generated local news site."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crawler.model.keys import pointer_key
from crawler.store.captures import list_captures, read_capture, read_record
from crawler.store.local import LocalDirStore
from crawler.store.locks import lock_key
from crawler.store.s3 import S3Store
from tests.conftest import newsarchive_command
from tests.newssite import NewsSite
from tests.servers import Site


def summary_of(proc: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(proc.stdout)
    return summary["sites"]["harbor"]


def article_requests(served: Site, since: int) -> list[str]:
    return [p.split("?")[0] for p in served.requests[since:] if p.startswith("/news/")]


def check_two_runs(cli: Any, news: tuple[NewsSite, Site], store: Any, store_args: list[str],
                   env: dict[str, str] | None = None) -> None:
    site, served = news
    first = cli("crawl", "--sites", "sites.toml", "--json", *store_args, env=env)
    assert first.returncode == 0, first.stderr.decode()
    counts = summary_of(first)
    # 32 articles: 31 stored as new articles, one paywalled teaser; nothing failed
    assert (counts["new"], counts["paywalled"], counts["failed"], counts["changed"]) == (31, 1, 0, 0)
    for article in site.articles:
        refs = list_captures(store, served(article.path))
        assert len(refs) == 1, article.path  # the ?utm_source= duplicates did not make second captures
    assert len(set(article_requests(served, 0))) == len(article_requests(served, 0))  # each fetched once

    site.publish(2)  # three new articles, one old article edited
    before = len(served.requests)
    second = cli("crawl", "--sites", "sites.toml", "--json", *store_args, env=env)
    assert second.returncode == 0, second.stderr.decode()
    counts = summary_of(second)
    assert (counts["new"], counts["changed"], counts["failed"]) == (3, 1, 0)
    assert counts["unchanged"] == 4  # the young articles, re-checked with If-Modified-Since: 304
    assert counts["skipped"] == 32 - 4 - 1
    fetched = set(article_requests(served, before))
    expected = {a.path for a in site.added} | {site.articles[10].path} | {a.path for a in site.articles[:4]}
    assert fetched == expected  # old unchanged articles were not fetched again
    edited = list_captures(store, served(site.articles[10].path))
    assert len(edited) == 2
    newest, older = (read_record(store, ref) for ref in edited)
    assert newest["previous_capture"]["capture_id"] == older["capture_id"]
    assert newest["discovery"]["via"] in ("sitemap", "feed", "section")


def test_two_runs_into_a_local_store(cli: Any, news: tuple[NewsSite, Site], tmp_path: Path) -> None:
    check_two_runs(cli, news, LocalDirStore(tmp_path / "archive"), [])
    served = news[1]
    # robots.txt once per run (its rules and its Sitemap: lines from one fetch); the "About us"
    # link in the navigation is a utility page, never followed as a section
    assert served.requests.count("/robots.txt") == 2
    assert "/about.html" not in served.requests
    runs = sorted((tmp_path / "archive" / "runs").glob("crawl-sites/*/summary.json"))
    assert len(runs) == 2
    manifest = [json.loads(line) for part in sorted(runs[1].parent.glob("manifest-*.jsonl"))
                for line in part.read_text().splitlines()]
    decisions = {(m["decision"], m.get("role")) for m in manifest}
    assert {("captured", "article"), ("unchanged", "article"), ("skipped", "article"), ("read", "sitemap"),
            ("read", "feed"), ("read", "page")} <= decisions
    assert all(m["reason"] for m in manifest if m["decision"] in ("skipped", "failed"))
    assert not (tmp_path / "archive" / lock_key("crawl-sites")).exists()  # released


@pytest.mark.parametrize("s3_backend", ["moto", "rgw"], indirect=True)
def test_two_runs_into_s3(cli: Any, news: tuple[NewsSite, Site], s3_backend: Any, s3_client: Any,
                          bucket: str) -> None:
    env = {**s3_backend.env, "AWS_ENDPOINT_URL": s3_backend.endpoint_url, "NEWSARCHIVE_S3_ADDRESSING_STYLE": "path"}
    check_two_runs(cli, news, S3Store(s3_client, bucket, "crawls"), ["--store", f"s3://{bucket}/crawls"], env)


def test_a_crawl_reads_each_articles_pointer_once(cli: Any, news: tuple[NewsSite, Site], s3_server: Any,
                                                  s3_backend: Any, bucket: str) -> None:
    """Deciding to fetch an article reads its pointer; archiving it does not read it again. A new
    capture costs three requests in all (that read, the WARC, the pointer), and nothing is listed
    but the catalog. An article the catalog knows and that is not due costs no request."""
    env = {**s3_backend.env, "AWS_ENDPOINT_URL": s3_backend.endpoint_url, "NEWSARCHIVE_S3_ADDRESSING_STYLE": "path"}
    for run in (1, 2):
        if run == 2:
            news[0].publish(2)  # new articles and an edited one: new and changed captures
        start = s3_server.log_path.stat().st_size
        proc = cli("crawl", "--sites", "sites.toml", "--json", "--store", f"s3://{bucket}/crawls", env=env)
        assert proc.returncode == 0, proc.stderr.decode()
        with s3_server.log_path.open("rb") as log:
            log.seek(start)
            lines = log.read().decode(errors="replace").splitlines()
        reads = Counter(match.group(1) for line in lines
                        if (match := re.search(rf"GET (/{bucket}/crawls/\S+/latest\.json) ", line)))
        captured = summary_of(proc)["new"] + summary_of(proc)["changed"]
        assert captured > 0 and len(reads) >= captured, (run, reads)
        assert set(reads.values()) == {1}, [key for key, n in reads.items() if n > 1]
        if run == 2:
            # the catalog decides for the articles it knows: the old ones are not due (no request),
            # the young ones are re-fetched conditionally (304: no request either) and the edited
            # one came back changed (its pointer read once, by the pipeline); new ones: one read
            site, served = news
            not_due = [a for a in site.articles[4:] if a.number != 10]
            assert summary_of(proc)["skipped"] == len(not_due) and summary_of(proc)["unchanged"] == 4
            read = [*site.added, site.articles[10]]
            assert set(reads) == {f"/{bucket}/crawls/{pointer_key(served(a.path))}" for a in read}
        # no listing, in any run, but of the catalog (once per host and run)
        listings = [line for line in lines if "list-type=2" in line]
        assert listings and all("prefix=crawls/catalog/" in line for line in listings), listings
        folders = {match.group(1) for line in lines
                   if (match := re.search(rf"PUT (/{bucket}/crawls/\S+/)\d{{8}}T\d{{12}}Z\.warc\.gz ", line))}
        written = sum(summary_of(proc)[k] for k in ("new", "changed", "paywalled", "not_article", "blocked"))
        assert len(folders) == written
        for folder in folders:  # each new or changed capture: 1 pointer read, 1 WARC, 1 pointer
            used = Counter(match.group(1) for line in lines  # (moto colours its 404 lines: no \b before GET)
                           if (match := re.search(rf"(GET|PUT|HEAD|POST|DELETE) {re.escape(folder)}", line)))
            assert used == {"GET": 1, "PUT": 2}, (folder, used)


def test_a_second_run_while_one_runs_exits_at_once(cli: Any, news: tuple[NewsSite, Site], tmp_path: Path) -> None:
    _, served = news
    lock = tmp_path / "archive" / lock_key("crawl-sites")
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"run_id": "other", "host": "box2", "pid": 7, "started_at": "2026-01-01T00:00:00",
                                "expires_at": "2999-01-01T00:00:00+00:00"}))
    before = len(served.requests)
    proc = cli("crawl", "--sites", "sites.toml")
    assert proc.returncode == 75
    assert "job 'crawl-sites' is already running (run other on box2, pid 7" in proc.stderr.decode()
    assert served.requests[before:] == []
    assert json.loads(lock.read_text())["run_id"] == "other"  # someone else's lock is left alone
    assert not (tmp_path / "archive" / "runs").exists()  # a run that never started leaves no record


def test_a_bad_sites_file_is_refused_before_any_request(cli: Any, news: tuple[NewsSite, Site], tmp_path: Path) -> None:
    _, served = news
    (tmp_path / "bad.toml").write_text('[[site]]\nname = "harbor"\nfeeds = ["not a url"]\n')
    before = len(served.requests)
    proc = cli("crawl", "--sites", "bad.toml")
    assert proc.returncode == 2
    assert proc.stderr.decode() == ("Error: bad.toml: site 'harbor': 'feeds': 'not a url': URL contains whitespace\n")
    assert served.requests[before:] == []


def test_a_site_whose_sources_all_fail_fails_the_run(cli: Any, news: tuple[NewsSite, Site], tmp_path: Path) -> None:
    site, served = news
    (tmp_path / "sites.toml").write_text(
        site.sites_toml() + f'\n[[site]]\nname = "gone"\nfeeds = ["{served.url}/status/404"]\n'
        f'sitemaps = ["{served.url}/status/500"]\n')
    proc = cli("crawl", "--sites", "sites.toml", "-s", "RETRY_TIMES=0")
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert "site 'gone' failed completely" in out and "HTTP 404 Not Found" in out
    assert out.splitlines()[1].startswith("harbor") and out.splitlines()[1].endswith("ok")


def test_a_run_can_be_bounded_by_item_count(cli: Any, news: tuple[NewsSite, Site], tmp_path: Path) -> None:
    news[1].delay = 0.2  # articles arrive slowly enough for the bound to bite
    proc = cli("crawl", "--sites", "sites.toml", "--max-items", "3", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    summary = json.loads(proc.stdout)
    assert summary["finish_reason"] == "closespider_itemcount"
    captured = sum(summary["sites"]["harbor"][k] for k in ("new", "changed", "paywalled", "not_article"))
    assert 3 <= captured < 32  # stopped early (requests already in flight still finish)
    assert not (tmp_path / "archive" / lock_key("crawl-sites")).exists()


def test_a_killed_run_is_finished_by_the_next_without_loss(
        news: tuple[NewsSite, Site], tmp_path: Path) -> None:
    site, served = news
    served.delay = 0.15  # slow enough to be killed halfway
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    run = subprocess.Popen([newsarchive_command(), "crawl", "--sites", "sites.toml"], cwd=tmp_path, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    archive = tmp_path / "archive"
    deadline = time.monotonic() + 60
    while len(list(archive.rglob("*.warc.gz"))) < 8:
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    workers = [int(p) for p in Path(f"/proc/{run.pid}/task/{run.pid}/children").read_text().split()]
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert (archive / lock_key("crawl-sites")).exists()  # the dead run's lock is still there
    before = {p.name for p in archive.rglob("*.warc.gz")}
    assert len(before) < 32
    deadline = time.monotonic() + 15  # its helper processes (forkserver, extraction workers) leave too
    while any(Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
              for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "zombie" not in Path(f"/proc/{pid}/status").read_text()]

    served.delay = 0
    again = subprocess.run([newsarchive_command(), "crawl", "--sites", "sites.toml", "--json"], cwd=tmp_path,
                           env=env, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()  # the dead holder's lock was taken over
    store = LocalDirStore(archive)
    for article in site.articles:
        refs = list_captures(store, served(article.path))
        # a capture is one object, written before its pointer: a run killed between the two
        # leaves a capture its pointer does not name yet, which the next run captures once
        # more. Nothing lost; never more than that one extra, and only for a capture of the dead run.
        assert 1 <= len(refs) <= 2, f"{article.path}: {len(refs)} captures"
        if len(refs) == 2:
            assert refs[1].key.rsplit("/", 1)[1] in before and refs[0].key.rsplit("/", 1)[1] not in before
        capture = read_capture(store, refs[0])
        assert hashlib.sha256(capture.body).hexdigest() == capture.record["raw"]["sha256"]
