"""The `newsarchive` command: argument parsing (command), running one crawl (runner), result lines (output).

May import: anything. Nothing imports it (but crawler/__main__.py, and the console script).
"""
