"""`python -m service.cli`: the `tagger` command."""

from __future__ import annotations

import sys

from service.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
