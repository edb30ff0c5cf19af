"""Crawl planning: the sites file, discovery (feeds, sitemaps, pages), fetch decisions, the run report (pure).

May import: crawler.model (and Scrapy's pure sitemap parser). Never extraction, the store, the
fleet, or Scrapy's crawling machinery: the spider does the I/O and hands planning plain data.
"""
