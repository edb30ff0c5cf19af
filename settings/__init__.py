"""Project settings, shared by `newsarchive`, `scrapy crawl` and scrapyd.

Flat and grouped by prefix. `NEWSARCHIVE_*` environment variables override a few of
them (see settings/env.py); command-line flags override both.
"""

import os as _os

from settings.env import overrides_from_env as _overrides_from_env

# --- Archive: where captures go -------------------------------------------------------
# Local path, file:// URI or s3://bucket/prefix. Default: ./archive, no cloud account needed.
ARCHIVE_URI = "archive"
# Store backends by URI scheme (class paths with from_uri(uri, settings)), as Scrapy's FEED_STORAGES:
# add a scheme or replace one in ARCHIVE_STORES; "" is a plain local path.
ARCHIVE_STORES_BASE = {
    "": "crawler.store.local.LocalDirStore",
    "file": "crawler.store.local.LocalDirStore",
    "s3": "crawler.store.s3.S3Store",
}
ARCHIVE_STORES: dict[str, str] = {}
# "auto", "path" (MinIO, Ceph and most self-hosted servers) or "virtual".
ARCHIVE_S3_ADDRESSING_STYLE = "auto"
# A page whose text equals its newest capture's writes no new capture (scheduled crawls).
# `newsarchive archive` turns this off: a capture asked for by a person is always written.
ARCHIVE_SKIP_UNCHANGED = True
# Scrapy's own names; None lets boto3 use its standard chain (env, config file, role).
AWS_ENDPOINT_URL = None
AWS_REGION_NAME = None
# Attempts per S3 call (boto3 retries with backoff) before the store counts as unreachable.
ARCHIVE_S3_MAX_ATTEMPTS = 4
# Captures the store cannot take wait here (default ~/.local/state/newsarchive/spool).
ARCHIVE_SPOOL_DIR = None
# After a store failure, send captures straight to the spool for this many seconds.
ARCHIVE_STORE_COOLDOWN = 30
# The catalog (crawler/store/catalog.py): one row per capture and per unchanged check, written
# as Parquet segments under catalog/{host}/ every CATALOG_FLUSH_ROWS rows or CATALOG_FLUSH_SECONDS
# seconds and at the end of a run; a host's segments are merged once it has more than
# CATALOG_COMPACT_AFTER. Crawls read it to decide what is due (CATALOG_DECISIONS).
CATALOG_ENABLED = True
CATALOG_FLUSH_ROWS = 2000
CATALOG_FLUSH_SECONDS = 60.0
CATALOG_COMPACT_AFTER = 16
CATALOG_DECISIONS = True

# --- Extraction -------------------------------------------------------------------------
# Include comment sections in the text (they are boilerplate for an archive).
EXTRACT_INCLUDE_COMMENTS = False
# Keep tables that belong to the article body.
EXTRACT_INCLUDE_TABLES = True
# trafilatura's precision mode: drop more, risk losing body paragraphs.
EXTRACT_FAVOR_PRECISION = False
# Fewer words than this is navigation or a caption, not an article: archived raw, flagged.
EXTRACT_MIN_WORDS = 25
# Worker processes for extraction: "auto" (one per CPU) or a number; 0 extracts in-process.
EXTRACT_WORKERS = "auto"

# --- Crawling: polite by default --------------------------------------------------------
BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# Identify the bot; operators should add a contact: NEWSARCHIVE_USER_AGENT or -s USER_AGENT=...
USER_AGENT = "newsarchive/0.1 (news archiving bot; +Scrapy)"
ROBOTSTXT_OBEY = True
# Scrapy's RobotsTxtMiddleware, fixed for concurrent requests to one host (crawler/middlewares.py).
DOWNLOADER_MIDDLEWARES = {
    "crawler.components.middlewares.PrivateAddressMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.components.middlewares.RobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.components.middlewares.MetaRefreshMiddleware": 580,
    # every hop as it crossed the wire (before redirects are followed and bodies decoded), for the WARC
    "crawler.components.middlewares.ExchangeRecorder": 650,
    # 429/503 with Retry-After pause the host (here and across a fleet); before Scrapy's retry (550)
    "crawler.components.middlewares.RetryAfterMiddleware": 560,
}
# Refuse URLs whose host resolves to a loopback, private, link-local or reserved address. Turn
# this on when others can submit URLs (a web form, a bot): NEWSARCHIVE_BLOCK_PRIVATE_ADDRESSES=1.
ARCHIVE_BLOCK_PRIVATE_ADDRESSES = False
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# A slow or stuck server fails the URL after this many seconds per attempt.
DOWNLOAD_TIMEOUT = 30
# Bigger responses are abandoned with a clear error: no news page is 32 MiB of HTML.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
RETRY_TIMES = 2
# A host answering 429 or 503 with Retry-After is paused for the time asked, at most this long
# (seconds); its request is retried after the pause (one of RETRY_TIMES).
RETRY_AFTER_ENABLED = True
RETRY_AFTER_MAX = 120.0
TELNETCONSOLE_ENABLED = False
# Scrapy's, minus the two DEBUG lines per page when LOG_LEVEL is above DEBUG (built for nothing).
LOG_FORMATTER = "crawler.components.logformatter.QuietLogFormatter"
# Scrapy starts this many asyncio tasks for every response's output; our callbacks yield one
# item per page, so Scrapy's default of 100 made ~100 tasks per page for nothing.
CONCURRENT_ITEMS = 16

# --- Rendering in a browser (crawler/components/rendering.py) --------------------------------
# Off unless a site says `render = "auto"` or "always" in the sites file, or `archive --render`.
# The browser: Debian's Chromium (tests/install.sh installs it), driven by scrapy-playwright.
RENDER_BROWSER = "/usr/bin/chromium"
# A page may take this long to load (seconds); then the page is archived as fetched, flagged.
RENDER_TIMEOUT = 20.0
# After the load event, scripts get this long for the network to go quiet (fetch() after load).
RENDER_SETTLE = 2.0
# A browser that has not answered this many seconds past those two is hung: it is closed and
# launched again (the page falls back to its fetched capture).
RENDER_HANG_GRACE = 15.0
# Browser pages open at once: in this process, and for one site.
RENDER_MAX_PAGES = 4
RENDER_MAX_PAGES_PER_SITE = 2
# Set by the spiders when something may be rendered (never by hand); RENDER_PLAIN_HANDLER is the
# download handler every other request keeps using.
RENDER_ENABLED = False
RENDER_PLAIN_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"

# --- Scheduled crawls ------------------------------------------------------------------
# The run: its job (lock and run folder), run id and site names. SitesSpider sets them
# (`newsarchive crawl` through --job; `scrapy crawl sites` from -a job / the sites file).
CRAWL_JOB = None
CRAWL_RUN_ID = None
CRAWL_SITES: list[str] = []
# A lock older than this (its run died) is taken over by the next run.
CRAWL_LOCK_TTL_HOURS = 6
# Write runs/<job>/<run_id>/manifest-*.jsonl and summary.json for each crawl run.
MANIFEST_ENABLED = True
# Run manifests are written in parts of this many lines: memory stays bounded.
MANIFEST_PART_LINES = 1000
EXTENSIONS = {
    # the crawl's one store, shared by the spider, the archive pipeline and the run manifest
    "crawler.components.store.ArchiveStore": 100,
    # one run of a job at a time (inactive without CRAWL_JOB, or in a fleet)
    "crawler.components.joblock.JobLockExtension": 400,
    "crawler.components.manifest.RunManifest": 500,
}

# --- Pipelines --------------------------------------------------------------------------
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 300,
    "pipelines.archive.ArchivePipeline": 800,
}

# --- Fleet: many crawl processes, one frontier in Redis (crawler/fleet.py) ----------------
# redis://host:6379/0 makes `newsarchive crawl` a member of the job's fleet (also --redis).
FLEET_REDIS_URL = None
# Seconds between two requests to one host, counted across every process of the fleet.
FLEET_DOMAIN_DELAY = 1.0
# A process whose heartbeat is this many seconds old is gone; its leased requests go back.
FLEET_WORKER_TTL = 30
# The run's duplicate filter expires this long after its last addition (a run that never ended).
FLEET_SEEN_TTL_HOURS = 48
# A run survives this many seconds without any process's heartbeat (every process died).
FLEET_RUN_TTL = 600
# Set by joining a fleet (crawler.fleet.components.fleet_settings), never by hand: the fleet's
# components are on, and this process's worker id (its own manifest parts and summary).
FLEET_ENABLED = False
FLEET_WORKER = None
# Inert (NotConfigured) unless the process is a member of a fleet; crawler.fleet.components.
# fleet_settings() adds the shared scheduler, duplicate filter and throttled download handler.
EXTENSIONS["crawler.fleet.components.FleetExtension"] = 600
SPIDER_MIDDLEWARES = {"crawler.fleet.components.FleetAckMiddleware": 950}

globals().update(_overrides_from_env(_os.environ))
