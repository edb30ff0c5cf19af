"""Getting the archive back out: `history`, `diff`, `ls`, `index --rebuild`, `export jsonl|parquet`.

Three crawls of the local news site: edition 1; edition 2 (three new articles, an old one given an
"Update:" paragraph); then a young article edited by hand (one word of its text and its
headline). Every expectation below comes from those edits, not from the code under test.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from crawler.store.captures import list_captures
from crawler.store.local import LocalDirStore
from tests.conftest import run_cli
from tests.newssite import NewsSite, paragraphs
from tests.servers import serve_site

OLD_WORD, NEW_WORD = "residents", "shopkeepers"


def out_json(proc: subprocess.CompletedProcess[bytes]) -> Any:
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def lines_json(proc: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    assert proc.returncode == 0, proc.stderr.decode()
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


def edit_by_hand(site: NewsSite, number: int) -> tuple[str, str, str, str]:
    """Change one word of one paragraph and the headline of a young article; return the old and
    new paragraph and title."""
    article = site.articles[number]
    path = site.root / article.path.lstrip("/")
    html = path.read_text(encoding="utf-8")
    old_paragraph = next(p for p in paragraphs(article, False) if f" {OLD_WORD} " in p)
    new_paragraph = old_paragraph.replace(f" {OLD_WORD} ", f" {NEW_WORD} ", 1)
    new_title = article.title + " again"
    html = html.replace(old_paragraph, new_paragraph).replace(article.title, new_title)
    path.write_text(html, encoding="utf-8")
    return old_paragraph, new_paragraph, article.title, new_title


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("finding")


@pytest.fixture(scope="module")
def cli(work: Path) -> Any:
    """run_cli in the module's folder (the crawls are made once for all its tests)."""
    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return run_cli(list(args), cwd=work, env={"NEWSARCHIVE_SPOOL_DIR": str(work / "spool")})
    return run


@pytest.fixture(scope="module")
def crawled(cli: Any, work: Path) -> Iterator[dict[str, Any]]:
    (work / "site").mkdir()
    with serve_site(work / "site") as served:
        site = NewsSite(work / "site", served.url)
        site.publish(1)
        (work / "sites.toml").write_text(site.sites_toml())
        started = []
        for run in (1, 2, 3):
            if run == 2:
                site.publish(2)
            if run == 3:
                edit = edit_by_hand(site, 1)
            started.append(datetime.now(UTC))
            proc = cli("crawl", "--sites", "sites.toml", "--json")
            assert proc.returncode == 0, proc.stderr.decode()
        yield {"site": site, "served": served, "edit": edit, "started": started,
               "store": LocalDirStore(work / "archive")}


def test_history_and_diff_show_exactly_the_edits(cli: Any, crawled: dict[str, Any]) -> None:
    site, served = crawled["site"], crawled["served"]
    updated = served(site.articles[10].path)
    update = paragraphs(site.articles[10], True)[2]  # the paragraph edition 2 inserted
    history = out_json(cli("history", updated, "--json"))["captures"]
    assert len(history) == 2 and history[1]["change"] == "first capture"
    assert history[0]["changes"] == {"text_changed": True, "words_added": len(update.split()), "words_removed": 0,
                                     "metadata": {}}
    assert history[0]["capture_id"] > history[1]["capture_id"]

    diff = out_json(cli("diff", updated, "--json"))
    assert diff["differ"] and diff["metadata"] == {}
    changed = [b for b in diff["text"]["blocks"] if b["op"] != "equal"]
    assert changed == [{"op": "insert", "old": [], "new": [update]}]
    assert (diff["from"]["capture_id"], diff["to"]["capture_id"]) == (history[1]["capture_id"],
                                                                       history[0]["capture_id"])

    old_paragraph, new_paragraph, old_title, new_title = crawled["edit"]
    hand_edited = served(site.articles[1].path)
    diff = out_json(cli("diff", hand_edited, "--json"))
    assert diff["metadata"] == {"title": {"from": old_title, "to": new_title}}
    changed = [b for b in diff["text"]["blocks"] if b["op"] != "equal"]
    assert len(changed) == 1 and changed[0]["old"] == [old_paragraph] and changed[0]["new"] == [new_paragraph]
    words = [w for w in changed[0]["words"][0] if w["op"] != "equal"]
    assert words == [{"op": "delete", "text": OLD_WORD}, {"op": "insert", "text": NEW_WORD}]
    assert (diff["text"]["words_added"], diff["text"]["words_removed"]) == (1, 1)

    # for people: a unified diff, the changed word highlighted on a terminal
    plain = cli("diff", hand_edited, "--color", "never")
    assert plain.returncode == 0
    text = plain.stdout.decode()
    assert f"-{old_paragraph}\n+{new_paragraph}\n" in text and f'+title: "{new_title}"' in text
    colored = cli("diff", hand_edited, "--color", "always").stdout.decode()
    assert f"\033[32m\033[1m{NEW_WORD}\033[0m" in colored and f"\033[9m{OLD_WORD}\033[0m" in colored
    # --exit-code as git diff: 1 when they differ, 0 for a capture against itself
    assert cli("diff", hand_edited, "--exit-code").returncode == 1
    newest = history_ids(cli, hand_edited)[0]
    same = cli("diff", hand_edited, "--from", newest, "--to", newest, "--exit-code", "--json")
    assert same.returncode == 0 and json.loads(same.stdout)["differ"] is False
    missing = cli("diff", hand_edited, "--from", "20000101T000000000000Z")
    assert missing.returncode == 1 and "no capture 20000101T000000000000Z" in missing.stderr.decode()


def history_ids(cli: Any, url: str) -> list[str]:
    return [c["capture_id"] for c in out_json(cli("history", url, "--json"))["captures"]]


def test_ls_lists_every_article_once_with_its_newest_capture(cli: Any, crawled: dict[str, Any]) -> None:
    site, served = crawled["site"], crawled["served"]
    listed = lines_json(cli("ls", "--json"))
    urls = [entry["identity_url"] for entry in listed]
    assert sorted(urls) == sorted(served(a.path) for a in site.all) and len(set(urls)) == len(urls)
    assert [e["fetched_at"] for e in listed] == sorted((e["fetched_at"] for e in listed), reverse=True)
    by_url = {e["identity_url"]: e for e in listed}
    assert by_url[served(site.articles[10].path)]["captures"] == 2
    assert by_url[served(site.articles[1].path)]["title"] == crawled["edit"][3]  # the newest capture's
    assert by_url[served(site.articles[30].path)]["access"] == "paywalled"

    changed = {e["identity_url"] for e in lines_json(cli("ls", "--changed", "--json"))}
    assert changed == {served(site.articles[10].path), served(site.articles[1].path)}
    since_third = crawled["started"][2].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    recent = lines_json(cli("ls", "--since", since_third, "--json"))
    assert [e["identity_url"] for e in recent] == [served(site.articles[1].path)]  # the only capture of run 3
    before_second = lines_json(cli("ls", "--until", crawled["started"][1].isoformat(), "--json"))
    assert len(before_second) == len(site.articles)
    assert lines_json(cli("ls", "--kind", "index", "--json")) == []
    assert len(lines_json(cli("ls", "--site", "harbor", "--json"))) == len(site.all)
    assert lines_json(cli("ls", "--site", "elsewhere", "--json")) == []
    assert len(lines_json(cli("ls", "--host", served.url.removeprefix("http://"), "--json"))) == len(site.all)
    human = cli("ls").stdout.decode().splitlines()
    assert len(human) == len(site.all) and any(crawled["edit"][3] in line for line in human)


def test_exports_hold_every_article_with_its_clean_text(cli: Any, crawled: dict[str, Any], work: Path) -> None:
    site, served, store = crawled["site"], crawled["served"], crawled["store"]
    every = lines_json(cli("export", "--format", "jsonl"))
    captures = sum(len(list_captures(store, served(a.path))) for a in site.all)
    assert len(every) == captures == len(site.all) + 2
    latest = lines_json(cli("export", "--format", "jsonl", "--latest"))
    assert sorted(r["identity_url"] for r in latest) == sorted(served(a.path) for a in site.all)
    for row in latest:
        shown = cli("show", row["identity_url"])
        assert shown.returncode == 0 and row["text"] + "\n" == shown.stdout.decode(), row["identity_url"]
        assert (work / row["warc"]).is_file() and row["warc"].endswith(f"{row['capture_id']}.warc.gz")
    assert set(latest[0]) == {"url", "identity_url", "capture_id", "fetched_at", "site", "title", "authors",
                              "published", "modified", "language", "kind", "access", "problem", "text", "words",
                              "text_sha256", "warc"}

    target = work / "articles.parquet"
    proc = cli("export", "--format", "parquet", "-o", str(target), "--changed")
    assert proc.returncode == 0, proc.stderr.decode()
    assert "Exported 4 row(s)" in proc.stderr.decode() and "\r" not in proc.stderr.decode()  # no bar off a tty
    with duckdb.connect() as db:
        rows = db.execute("select identity_url, capture_id, text, authors from read_parquet(?) order by capture_id",
                          [str(target)]).fetchall()
    assert len(rows) == 4 and {r[0] for r in rows} == {served(site.articles[10].path), served(site.articles[1].path)}
    jsonl = {r["capture_id"]: r for r in every}
    assert all(text == jsonl[cid]["text"] and authors == ["Mara Quint"] for _, cid, text, authors in rows)
    assert cli("export", "--format", "parquet").returncode == 2  # a Parquet file needs -o
    none = cli("export", "--format", "jsonl", "--since", (datetime.now(UTC) + timedelta(days=1)).isoformat())
    assert none.returncode == 1 and "no captures" in none.stderr.decode()


def test_the_rebuilt_catalog_equals_the_one_the_crawls_wrote(cli: Any, crawled: dict[str, Any], work: Path) -> None:
    """(Last in this module: it replaces the catalog.)"""
    catalog = work / "archive" / "catalog"
    written = sorted(p.name for p in catalog.rglob("*.parquet"))
    assert len(written) == 3  # one segment per run for the one host
    incremental = lines_json(cli("ls", "--json"))
    rebuilt = cli("index", "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr.decode()
    assert "Catalog rebuilt from the captures: 37 capture(s)" in rebuilt.stderr.decode()
    assert sorted(p.name for p in catalog.rglob("*.parquet")) != written  # replaced
    assert lines_json(cli("ls", "--json")) == incremental
    for segment in catalog.rglob("*.parquet"):  # and without a catalog at all, the same answer
        segment.unlink()
    walked = cli("ls", "--json")
    assert lines_json(walked) == incremental and "index --rebuild" in walked.stderr.decode()
