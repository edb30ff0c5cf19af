"""Shared fixtures: the local test site, S3 servers (moto; Ceph RGW on request), a fresh bucket per test."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.newssite import NewsSite
from tests.servers import S3Server, Site, serve_s3, serve_site

TESTS = Path(__file__).parent
REPO = TESTS.parent


def _shared_data() -> Path:
    """The team's shared data: NEWSARCHIVE_SHARED, else ../shared beside the checkout (as in CI),
    else ../shared beside the local repository this checkout was cloned from (a throwaway clone
    in a temporary folder)."""
    if os.environ.get("NEWSARCHIVE_SHARED"):
        return Path(os.environ["NEWSARCHIVE_SHARED"])
    beside = REPO.parent / "shared"
    if beside.is_dir():
        return beside
    origin = subprocess.run(["git", "config", "--get", "remote.origin.url"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    if origin and Path(origin).is_dir():
        cloned_from = Path(origin).resolve().parent / "shared"
        if cloned_from.is_dir():
            return cloned_from
    return beside


SHARED = _shared_data()
SITE_ROOT = TESTS / "site"


def project_settings(overrides: dict[str, Any] | None = None) -> Any:
    """The project's settings (settings/), as every command and `scrapy crawl` see them, plus `overrides`."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("settings", priority="project")
    settings.setdict(overrides or {}, priority="cmdline")
    return settings


def project_crawler(overrides: dict[str, Any] | None = None, spidercls: Any = None) -> Any:
    """A crawler with the project's settings and its extensions built (the store among them),
    as components see it in from_crawler."""
    from scrapy.utils.test import get_crawler

    settings = project_settings(overrides)
    ours = {name: settings[name] for name in settings  # not Scrapy's defaults
            if (settings.getpriority(name) or 0) >= 20}
    return get_crawler(spidercls, settings_dict=ours)


@pytest.fixture(scope="session", autouse=True)
def every_warc_written_passes_warcio_check(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole session: every WARC any test left on disk (captures, spools, exports)
    passes warcio's own check of its digests. Reported as an error of the session if not."""
    yield
    from warcio.checker import Checker

    class Options:
        inputs: list[str]
        verbose = False

    options = Options()
    options.inputs = [str(p) for p in tmp_path_factory.getbasetemp().rglob("*.warc.gz")]
    if options.inputs:
        checker = Checker(options)
        with contextlib.redirect_stdout(io.StringIO()) as report:
            failed = checker.process_all()
        assert not failed, f"WARCs that fail `warcio check`:\n{report.getvalue()}"


@pytest.fixture(scope="session", autouse=True)
def own_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every process the tests start (crawls and their extraction workers, servers) makes its
    temporary files in one folder, removed at the end: a killed crawl's worker pool must not
    leave `pymp-*` folders with stale sockets in the machine's temp dir."""
    import tempfile

    tmp_path_factory.getbasetemp()  # pytest's own tmp_path folders stay where they are, for debugging
    folder = Path(tempfile.mkdtemp(prefix="newsarchive-tests-"))
    before, tempfile.tempdir = os.environ.get("TMPDIR"), None
    os.environ["TMPDIR"] = str(folder)
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before
        tempfile.tempdir = None
        shutil.rmtree(folder, ignore_errors=True)


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


@dataclass(frozen=True)
class S3Backend:
    """An S3-compatible server the tests talk to over HTTP, and the credentials it takes."""

    name: str
    endpoint_url: str
    env: dict[str, str]


def _free_ports(count: int) -> list[int]:
    """Ceph's daemons cannot bind port 0 and report back: ask the OS for distinct free ports
    (all probes open at once, so the same port is never handed out twice)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


@pytest.fixture(scope="session")
def rgw_server(aws_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Backend]:
    """Ceph RGW, a production S3 implementation: one mon, one memstore OSD and radosgw."""
    if not shutil.which("radosgw"):
        pytest.fail("Ceph RGW is not installed: run tests/rgw/install.sh (the README's test command does)")
    for _attempt in range(2):  # a one-node Ceph cluster that fails to come up gets one more try
        scratch = tmp_path_factory.mktemp("rgw")
        port, mon_port = _free_ports(2)
        started = subprocess.run(["bash", str(TESTS / "rgw" / "start.sh"), str(scratch), str(port), str(mon_port)],
                                 capture_output=True, timeout=300)
        if started.returncode == 0:
            break
        _stop_ceph(scratch)
    try:
        assert started.returncode == 0, started.stderr.decode()[-3000:]
        yield S3Backend("rgw", f"http://127.0.0.1:{port}",
                        {**aws_env, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "testtest"})
    finally:
        _stop_ceph(scratch)


def _stop_ceph(scratch: Path) -> None:
    for pid_file in (scratch / "run").glob("*.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


@pytest.fixture
def s3_backend(request: pytest.FixtureRequest, aws_env: dict[str, str]) -> S3Backend:
    """moto unless a test asks for another (parametrize "s3_backend" with indirect=True)."""
    name = getattr(request, "param", "moto")
    if name == "rgw":
        backend: S3Backend = request.getfixturevalue("rgw_server")
        return backend
    server = request.getfixturevalue("s3_server")
    return S3Backend("moto", server.endpoint_url, aws_env)


@pytest.fixture
def s3_client(s3_backend: S3Backend) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3", endpoint_url=s3_backend.endpoint_url, region_name="us-east-1",
        aws_access_key_id=s3_backend.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=s3_backend.env["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 3}))


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
def news(tmp_path: Path) -> Iterator[tuple[NewsSite, Site]]:
    """The generated news site (edition 1) served on 127.0.0.1, and its sites.toml in tmp_path."""
    root = tmp_path / "site"
    root.mkdir()
    with serve_site(root) as served:
        site = NewsSite(root, served.url)
        site.publish(1)
        (tmp_path / "sites.toml").write_text(site.sites_toml())
        yield site, served


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    """run_cli with the working directory in a fresh temporary folder."""
    def run(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
            ) -> subprocess.CompletedProcess[bytes]:
        spool = {"NEWSARCHIVE_SPOOL_DIR": str(tmp_path / "spool")}  # never the user's own spool
        return run_cli(list(args), cwd=tmp_path, env={**spool, **(env or {})}, stdin=stdin)
    return run


@dataclass
class RedisServer:
    url: str
    client: Any


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1 (Debian's package; tests/install.sh installs it)."""
    import redis

    binary = shutil.which("redis-server")
    if not binary:
        pytest.fail("redis-server is not installed: run tests/install.sh (the README's test command does)")
    scratch = tmp_path_factory.mktemp("redis")
    for _attempt in range(3):  # redis-server cannot bind port 0: a free port, retried if taken meanwhile
        [port] = _free_ports(1)
        process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no", "--dir", str(scratch)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(100):
            if process.poll() is not None:
                break
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        if process.poll() is None:
            break
    else:
        pytest.fail("redis-server did not start")
    try:
        yield RedisServer(f"redis://127.0.0.1:{port}/0", client)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The test Redis, emptied: each test starts with no fleet state."""
    redis_server.client.flushall()
    return redis_server.url
