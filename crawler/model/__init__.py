"""The shared model: items, URLs and store keys, our signals, small HTTP and date helpers (pure).

May import: the standard library, w3lib, tldextract. Everything else in crawler/ may import it.
"""
