"""Deploy to a real scrapyd on this machine, schedule a crawl through its HTTP API, find the captures."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.store.captures import list_captures
from crawler.store.local import LocalDirStore
from tests.conftest import REPO
from tests.newssite import NewsSite
from tests.scrapyd_client import call
from tests.servers import serve_site

SCRIPTS = Path(sysconfig.get_path("scripts"))


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[str]:
    """scrapyd listening on a unix socket in tmp_path; yields the socket path."""
    home = tmp_path / "scrapyd"
    home.mkdir()
    sock = home / "scrapyd.sock"
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = 0\n"
        f"unix_socket_path = {sock}\neggs_dir = {home}/eggs\nlogs_dir = {home}/logs\ndbs_dir = {home}/dbs\n"
        "items_dir =\nmax_proc = 1\npoll_interval = 0.5\n")
    log = (home / "scrapyd.log").open("wb")
    process = subprocess.Popen([str(SCRIPTS / "scrapyd"), "--pidfile", str(home / "twistd.pid")],
                               cwd=home, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert process.poll() is None and time.monotonic() < deadline, (home / "scrapyd.log").read_text()
            time.sleep(0.1)
        yield str(sock)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def build_egg(tmp_path: Path) -> bytes:
    """`scrapyd-deploy --build-egg`, the deploy target's own build, on a copy of the project."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("crawler", "pipelines", "settings"):
        shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "scrapy.cfg", project / "scrapy.cfg")
    egg = tmp_path / "newsarchive.egg"
    proc = subprocess.run([str(SCRIPTS / "scrapyd-deploy"), "--build-egg", str(egg)], cwd=project,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return egg.read_bytes()


def test_deploy_schedule_and_find_the_captures(scrapyd: str, tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    with serve_site(root) as served:
        site = NewsSite(root, served.url)
        site.publish(1)
        sites_file = tmp_path / "sites.toml"
        sites_file.write_text(site.sites_toml())
        store = tmp_path / "archive"

        added = call(scrapyd, "addversion.json", [("project", "newsarchive"), ("version", "1")],
                     {"egg": build_egg(tmp_path)})
        assert added["status"] == "ok" and added["spiders"] >= 2, added
        assert "sites" in call(scrapyd, "listspiders.json?project=newsarchive")["spiders"]
        job = call(scrapyd, "schedule.json", [("project", "newsarchive"), ("spider", "sites"),
                                              ("sites_file", str(sites_file)), ("setting", f"ARCHIVE_URI={store}")])
        assert job["status"] == "ok", job
        deadline = time.monotonic() + 180
        while True:
            jobs = call(scrapyd, "listjobs.json?project=newsarchive")
            if any(j["id"] == job["jobid"] for j in jobs["finished"]):
                break
            assert time.monotonic() < deadline, jobs
            time.sleep(1)

    archive = LocalDirStore(store)
    captured = [a for a in site.articles if list_captures(archive, served(a.path))]
    assert len(captured) == len(site.articles)
    assert len(list((store / "runs").glob("crawl-sites/*/summary.json"))) == 1
