"""Our own Scrapy signals (sent with crawler.signals.send_catch_log)."""

#: A requested URL could not be fetched. Arguments: url (as requested), reason (one line).
fetch_failed = object()
