"""Many crawl processes, one frontier in Redis: the frontier itself and its Scrapy components.

May import: crawler.model and itself. The spiders and the CLI use it; it never uses them.
"""
