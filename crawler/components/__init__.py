"""Scrapy components of our own: downloader middlewares, the log formatter, and the extensions
that give a crawl its store, its job lock and its run manifest.

May import: every group below the Scrapy layer (model, extraction, store, planning, fleet).
"""
