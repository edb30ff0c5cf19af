"""Shared fixtures: the local test site, a moto S3 server process, a fresh bucket per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import S3Server, Site, serve_s3, serve_site

TESTS = Path(__file__).parent
REPO = TESTS.parent
SITE_ROOT = TESTS / "site"


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    with serve_site(SITE_ROOT) as served:
        yield served


@pytest.fixture(scope="session")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Fake credentials and empty AWS config files, so no real profile can leak in."""
    home = tmp_path_factory.mktemp("aws")
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    return {
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
    }


@pytest.fixture(scope="session")
def s3_server(aws_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    saved = {name: os.environ.get(name) for name in (*aws_env, "AWS_ENDPOINT_URL", "AWS_PROFILE")}
    os.environ.update(aws_env)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    try:
        with serve_s3(tmp_path_factory.mktemp("moto") / "moto.log") as server:
            yield server
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3_client(s3_server: S3Server) -> Any:
    from crawler.storage import make_s3_client

    return make_s3_client(endpoint_url=s3_server.endpoint_url, addressing_style="path")


@pytest.fixture
def bucket(s3_client: Any) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


def newsarchive_command() -> str:
    """The installed `newsarchive` console script (installed by the README's test command)."""
    script = Path(sysconfig.get_path("scripts")) / "newsarchive"
    found = str(script) if script.exists() else shutil.which("newsarchive")
    assert found, "the newsarchive command is not installed: run the README's test command"
    return found


def run_cli(args: list[str], *, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 120, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real `newsarchive` command as a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSARCHIVE_", "AWS_"))}
    full_env.update(env or {})
    return subprocess.run([newsarchive_command(), *args], cwd=cwd, env=full_env, input=stdin,
                          capture_output=True, timeout=timeout)


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    """run_cli with the working directory in a fresh temporary folder."""
    def run(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
            ) -> subprocess.CompletedProcess[bytes]:
        spool = {"NEWSARCHIVE_SPOOL_DIR": str(tmp_path / "spool")}  # never the user's own spool
        return run_cli(list(args), cwd=tmp_path, env={**spool, **(env or {})}, stdin=stdin)
    return run
