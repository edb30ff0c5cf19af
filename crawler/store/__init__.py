"""Where captures are kept: backends chosen by URI scheme, records, reading captures, spool, job locks.

May import: crawler.model. Never extraction, crawl planning, the fleet or Scrapy.
"""
