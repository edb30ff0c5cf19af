"""Settings layering and how Scrapy components are built from settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.extraction.extract import ExtractOptions
from crawler.store.local import LocalDirStore
from crawler.store.s3 import S3Store
from pipelines.archive import ArchivePipeline
from pipelines.extract import ExtractPipeline
from settings.env import overrides_from_env
from tests.conftest import REPO, project_crawler, project_settings


def test_env_overrides_only_our_variables() -> None:
    env = {"NEWSARCHIVE_STORE": "s3://b/p", "NEWSARCHIVE_S3_ADDRESSING_STYLE": "path",
           "NEWSARCHIVE_USER_AGENT": "", "AWS_SECRET_ACCESS_KEY": "secret", "HOME": "/root"}
    assert overrides_from_env(env) == {"ARCHIVE_URI": "s3://b/p", "ARCHIVE_S3_ADDRESSING_STYLE": "path"}


def test_cli_flags_beat_env_which_beats_project_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import settings as project_settings
    from crawler.cli.command import build_parser, build_settings

    monkeypatch.setenv("NEWSARCHIVE_STORE", "/from/env")
    importlib.reload(project_settings)
    try:
        from_env = build_settings(build_parser().parse_args(["archive", "https://e.com/"]))
        assert from_env.get("ARCHIVE_URI") == "/from/env"
        from_flag = build_settings(build_parser().parse_args(
            ["archive", "https://e.com/", "--store", "s3://b/x", "-s", "DOWNLOAD_TIMEOUT=7"]))
        assert from_flag.get("ARCHIVE_URI") == "s3://b/x"
        assert from_flag.getint("DOWNLOAD_TIMEOUT") == 7
        assert from_flag.getbool("ROBOTSTXT_OBEY") is True  # project default still there
    finally:
        monkeypatch.delenv("NEWSARCHIVE_STORE")
        importlib.reload(project_settings)


def test_extract_pipeline_options_come_from_settings() -> None:
    crawler = project_crawler({"EXTRACT_FAVOR_PRECISION": True, "EXTRACT_INCLUDE_TABLES": False,
                               "EXTRACT_MIN_WORDS": 3})
    pipeline = ExtractPipeline.from_crawler(crawler)
    assert pipeline.options == ExtractOptions(include_comments=False, include_tables=False,
                                              favor_precision=True, min_words=3)


def test_archive_pipeline_store_comes_from_archive_uri(tmp_path: Path) -> None:
    local = ArchivePipeline.from_crawler(project_crawler({"ARCHIVE_URI": str(tmp_path)}))
    assert isinstance(local.store, LocalDirStore) and local.store.root == tmp_path
    s3 = ArchivePipeline.from_crawler(project_crawler({
        "ARCHIVE_URI": "s3://bucket/pre", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "ARCHIVE_S3_ADDRESSING_STYLE": "path"}))
    assert isinstance(s3.store, S3Store) and s3.store.prefix == "pre"
    assert s3.store.client.meta.endpoint_url == "http://127.0.0.1:9"
    assert s3.store.client.meta.config.s3["addressing_style"] == "path"


def test_project_settings_are_polite_and_wire_our_components() -> None:
    import settings as s

    assert s.ROBOTSTXT_OBEY and s.AUTOTHROTTLE_ENABLED and "newsarchive" in s.USER_AGENT
    assert list(s.ITEM_PIPELINES) == ["pipelines.extract.ExtractPipeline", "pipelines.archive.ArchivePipeline"]
    assert s.DOWNLOADER_MIDDLEWARES["crawler.components.middlewares.RobotsTxtMiddleware"] == 100
    assert s.ARCHIVE_URI == "archive"


def test_extract_options_defaults_are_the_settings_defaults() -> None:
    """ExtractOptions() (extract() outside a crawl) and a crawl with default settings extract alike."""
    assert ExtractOptions() == ExtractOptions.from_settings(project_settings())


SETTING_READ = re.compile(
    r"""settings(?:\.get(?:bool|int|float|list|dict|withbase)?\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']\s*(,)?""")
OUR_PREFIXES = ("ARCHIVE_", "EXTRACT_", "CRAWL_", "FLEET_", "MANIFEST_")


def settings_read_by_our_code() -> dict[str, list[str]]:
    """Setting name -> the places that read it (crawler/, pipelines/), and whether with a default."""
    found: dict[str, list[str]] = {}
    for path in [*REPO.joinpath("crawler").rglob("*.py"), *REPO.joinpath("pipelines").rglob("*.py")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in SETTING_READ.finditer(line):
                where = f"{path.relative_to(REPO)}:{number}" + (" (with a default)" if match.group(2) else "")
                found.setdefault(match.group(1), []).append(where)
    return found


def test_every_setting_is_declared_once_and_read_without_a_default() -> None:
    import scrapy.settings.default_settings as scrapy_defaults

    import settings as ours

    read = settings_read_by_our_code()
    assert "ARCHIVE_URI" in read and "FLEET_RUN_TTL" in read  # the scan sees what it should
    undeclared = sorted(name for name in read if not hasattr(ours, name) and not hasattr(scrapy_defaults, name))
    restated = sorted(place for places in read.values() for place in places if place.endswith("(with a default)"))
    assert not undeclared, f"settings read but declared nowhere: {undeclared}"
    assert not restated, f"settings read with a default of their own: {restated}"


def test_every_setting_of_ours_is_in_the_readme() -> None:
    import settings as ours

    table = (REPO / "README.md").read_text(encoding="utf-8").split("## Settings", 1)[1].split("\n## ", 1)[0]
    names = [n for n in vars(ours) if n.isupper() and n.startswith(OUR_PREFIXES) and not n.endswith("_BASE")]
    missing = [n for n in names if f"`{n}`" not in table]
    assert not missing, f"settings missing from the README's settings table: {missing}"


def test_one_store_per_crawl_shared_by_its_components(tmp_path: Path) -> None:
    from crawler.components.joblock import JobLockExtension
    from crawler.components.manifest import RunManifest
    from crawler.components.store import ArchiveStore, crawler_store
    from crawler.spiders.sites import SitesSpider

    crawler = project_crawler({"ARCHIVE_URI": "s3://bucket/pre", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                               "CRAWL_JOB": "job", "CRAWL_RUN_ID": "run", "CRAWL_SITES": ["a"]})
    store = crawler_store(crawler)
    assert crawler.get_extension(ArchiveStore).store is store
    assert ArchivePipeline.from_crawler(crawler).store is store
    manifest, lock = crawler.get_extension(RunManifest), crawler.get_extension(JobLockExtension)
    assert manifest is not None and manifest.store is store and manifest.report.sites.keys() == {"a"}
    assert lock is not None and (lock.job, lock.run_id) == ("job", "run")
    spider = SitesSpider(sites=[])
    spider._set_crawler(crawler)
    assert spider.store is store
    # one-off archiving is no job: no lock, no manifest
    one_off = project_crawler({"ARCHIVE_URI": str(tmp_path)})
    assert one_off.get_extension(RunManifest) is None and one_off.get_extension(JobLockExtension) is None
