"""`newsarchive serve`: a read-only web UI over a store (Flask, served by waitress).

Pages: home (sites, counts, last run, captures per day), a site's articles (filters, title
search), an article (metadata, capture timeline, a capture's text, a diff of any two), the
archived page itself, runs. Nothing writes: any method but GET and HEAD answers 405.

Archived pages are hostile. They are served from /raw with `Content-Security-Policy: sandbox`
(a unique origin: no access to the UI's cookies, DOM or same-origin requests), no scripts
unless the scripted view is asked for (then `sandbox allow-scripts`, still without
`allow-same-origin`), and no network at all (`default-src 'none'`: an archived page cannot
load from the live web or from the UI). The UI's own pages carry no script and forbid any
(`script-src 'none'`); every value from a capture goes through Jinja's escaping.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, Response, abort, render_template, request, url_for

from crawler.model.changes import metadata_changes, text_diff
from crawler.store.base import ObjectNotFound, Store
from crawler.web.archive import Filters, WebArchive, headers_of
from crawler.web.chart import captures_chart

PAGE_SIZE = 100
UI_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; script-src 'none'; "
          "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
RAW_CSP = ("sandbox{scripts}; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
           "{script_src}form-action 'none'; base-uri 'none'; frame-ancestors 'self'")


def raw_csp(scripts: bool) -> str:
    return RAW_CSP.format(scripts=" allow-scripts" if scripts else "",
                          script_src="script-src 'unsafe-inline'; " if scripts else "")


def create_app(store: Store, *, ttl: float | None = None) -> Flask:
    app = Flask(__name__)
    archive = WebArchive(store) if ttl is None else WebArchive(store, ttl)
    app.config["ARCHIVE"] = archive

    @app.before_request
    def read_only() -> None:
        if request.method not in ("GET", "HEAD"):
            abort(405)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", UI_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if response.status_code == 405:
            response.headers["Allow"] = "GET, HEAD"
        return response

    @app.get("/")
    def home() -> str:
        days, series = archive.captures_per_day()
        return render_template("home.html", sites=archive.sites(), chart=captures_chart(days, series),
                               store=store.location(""))

    @app.get("/site/<name>")
    def site(name: str) -> str:
        listed = archive.snapshot().by_site.get(name)
        if listed is None:
            abort(404)
        filters = Filters(since=_date("since"), until=_date("until"), kind=request.args.get("kind") or None,
                          access=request.args.get("access") or None, changed=request.args.get("changed") == "1",
                          query=request.args.get("q", "").strip())
        chosen = [a for a in listed if filters.wants(a)]
        asked = request.args.get("page", "1")
        page = int(asked) if asked.isdigit() and int(asked) > 0 else 1
        shown = chosen[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        return render_template("site.html", name=name, articles=shown, total=len(chosen), page=page,
                               pages=max((len(chosen) + PAGE_SIZE - 1) // PAGE_SIZE, 1), filters=filters,
                               args=request.args)

    @app.get("/article")
    def article() -> str:
        url = _arg("url")
        refs = archive.captures(url)
        if not refs:
            abort(404)
        found = archive.capture(url, request.args.get("capture"))
        if found is None:
            abort(404)
        ref, capture = found
        return render_template("article.html", url=url, refs=refs, ref=ref, capture=capture,
                               record=capture.record, known=archive.article(url))

    @app.get("/diff")
    def diff() -> str:
        url = _arg("url")
        refs = archive.captures(url)
        if len(refs) < 1:
            abort(404)
        new_id = request.args.get("to") or refs[0].capture_id
        old_id = request.args.get("from") or (refs[1].capture_id if len(refs) > 1 else refs[0].capture_id)
        old, new = archive.capture(url, old_id), archive.capture(url, new_id)
        if old is None or new is None:
            abort(404)
        return render_template("diff.html", url=url, refs=refs, old=old, new=new,
                               meta=metadata_changes(old[1].record, new[1].record),
                               diff=text_diff(old[1].text, new[1].text))

    @app.get("/page")
    def page() -> str:
        url = _arg("url")
        found = archive.capture(url, request.args.get("capture"))
        if found is None:
            abort(404)
        ref, capture = found
        scripts = request.args.get("scripts") == "1"
        # a page rendered in a browser shows as the reader saw it (its DOM), unless asked for as fetched
        rendered = capture.dom is not None and request.args.get("view") != "fetched"
        return render_template("page.html", url=url, ref=ref, record=capture.record, scripts=scripts,
                               has_dom=capture.dom is not None, rendered=rendered,
                               frame=url_for("raw", url=url, capture=ref.capture_id, scripts="1" if scripts else "0",
                                             view="rendered" if rendered else None))

    @app.get("/raw")
    def raw() -> Response:
        url = _arg("url")
        found = archive.capture(url, request.args.get("capture"))
        if found is None:
            abort(404)
        _, capture = found
        record = capture.record
        if request.args.get("view") == "rendered":
            if capture.dom is None:
                abort(404)
            response = Response(capture.dom, content_type="text/html; charset=utf-8")
        else:
            media = record.get("content_type") or "application/octet-stream"
            charset = record.get("encoding")
            kind = f"{media}; charset={charset}" if charset and media.startswith("text/") else media
            response = Response(capture.body, content_type=kind)
        response.headers["Content-Security-Policy"] = raw_csp(request.args.get("scripts") == "1")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/warc")
    def warc() -> Response:
        url = _arg("url")
        ref = next((r for r in archive.captures(url) if r.capture_id == request.args.get("capture")), None)
        if ref is None or not ref.is_warc:
            abort(404)
        try:
            data = archive.warc(ref)
        except ObjectNotFound:
            abort(404)
        return Response(data, content_type="application/warc", headers={
            "Content-Disposition": f'attachment; filename="{ref.capture_id}.warc.gz"'})

    @app.get("/runs")
    def runs() -> str:
        return render_template("runs.html", runs=archive.runs())

    app.jinja_env.globals["headers_of"] = headers_of
    return app


def _arg(name: str) -> str:
    value = request.args.get(name, "")
    if not value:
        abort(400)
    return value


def _date(name: str) -> date | None:
    value = request.args.get(name, "")
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        abort(400)


def serve(store: Store, host: str, port: int, *, out: Any) -> None:
    """Serve the UI until interrupted; say where, and warn when reachable from other machines."""
    from waitress import create_server

    server = create_server(create_app(store), host=host, port=port, threads=8, ident="newsarchive")
    shown = f"[{host}]" if ":" in host else host
    bound = f"http://{shown}:{server.effective_port}/"
    out.write(f"Serving {store.location('')} read-only at {bound} (Ctrl-C stops)\n")
    if host not in ("127.0.0.1", "localhost", "::1"):
        out.write(f"Warning: listening on {host}: anyone who can reach this machine can read the archive. "
                  "Put it behind a reverse proxy with authentication (README, \"Web UI\").\n")
    out.flush()
    server.run()
