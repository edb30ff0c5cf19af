"""Scrapy item pipelines: adapt crawler's pure core to Scrapy and to storage.

Wired by dotted path in settings.ITEM_PIPELINES; crawler/ never imports this package.
"""
