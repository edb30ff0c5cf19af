"""newsarchive: archive news pages (raw HTML, clean text, metadata) with Scrapy and trafilatura."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newsarchive")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"
