"""The `newsarchive` command (also `python -m crawler`): a thin layer over the library.

    newsarchive archive URL [URL ...] [--store URI] [--json] [--redis URL [--job NAME]]
    newsarchive crawl --sites sites.toml [SITE ...] [--store URI] [--job NAME] [--redis URL]
    newsarchive spool status|flush [--store URI]
    newsarchive show URL [--store URI] [--raw | --json | --warc | --list] [--capture ID]
    newsarchive export --format warc|wacz|cdxj|jsonl|parquet [-o FILE] [--store URI] [SELECTION] [--latest]
    newsarchive ls [--store URI] [SELECTION] [--json]
    newsarchive index --rebuild [--store URI] [--host H]
    newsarchive history URL [--store URI] [--json]
    newsarchive diff URL [--from ID] [--to ID] [--json] [--exit-code] [--color auto|always|never]
    newsarchive serve [--store URI] [--host 127.0.0.1] [--port 8000]
    newsarchive extract PAGE.html [--url URL] [--json]
    SELECTION: [--host H] [--site S] [--url-prefix U] [--since DATE] [--until DATE] [--kind K] [--changed]

Each subcommand parses its arguments, builds settings and calls one function. Our own
errors become one line, "Error: ...". Exit codes, the same for every command: 0 done, 1 a
URL or the store failed, 2 a usage error (bad arguments, no URLs, an unreadable input or
sites file, an unusable store URI), 3 and 4 a partial or raw-only capture (archive, extract:
crawler.cli.output), 75 a crawl whose job is already running; `diff --exit-code` 1 when the
captures differ.
Settings are layered: settings/ < NEWSARCHIVE_* environment < command-line flags.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler import __version__
from crawler.store.base import StoreError

STORE_HELP = "local folder, file:///path or s3://bucket/prefix (default: ./archive, or $NEWSARCHIVE_STORE)"


class CLIError(Exception):
    """An error to show as one line, exit code 1."""


class UsageError(CLIError):
    """What the command line asked for cannot be done as asked: one line, exit code 2 (as argparse's own)."""


def _setting_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def _store_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("storage")
    group.add_argument("--store", metavar="URI", help=STORE_HELP)
    group.add_argument("--endpoint-url", metavar="URL",
                       help="S3-compatible endpoint (MinIO, Ceph, R2...); default: $AWS_ENDPOINT_URL or AWS")
    group.add_argument("--region", help="S3 region (default: boto3's, e.g. $AWS_DEFAULT_REGION)")
    group.add_argument("--s3-addressing-style", choices=("auto", "path", "virtual"),
                       help="'path' for most self-hosted servers (default: auto)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsarchive", description="Archive news pages: raw HTML, clean text and metadata."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    store = _store_options()

    archive = commands.add_parser("archive", parents=[store], help="fetch URLs and archive them",
                                  description="Fetch each URL with the project's spider and store one capture per URL.")
    archive.add_argument("urls", nargs="*", metavar="URL")
    archive.add_argument("-i", "--input", metavar="FILE", help="read URLs from FILE, one per line ('-': stdin)")
    archive.add_argument("--json", action="store_true", help="print one JSON object per URL")
    rendering = archive.add_mutually_exclusive_group()
    rendering.add_argument("--render", dest="render", action="store_const", const="always",
                           help="render every page in a browser (Chromium) and extract the text from its DOM")
    rendering.add_argument("--render-auto", dest="render", action="store_const", const="auto",
                           help="render only pages whose HTML holds no article text and looks like an app shell")
    archive.add_argument("--redis", metavar="URL", help="queue the URLs for a fleet's crawl (`crawl --redis`) "
                         "instead of fetching them here")
    archive.add_argument("--job", help="with --redis: the fleet's job (default: crawl-sites, the default for "
                         "sites.toml)")
    archive.add_argument("-s", "--set", dest="settings", action="append", default=[], type=_setting_pair,
                         metavar="NAME=VALUE", help="override a Scrapy/newsarchive setting (repeatable)")
    archive.add_argument("-v", "--verbose", action="count", default=0,
                         help="show the crawl log: -v warnings, -vv info, -vvv debug")

    crawl = commands.add_parser("crawl", parents=[store], help="a scheduled crawl of the sites in a sites file",
                                description="Discover articles from feeds, sitemaps and section pages; archive "
                                            "what is new or changed; write a run manifest; print the summary.")
    crawl.add_argument("--sites", required=True, metavar="FILE", help="the sites file (TOML, [[site]] tables)")
    crawl.add_argument("names", nargs="*", metavar="SITE", help="only these sites (default: all)")
    crawl.add_argument("--job", help="the job's name, for its lock and run folder (default: crawl-<file>[-SITE...])")
    crawl.add_argument("--max-minutes", type=float, help="stop the run after this many minutes")
    crawl.add_argument("--max-items", type=int, help="stop the run after this many captures")
    crawl.add_argument("--redis", metavar="URL", help="join the job's fleet: one frontier in Redis shared by every "
                       "process started with the same URL and job (redis://host:6379/0)")
    crawl.add_argument("--json", action="store_true", help="print the summary as JSON")
    crawl.add_argument("-s", "--set", dest="settings", action="append", default=[], type=_setting_pair,
                       metavar="NAME=VALUE", help="override a Scrapy/newsarchive setting (repeatable)")
    crawl.add_argument("-v", "--verbose", action="count", default=0,
                       help="show the crawl log: -v warnings, -vv info, -vvv debug")

    show = commands.add_parser("show", parents=[store], help="read a URL's captures back",
                               description="List a URL's captures (newest first) and print the newest text.")
    show.add_argument("url", metavar="URL")
    show.add_argument("--capture", metavar="ID", help="a capture id from --list (default: the newest)")
    mode = show.add_mutually_exclusive_group()
    mode.add_argument("--raw", action="store_true",
                      help="write the response body as received (content-decoded: what the extractor read)")
    mode.add_argument("--dom", action="store_true",
                      help="write the DOM the page's scripts built (a capture rendered in a browser), UTF-8")
    mode.add_argument("--json", action="store_true", help="print the capture record")
    mode.add_argument("--warc", action="store_true", help="write the capture's WARC file, as stored")
    mode.add_argument("--list", action="store_true", help="only list the captures")

    spool = commands.add_parser("spool", parents=[store], help="captures waiting for an unreachable store",
                                description="Captures the store could not take wait in a local spool; each run "
                                            "replays it first. 'status' lists it, 'flush' replays it now.")
    spool.add_argument("action", choices=("status", "flush"))
    spool.add_argument("-s", "--set", dest="settings", action="append", default=[], type=_setting_pair,
                       metavar="NAME=VALUE", help="override a setting (e.g. ARCHIVE_SPOOL_DIR)")

    export = commands.add_parser(
        "export", parents=[store], help="captures out as one WARC, a CDXJ index or a WACZ",
        description="Write the store's captures (or a selection) as one WARC file, a CDXJ index whose "
                    "filenames are the captures' keys (pywb replays from the store), or a WACZ package.")
    export.add_argument("--format", required=True, choices=("warc", "wacz", "cdxj", "jsonl", "parquet"))
    export.add_argument("-o", "--output", metavar="FILE", help="where to write ('-' or none: stdout, for warc, "
                        "cdxj and jsonl)")
    _selection_options(export)
    export.add_argument("--latest", action="store_true", help="one capture per article: its newest selected one")

    ls = commands.add_parser("ls", parents=[store], help="list archived articles (from the catalog)",
                             description="List the archived articles with their newest capture, newest first, "
                                         "from the store's catalog.")
    _selection_options(ls)
    ls.add_argument("--json", action="store_true", help="one JSON object per article")

    index = commands.add_parser("index", parents=[store], help="the catalog: rebuild it from the captures",
                                description="Make the catalog (catalog/ in the store) again from the captures "
                                            "and pointers alone.")
    index.add_argument("--rebuild", action="store_true", required=True)
    index.add_argument("--host", help="only this host folder")

    history = commands.add_parser("history", parents=[store], help="an article's captures and what changed",
                                  description="List an article's captures, newest first, with what changed "
                                              "from the capture before.")
    history.add_argument("url", metavar="URL")
    history.add_argument("--json", action="store_true")

    diff = commands.add_parser("diff", parents=[store], help="the change between two captures of an article",
                               description="Show how an article's text and metadata changed between two captures "
                                           "(default: its two newest).")
    diff.add_argument("url", metavar="URL")
    diff.add_argument("--from", dest="from_id", metavar="ID", help="the older capture (default: the second newest)")
    diff.add_argument("--to", dest="to_id", metavar="ID", help="the newer capture (default: the newest)")
    diff.add_argument("--json", action="store_true")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when the captures differ (as git diff)")
    diff.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                      help="highlight changed words (auto: on a terminal)")

    serve = commands.add_parser("serve", parents=[store], help="a read-only web UI over the archive",
                                description="Browse the archive in a web browser: sites, articles, captures side "
                                            "by side, the archived pages (sandboxed), runs. Read-only.")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1, this "
                       "machine only)")
    serve.add_argument("--port", type=int, default=8000, help="the port (default: 8000; 0 picks a free one)")

    extract = commands.add_parser("extract", help="extract text from a saved page (no fetch, no store)")
    extract.add_argument("file", metavar="PAGE", help="an HTML file ('-' reads stdin)")
    extract.add_argument("--url", help="the page's URL (helps resolve links and metadata)")
    extract.add_argument("--content-type", help="the Content-Type header it was served with, if known")
    extract.add_argument("--json", action="store_true",
                         help="print the capture record fields (as `show --json`), outcome and text, as JSON")
    return parser


def _selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="only captures of this host folder (e.g. example.com, 127.0.0.1_8080)")
    parser.add_argument("--site", help="only captures a crawl made for this sites-file name")
    parser.add_argument("--url-prefix", metavar="URL", help="only captures whose URL starts with this")
    parser.add_argument("--since", metavar="DATE", help="only captures fetched at or after DATE (ISO 8601, UTC)")
    parser.add_argument("--until", metavar="DATE", help="only captures fetched before DATE (ISO 8601, UTC)")
    parser.add_argument("--kind", choices=("article", "index", "other"), help="only captures of this page kind")
    parser.add_argument("--changed", action="store_true", help="only articles whose text changed between captures")


def _selection(args: argparse.Namespace) -> Any:
    from crawler.store.selection import Selection

    return Selection(host=args.host.replace(":", "_") if args.host else None, url_prefix=args.url_prefix,
                     site=args.site, since=_when(args.since, "--since"), until=_when(args.until, "--until"),
                     kind=args.kind, changed=args.changed, latest=getattr(args, "latest", False))


def build_settings(args: argparse.Namespace) -> Any:
    """Project settings (with env overrides) plus this command line's flags."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("settings", priority="project")
    overrides: dict[str, Any] = dict(getattr(args, "settings", []) or [])
    for flag, name in (("store", "ARCHIVE_URI"), ("endpoint_url", "AWS_ENDPOINT_URL"), ("redis", "FLEET_REDIS_URL"),
                       ("region", "AWS_REGION_NAME"), ("s3_addressing_style", "ARCHIVE_S3_ADDRESSING_STYLE")):
        if getattr(args, flag, None):
            overrides[name] = getattr(args, flag)
    verbose = getattr(args, "verbose", None)
    if verbose is not None and "LOG_LEVEL" not in overrides:
        # Quiet by default: each URL gets its own result line; -v shows the crawl log.
        overrides["LOG_LEVEL"] = ("CRITICAL", "WARNING", "INFO", "DEBUG")[min(verbose, 3)]
    settings.setdict(overrides, priority="cmdline")
    return settings


def _open_store(settings: Any) -> Any:
    from crawler.store.base import store_from_settings

    try:
        return store_from_settings(settings)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _read_urls(args: argparse.Namespace) -> list[str]:
    urls = list(args.urls)
    if args.input:
        try:
            text = sys.stdin.read() if args.input == "-" else Path(args.input).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {args.input}: {exc.strerror or exc}") from None
        urls += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return urls


def cmd_archive(args: argparse.Namespace) -> int:
    from crawler.cli.runner import run_archive

    urls = _read_urls(args)
    if not urls:
        raise UsageError("no URLs given (pass URLs as arguments or with --input FILE)")
    settings = build_settings(args)
    if settings.get("FLEET_REDIS_URL"):
        from crawler.spiders.sites import default_job

        if args.render:
            raise UsageError("--render with --redis: the fleet renders as its sites file says (render = ...)")
        job = args.job or default_job("sites.toml", [])  # the job `crawl --sites sites.toml` runs
        return push_to_fleet(urls, settings.get("FLEET_REDIS_URL"), job)
    settings.set("ARCHIVE_SKIP_UNCHANGED", False, priority="cmdline")  # asked for: always captured
    if len(urls) < 4 and settings.getpriority("EXTRACT_WORKERS") < 40:  # not set on the command line
        settings.set("EXTRACT_WORKERS", 0, priority="cmdline")  # a few pages: workers would cost more
    return run_archive(urls, settings, _open_store(settings), as_json=args.json, render=args.render)


def push_to_fleet(urls: list[str], redis_url: str, job: str) -> int:
    """Queue `urls` for the job's fleet; the crawl processes fetch and archive them."""
    from crawler.fleet.frontier import FleetError, connect, fleet_status, push_urls, redact
    from crawler.model.urls import BadURLError, check_url
    from crawler.spiders.sites import encode_one_off

    good, failed = [], 0
    for url in dict.fromkeys(urls):
        try:
            good.append(check_url(url))
        except BadURLError as exc:
            print(f"failed    {url}: {exc}")
            failed += 1
    try:
        client = connect(redis_url)
        length = push_urls(client, job, [encode_one_off(url) for url in good])
        status = fleet_status(client, job)
    except FleetError as exc:
        raise CLIError(str(exc)) from None
    for url in good:
        print(f"queued    {url}")
    running = (f"run {status['run_id']} has {len(status['workers'])} process(es)" if status["run_id"]
               else "no run is active: the next `newsarchive crawl --redis` run fetches them")
    print(f"Queued {len(good)} URL(s) for fleet job {job} at {redact(redis_url)} ({length} waiting; {running})",
          file=sys.stderr)
    return 1 if failed else 0


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.cli.runner import run_crawl
    from crawler.planning.sitesfile import SiteConfigError, load_sites
    from crawler.spiders.sites import default_job

    try:
        sites = load_sites(Path(args.sites), args.names)
    except SiteConfigError as exc:
        raise UsageError(str(exc)) from None
    settings = build_settings(args)
    if args.max_minutes:
        settings.set("CLOSESPIDER_TIMEOUT", args.max_minutes * 60, priority="cmdline")
    if args.max_items:
        settings.set("CLOSESPIDER_ITEMCOUNT", args.max_items, priority="cmdline")
    job = args.job or default_job(args.sites, args.names)
    return run_crawl(sites, settings, _open_store(settings), job=job, as_json=args.json)


def cmd_spool(args: argparse.Namespace) -> int:
    from crawler.store.catalog import catalog_writer
    from crawler.store.spool import spool_for

    settings = build_settings(args)
    store = _open_store(settings)
    spool = spool_for(settings, store)
    entries = spool.entries()
    if args.action == "status":
        print(f"{len(entries)} capture(s) waiting in {spool.path} for {store.location('')}")
        for entry in entries:
            info = json.loads((entry / "entry.json").read_text(encoding="utf-8"))
            print(f"  {info.get('capture_id')}  {info.get('url')}  ({info.get('reason')})")
        return 0
    store.check()
    catalog = catalog_writer(settings, store)
    result = spool.flush(store, catalog=catalog)
    catalog.close()
    print(f"{result.written} capture(s) written to {store.location('')}, {result.remaining} left in {spool.path}")
    if result.error:
        raise CLIError(f"the store failed again: {result.error}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from crawler.store.captures import list_captures, read_capture

    settings = build_settings(args)
    store = _open_store(settings)
    refs = list_captures(store, args.url)
    if not refs:
        raise CLIError(f"no captures of {args.url} in {settings.get('ARCHIVE_URI')}")
    chosen = [r for r in refs if r.capture_id == args.capture] if args.capture else refs[:1]
    if not chosen:
        raise CLIError(f"no capture {args.capture} of {args.url} (see --list)")
    ref = chosen[0]
    if args.warc:
        if not ref.is_warc:
            raise CLIError(f"capture {ref.capture_id} of {args.url} was stored before captures were WARC files "
                           "(use --raw and --json)")
        sys.stdout.buffer.write(store.get(ref.key))
        sys.stdout.buffer.flush()
        return 0
    if args.list or not (args.raw or args.json or args.dom):
        listing = sys.stdout if args.list else sys.stderr
        listing.write(f"{len(refs)} capture(s) of {args.url}, newest first:\n")
        for other in refs:
            record = read_capture(store, other).record
            chars = (record.get("text") or {}).get("chars", 0)
            flag = f"  [{record['problem']}]" if record.get("problem") else ""
            listing.write(f"  {other.capture_id}  {record.get('status')}  {chars:>6} chars  "
                          f"{record.get('title') or '(no title)'}{flag}\n")
        if args.list:
            return 0
    capture = read_capture(store, ref)
    if args.json:
        sys.stdout.write(json.dumps(capture.record, ensure_ascii=False, indent=2) + "\n")
    elif args.raw or args.dom:
        if args.dom and capture.dom is None:
            raise CLIError(f"capture {ref.capture_id} of {args.url} was not rendered in a browser "
                           f"({(capture.record.get('rendered') or {}).get('error') or 'rendering is off'}); "
                           "use --raw for the page as fetched")
        sys.stdout.buffer.write(capture.dom if args.dom and capture.dom is not None else capture.body)
        sys.stdout.buffer.flush()
    else:
        if capture.text is None:
            raise CLIError(f"capture {ref.capture_id} of {args.url} has no text "
                           f"({capture.record.get('problem')}); use --raw for the page itself")
        sys.stdout.write(capture.text + "\n")
    return 0


def _when(text: str | None, flag: str) -> datetime | None:
    from crawler.model.dates import parse_timestamp

    if text is None:
        return None
    when = parse_timestamp(text)
    if when is None:
        raise UsageError(f"{flag} {text!r} is not a date (use ISO 8601: 2026-12-01 or 2026-12-01T08:00:00Z)")
    return when


def cmd_export(args: argparse.Namespace) -> int:
    output = args.output or "-"
    if output == "-" and args.format in ("wacz", "parquet"):
        raise UsageError(f"a {args.format} file cannot go to stdout: give it a file name with -o")
    selection = _selection(args)
    store = _open_store(build_settings(args))
    if args.format in ("jsonl", "parquet"):
        return _export_dataset(store, selection, args.format, output)
    from crawler.store.export import export_cdxj, export_wacz, export_warc

    target = Path(output)
    if output == "-":
        summary = (export_warc(store, selection, sys.stdout.buffer) if args.format == "warc"
                   else export_cdxj(store, selection, sys.stdout))
        sys.stdout.flush()
    elif args.format == "wacz":
        summary = export_wacz(store, selection, target)
    else:
        with _written_whole(target, binary=args.format == "warc") as out:
            summary = export_warc(store, selection, out) if args.format == "warc" else export_cdxj(
                store, selection, out)
    if summary.skipped_legacy:
        print(f"Warning: {summary.skipped_legacy} capture(s) stored before captures were WARC files were left out",
              file=sys.stderr)
    if not summary.captures:
        if output != "-" and args.format != "wacz":
            target.unlink(missing_ok=True)
        raise CLIError(f"no captures in {store.location('')} match the selection")
    print(f"Exported {summary.captures} capture(s), {summary.bytes} bytes of WARC, as {args.format} to "
          f"{output}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _written_whole(target: Path, *, binary: bool) -> Iterator[Any]:
    """A file written under a temporary name beside `target`, renamed to it once complete."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("wb" if binary else "w", encoding=None if binary else "utf-8") as out:
            yield out
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _export_dataset(store: Any, selection: Any, fmt: str, output: str) -> int:
    from tqdm import tqdm

    from crawler.store.dataset import DATASET_COLUMNS, export_jsonl, export_parquet
    from crawler.store.selection import selected_captures

    rows = list(selected_captures(store, selection, DATASET_COLUMNS))  # catalog rows only: small beside the texts
    if not rows:
        raise CLIError(f"no captures in {store.location('')} match the selection")
    with tqdm(total=len(rows), unit="capture", disable=not sys.stderr.isatty(), file=sys.stderr) as bar:
        if output == "-":
            summary = export_jsonl(store, rows, sys.stdout, bar.update)
            sys.stdout.flush()
        else:
            with _written_whole(Path(output), binary=fmt == "parquet") as out:
                summary = (export_parquet(store, rows, out, bar.update) if fmt == "parquet"
                           else export_jsonl(store, rows, out, bar.update))
    print(f"Exported {summary.rows} row(s), {summary.text_bytes} bytes of text, as {fmt} to {output}",
          file=sys.stderr)
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from crawler.cli.browse import list_articles

    store = _open_store(build_settings(args))
    if not list_articles(store, _selection(args), sys.stdout, as_json=args.json):
        print(f"No archived articles in {store.location('')} match", file=sys.stderr)
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from crawler.cli.browse import rebuild

    return rebuild(_open_store(build_settings(args)), args.host.replace(":", "_") if args.host else None,
                   sys.stderr)


def cmd_history(args: argparse.Namespace) -> int:
    from crawler.cli.browse import NotFound, history

    try:
        history(_open_store(build_settings(args)), args.url, sys.stdout, as_json=args.json)
    except NotFound as exc:
        raise CLIError(str(exc)) from None
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from crawler.cli.browse import NotFound, diff, use_color

    try:
        differ = diff(_open_store(build_settings(args)), args.url, sys.stdout, from_id=args.from_id,
                      to_id=args.to_id, as_json=args.json, color=use_color(args.color, sys.stdout))
    except NotFound as exc:
        raise CLIError(str(exc)) from None
    return 1 if differ and args.exit_code else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from crawler.web.app import serve

    store = _open_store(build_settings(args))
    try:
        serve(store, args.host, args.port, out=sys.stderr)
    except OSError as exc:
        raise CLIError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from crawler.cli.output import exit_code, outcome_of
    from crawler.extraction.extract import ExtractOptions, extract_page
    from crawler.model.items import FetchedPage
    from crawler.store.records import page_record

    try:
        body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    options = ExtractOptions.from_settings(build_settings(args))
    headers = (("Content-Type", args.content_type),) if args.content_type else ()
    page = FetchedPage(requested_url=args.url or "", url=args.url or "", status=200,
                       headers=headers, body=body, fetched_at=datetime.now(UTC))
    result = extract_page(page, options)
    text = result.extraction.text if result.extraction else ""
    outcome = outcome_of(result.problem, bool(text))
    if args.json:
        sys.stdout.write(json.dumps({**page_record(result), "outcome": outcome, "article_text": text},
                                    ensure_ascii=False, indent=2) + "\n")
    elif text:
        sys.stdout.write(text + "\n")
    if result.problem:
        print(f"{outcome}: {args.file}: {result.problem}", file=sys.stderr)
    return exit_code([outcome])


COMMANDS = {"archive": cmd_archive, "crawl": cmd_crawl, "spool": cmd_spool, "show": cmd_show,
            "export": cmd_export, "extract": cmd_extract, "ls": cmd_ls, "index": cmd_index, "history": cmd_history,
            "diff": cmd_diff, "serve": cmd_serve}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except (CLIError, StoreError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
