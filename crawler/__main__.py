"""`python -m crawler ...` is the same as the `newsarchive` command."""

import sys

from crawler.cli.command import main

sys.exit(main())
