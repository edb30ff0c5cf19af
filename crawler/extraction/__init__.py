"""Article text and metadata from a page: decoding, metadata, boilerplate, page kind, extract (pure).

May import: crawler.model. Never the store, crawl planning, the fleet or Scrapy.
"""
