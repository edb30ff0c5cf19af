"""Settings layering and how Scrapy components are built from settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from crawler.extraction import ExtractOptions
from crawler.storage import LocalDirStore, S3Store
from pipelines.archive import ArchivePipeline
from pipelines.extract import ExtractPipeline
from settings.env import overrides_from_env


def test_env_overrides_only_our_variables() -> None:
    env = {"NEWSARCHIVE_STORE": "s3://b/p", "NEWSARCHIVE_S3_ADDRESSING_STYLE": "path",
           "NEWSARCHIVE_USER_AGENT": "", "AWS_SECRET_ACCESS_KEY": "secret", "HOME": "/root"}
    assert overrides_from_env(env) == {"ARCHIVE_URI": "s3://b/p", "ARCHIVE_S3_ADDRESSING_STYLE": "path"}


def test_cli_flags_beat_env_which_beats_project_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import settings as project_settings
    from crawler.cli import build_parser, build_settings

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
    crawler = get_crawler(settings_dict={"EXTRACT_FAVOR_PRECISION": True, "EXTRACT_INCLUDE_TABLES": False,
                                         "EXTRACT_MIN_WORDS": 3})
    pipeline = ExtractPipeline.from_crawler(crawler)
    assert pipeline.options == ExtractOptions(include_comments=False, include_tables=False,
                                              favor_precision=True, min_words=3)


def test_archive_pipeline_store_comes_from_archive_uri(tmp_path: Path) -> None:
    local = ArchivePipeline.from_crawler(get_crawler(settings_dict={"ARCHIVE_URI": str(tmp_path)}))
    assert isinstance(local.store, LocalDirStore) and local.store.root == tmp_path
    s3 = ArchivePipeline.from_crawler(get_crawler(settings_dict={
        "ARCHIVE_URI": "s3://bucket/pre", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "ARCHIVE_S3_ADDRESSING_STYLE": "path"}))
    assert isinstance(s3.store, S3Store) and s3.store.prefix == "pre"
    assert s3.store.client.meta.endpoint_url == "http://127.0.0.1:9"
    assert s3.store.client.meta.config.s3["addressing_style"] == "path"


def test_project_settings_are_polite_and_wire_our_components() -> None:
    import settings as s

    assert s.ROBOTSTXT_OBEY and s.AUTOTHROTTLE_ENABLED and "newsarchive" in s.USER_AGENT
    assert list(s.ITEM_PIPELINES) == ["pipelines.extract.ExtractPipeline", "pipelines.archive.ArchivePipeline"]
    assert s.DOWNLOADER_MIDDLEWARES["crawler.middlewares.RobotsTxtMiddleware"] == 100
    assert s.ARCHIVE_URI == "archive"
