"""Our own Scrapy signals (sent with crawler.signals.send_catch_log)."""

#: A requested URL could not be fetched. Arguments: url (as requested), reason (one line),
#: and for crawls site (its name) and role ("article", "feed", "sitemap", "robots", "page").
fetch_failed = object()

#: A crawl decided about a URL without capturing it, or read a discovery source.
#: Arguments: url, site, decision ("skipped", "unchanged", "read"), reason and role.
url_decided = object()

#: A host answered 429 or 503 with Retry-After: its requests wait. Arguments: url, site (a
#: crawl's site name or None), role, status, seconds (the wait, after the RETRY_AFTER_MAX cap).
host_paused = object()
