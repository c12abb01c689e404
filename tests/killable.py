"""The real CLI in a child process that a test can SIGKILL, without paying the CLI's start-up for each child.

Children are forked from multiprocessing's fork server, which imports ``reconciler.cli`` once: a child runs
``reconciler.cli.main(args)`` in the project directory, with the sandbox's environment, output discarded, exactly as
``python -m reconciler ...`` would after its imports.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.process import BaseProcess
from pathlib import Path


def _run(root: str, env: dict[str, str], args: list[str]) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.chdir(root)
    for key, value in env.items():
        if value:
            os.environ[key] = value
        else:
            os.environ.pop(key, None)
    from reconciler.cli import main

    main(args)


def start(root: Path, env: dict[str, str], *args: str) -> BaseProcess:
    """Start ``reconciler <args>`` in ``root`` with ``env`` set (empty values unset); ``kill()`` sends SIGKILL."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["reconciler.cli", __name__])
    proc = ctx.Process(target=_run, args=(str(root), env, list(args)))
    proc.start()
    return proc
