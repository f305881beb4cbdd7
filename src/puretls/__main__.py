"""``python -m puretls``: the same command line as ``puretls``."""

from __future__ import annotations

import sys

from puretls.cli.main import main

sys.exit(main())
