"""Exports as archivists use them: one WARC that a real pywb replays, a CDXJ index that lets pywb
replay straight from the store, a WACZ that the `wacz` package validates. pywb and wacz run from
their own venv (.venv-tools, made by tests/install.sh)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.servers import Site

TOOLS = REPO / ".venv-tools" / "bin"
PLAIN = "/news/2026/11/drone-strike-izhevsk.html"
ENCODED = "/gzip/news/2026/11/conseil-municipal-budget.html"
FINAL = "/news/2026/02/ukraine-strikes-missile-factory.html"
REDIRECT = f"/redirect?to={FINAL}"


def tool(name: str) -> str:
    path = TOOLS / name
    assert path.exists(), f"{path} is missing: run tests/install.sh (it installs pywb and wacz there)"
    return str(path)


@contextlib.contextmanager
def pywb(folder: Path) -> Iterator[str]:
    """A real pywb serving the collections under `folder`; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (folder / "pywb.log").open("wb")
    server = subprocess.Popen([tool("pywb"), "-p", str(port), "-b", "127.0.0.1"], cwd=folder,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (folder / "pywb.log").read_text()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "pywb did not start"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def get(url: str, *, gzip_ok: bool = False, follow: bool = True) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body exactly as sent (urllib never decodes Content-Encoding)."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def exported(site: Site, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A plain page, a gzip-encoded page and a redirected URL archived into a local store, then
    exported in each format."""
    from tests.conftest import run_cli

    folder = tmp_path_factory.mktemp("export")
    store = folder / "store"
    archived = run_cli(["archive", site(PLAIN), site(ENCODED), site(REDIRECT), "--store", str(store)], cwd=folder)
    assert archived.returncode == 0, archived.stdout.decode() + archived.stderr.decode()
    files = {"store": store}
    for fmt, name in (("warc", "all.warc.gz"), ("cdxj", "index.cdxj"), ("wacz", "all.wacz")):
        proc = run_cli(["export", "--format", fmt, "-o", name, "--store", str(store)], cwd=folder)
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stderr.decode().startswith("Exported 3 capture(s)")
        files[fmt] = folder / name
    return files


def test_the_exported_warc_passes_warcio_check(exported: dict[str, Path]) -> None:
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", str(exported["warc"])],
                           capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(b"digest pass") >= 3 * 5 and b"digest fail" not in check.stdout


def test_pywb_replays_the_exported_warc_as_it_was_served(exported: dict[str, Path], site: Site,
                                                         tmp_path: Path) -> None:
    subprocess.run([tool("wb-manager"), "init", "news"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run([tool("wb-manager"), "add", "news", str(exported["warc"])], cwd=tmp_path, check=True,
                   capture_output=True)
    with pywb(tmp_path) as base:
        status, _, body = get(f"{base}/news/2026id_/{site(PLAIN)}")
        assert status == 200 and body == site.served_bytes(PLAIN)
        # the gzip-encoded page, to a client that takes gzip: the very bytes the site sent
        status, headers, body = get(f"{base}/news/2026id_/{site(ENCODED)}", gzip_ok=True)
        assert status == 200 and headers.get("Content-Encoding") == "gzip"
        assert body == site.served_gzip(ENCODED.removeprefix("/gzip"))
        # the redirect as the site answered it, then the page it led to
        status, headers, _ = get(f"{base}/news/2026id_/{site(REDIRECT)}", follow=False)
        assert status == 302 and headers["Location"] == FINAL
        status, _, body = get(f"{base}/news/2026id_/{site(FINAL)}")
        assert status == 200 and body == site.served_bytes(FINAL)
        # rewritten replay of the redirected URL lands on the article and shows its headline
        status, _, body = get(f"{base}/news/2026mp_/{site(REDIRECT)}")
        page = body.decode("utf-8")
        assert status == 200 and "Ukraine strikes deep inside Russia hitting key missile factory</h1>" in page
        assert "wombat" in page  # pywb's rewriting is in place: this is replay, not the raw file
        # the capture record and the text are indexed under URNs, never served for the page itself
        status, _, body = get(f"{base}/news/2026id_/{site(PLAIN)}")
        assert not body.lstrip().startswith(b"{")


def test_pywb_replays_straight_from_the_store_with_the_cdxj_index(exported: dict[str, Path], site: Site,
                                                                  tmp_path: Path) -> None:
    lines = exported["cdxj"].read_text().splitlines()
    assert lines == sorted(lines) and all(json.loads(line.split(" ", 2)[2])["filename"].endswith(".warc.gz")
                                          for line in lines)
    (tmp_path / "indexes").mkdir()
    (tmp_path / "indexes" / "index.cdxj").write_text(exported["cdxj"].read_text())
    (tmp_path / "config.yaml").write_text(
        f"collections:\n  store:\n    index_paths: {tmp_path / 'indexes'}/\n    archive_paths: {exported['store']}/\n")
    with pywb(tmp_path) as base:
        status, _, body = get(f"{base}/store/2026id_/{site(PLAIN)}")
        assert status == 200 and body == site.served_bytes(PLAIN)


def test_the_wacz_validates_and_holds_what_the_spec_asks(exported: dict[str, Path], tmp_path: Path) -> None:
    validate = subprocess.run([tool("wacz"), "validate", "-f", str(exported["wacz"])], capture_output=True)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    with zipfile.ZipFile(exported["wacz"]) as wacz:
        names = set(wacz.namelist())
        package = json.loads(wacz.read("datapackage.json"))
        pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
        assert wacz.getinfo("archive/data.warc.gz").compress_type == zipfile.ZIP_STORED
    assert names == {"archive/data.warc.gz", "indexes/index.cdxj", "pages/pages.jsonl", "datapackage.json",
                     "datapackage-digest.json"}
    assert package["wacz_version"] == "1.1.1" and {r["path"] for r in package["resources"]} == names - {
        "datapackage.json", "datapackage-digest.json"}
    assert pages[0]["format"] == "json-pages-1.0" and len(pages) == 1 + 3
    assert {p["title"] for p in pages[1:]} >= {"Ukraine strikes deep inside Russia hitting key missile factory"}

    # the validator is not a rubber stamp: a WACZ whose WARC no longer matches its hash fails
    tampered = tmp_path / "tampered.wacz"
    with zipfile.ZipFile(exported["wacz"]) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data + b"\n" if item.filename == "pages/pages.jsonl" else data)
    assert subprocess.run([tool("wacz"), "validate", "-f", str(tampered)], capture_output=True).returncode != 0


def test_a_selection_exports_only_what_it_names(exported: dict[str, Path], site: Site, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    store = str(exported["store"])
    one = run_cli(["export", "--format", "cdxj", "-o", "-", "--store", store, "--url-prefix", site(PLAIN)],
                  cwd=tmp_path)
    assert one.returncode == 0 and one.stderr.decode().startswith("Exported 1 capture(s)")
    assert {json.loads(line.split(" ", 2)[2])["url"] for line in one.stdout.decode().splitlines()
            if "urn:" not in line} == {site(PLAIN)}
    later = run_cli(["export", "--format", "warc", "-o", "later.warc.gz", "--store", store,
                     "--since", "2099-01-01"], cwd=tmp_path)
    assert later.returncode == 1 and "no captures" in later.stderr.decode()
    assert not (tmp_path / "later.warc.gz").exists()
    bad = run_cli(["export", "--format", "warc", "-o", "x", "--store", store, "--since", "yesterday"], cwd=tmp_path)
    assert bad.returncode == 2 and "--since 'yesterday' is not a date" in bad.stderr.decode()
