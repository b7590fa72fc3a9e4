"""`python -m polylog_client` is the `polylog` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
