"""The ``reconciler`` console entry point: Ctrl-C during start-up (the imports take a moment) exits quietly."""

from __future__ import annotations

import os
import sys


def main() -> None:
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        os._exit(130)
    cli_main()
