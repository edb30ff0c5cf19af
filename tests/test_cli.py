"""The CLI in-process (no crawl): usage errors, `extract`, one-line errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from crawler.cli.command import main
from tests.conftest import REPO, SITE_ROOT

ARTICLE = SITE_ROOT / "news/2026/11/drone-strike-izhevsk.html"


@pytest.mark.parametrize("argv", [[], ["archive", "--json", "--store"], ["frobnicate"],
                                  ["show"], ["show", "u", "--raw", "--json"], ["archive", "-s", "NOEQUALS", "u"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: newsarchive" in capsys.readouterr().err


def test_extract_prints_the_clean_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(ARTICLE), "--url", "https://kyivledger.example/news/x/"]) == 0
    out = capsys.readouterr().out
    assert "A drone strike damaged a factory on Nov. 17" in out
    assert "Great reporting as always" not in out


def test_extract_json_has_every_metadata_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(ARTICLE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["title"] == "Russian defense plant over 1,300 km from Ukraine reportedly hit by drone strike"
    assert data["authors"] == ["Martin Fornusek"] and data["published"] == "2026-11-17T14:20:00+00:00"
    assert data["site_name"] == "Kyiv Ledger" and data["language"] == "en-GB"
    assert data["canonical_url"] == "https://kyivledger.example/news/drone-strike-izhevsk/"
    assert data["problem"] is None and data["encoding"] == "utf-8" and data["outcome"] == "archived"
    assert data["article_text"].startswith("A drone strike damaged a factory on Nov. 17")
    assert data["text"]["sha256"] == hashlib.sha256(data["article_text"].encode()).hexdigest()
    assert data["raw"]["size"] == ARTICLE.stat().st_size
    assert {"description", "image", "tags", "section", "kind", "access", "teaser", "extractor"} <= set(data)
    assert data["extractor"]["name"] == "newsarchive" and data["extractor"]["engine"] == "trafilatura"


def test_extract_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ARTICLE.read_bytes())))
    assert main(["extract", "-"]) == 0
    assert "Izhevsk" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message", "code"), [
    # usage errors exit 2, as argparse's own do, whatever the command
    (["extract", "/no/such/page.html"], "cannot read /no/such/page.html: No such file or directory", 2),
    (["archive", "https://example.com/", "--store", "gs://bucket"], "unsupported store URI 'gs://bucket'", 2),
    (["archive", "https://example.com/", "--store", "s3://"], "S3 URI needs a bucket", 2),
    (["show", "https://example.com/", "--store", "s3://"], "S3 URI needs a bucket", 2),
    (["archive", "--input", "/no/such/list.txt"], "cannot read /no/such/list.txt", 2),
    (["archive"], "no URLs given", 2),
    (["crawl", "--sites", "/no/such/sites.toml"], "/no/such/sites.toml: cannot read", 2),
])
def test_our_errors_are_one_line_with_the_documented_exit_code(argv: list[str], message: str, code: int,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize(("page", "message"), [
    ("files/annual-report.pdf", "not HTML (unknown type)"),
    ("contact.html", "no article text found (only 11 words)"),
    ("gallery.html", "index page, not an article (mostly links"),
])
def test_extract_flags_a_page_without_text_as_archive_would(page: str, message: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """archive would store the raw page with no text: outcome raw-only, exit code 4, nothing on stdout."""
    assert main(["extract", str(SITE_ROOT / page)]) == 4
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"raw-only: {SITE_ROOT / page}: {message}") and err.count("\n") == 1


def test_extract_prints_a_teaser_and_flags_it_partial(capsys: pytest.CaptureFixture[str]) -> None:
    page = REPO / "tests" / "pages" / "paywall-teaser.html"
    assert main(["extract", str(page)]) == 3
    out, err = capsys.readouterr()
    assert out.startswith("A handful of small freight railroads in the Midwest")
    assert err.startswith(f"partial: {page}: paywalled: only the teaser was visible")


def test_show_without_captures_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "https://example.com/never", "--store", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"Error: no captures of https://example.com/never in {tmp_path}\n"
