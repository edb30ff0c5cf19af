"""`ls`, `history`, `diff`, `index --rebuild` and the Parquet export against S3: moto and Ceph RGW."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.newssite import NewsSite
from tests.servers import Site


@pytest.mark.parametrize("s3_backend", ["moto", "rgw"], indirect=True)
def test_finding_and_exporting_from_s3(cli: Any, news: tuple[NewsSite, Site], s3_backend: Any, bucket: str,
                                       tmp_path: Path) -> None:
    site, served = news
    env = {**s3_backend.env, "AWS_ENDPOINT_URL": s3_backend.endpoint_url, "NEWSARCHIVE_S3_ADDRESSING_STYLE": "path",
           "NEWSARCHIVE_STORE": f"s3://{bucket}/archive"}
    urls = [served(a.path) for a in site.articles[:3]]
    assert cli("archive", *urls, env=env).returncode == 0
    page = site.root / site.articles[0].path.lstrip("/")
    page.write_text(page.read_text().replace("Paragraph 2 of story 0:", "Paragraph 2 of story 0, corrected:"))
    assert cli("archive", urls[0], env=env).returncode == 0

    listed = [json.loads(line) for line in cli("ls", "--json", env=env).stdout.decode().splitlines()]
    assert sorted(e["identity_url"] for e in listed) == sorted(urls)
    assert {e["identity_url"]: e["captures"] for e in listed}[urls[0]] == 2
    history = json.loads(cli("history", urls[0], "--json", env=env).stdout)["captures"]
    # "0:" became "0, corrected:": one word out, two in
    assert (history[0]["changes"]["words_added"], history[0]["changes"]["words_removed"]) == (2, 1)
    diff = json.loads(cli("diff", urls[0], "--json", env=env).stdout)
    changed = [b for b in diff["text"]["blocks"] if b["op"] != "equal"]
    assert len(changed) == 1 and changed[0]["old"][0].startswith("Paragraph 2 of story 0: ")
    assert [w for w in changed[0]["words"][0] if w["op"] != "equal"] == \
        [{"op": "delete", "text": "0:"}, {"op": "insert", "text": "0, corrected:"}]

    target = tmp_path / "captures.parquet"
    assert cli("export", "--format", "parquet", "-o", str(target), env=env).returncode == 0
    with duckdb.connect() as db:
        rows = db.execute("select identity_url, text, warc from read_parquet(?)", [str(target)]).fetchall()
    assert len(rows) == 4 and all(warc.startswith(f"s3://{bucket}/archive/") for _, _, warc in rows)
    assert sum("corrected:" in text for _, text, _ in rows) == 1

    rebuilt = cli("index", "--rebuild", env=env)
    assert rebuilt.returncode == 0 and "4 capture(s)" in rebuilt.stderr.decode()
    again = [json.loads(line) for line in cli("ls", "--json", env=env).stdout.decode().splitlines()]
    assert again == listed
