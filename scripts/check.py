"""The project's checks, the same locally and in CI: ruff format, ruff check, mypy --strict, the complexity gate
(scripts/complexity.py), schemas, workflows (GitHub's schema and actionlint, README snippets included), pytest (it
prints the ten slowest tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(name: str, args: list[str]) -> None:
    t = time.monotonic()
    print(f"==> {name}: {' '.join(args)}", flush=True)
    code = subprocess.call(args, cwd=ROOT)
    print(f"<== {name}: exit {code} in {time.monotonic() - t:.1f}s", flush=True)
    if code != 0:
        sys.exit(code)


def main() -> None:
    paths = ["reconciler", "tests", "scripts"]
    run("ruff format", [str(BIN / "ruff"), "format", "--check", *paths])
    run("ruff check", [str(BIN / "ruff"), "check", *paths])
    run("mypy", [str(BIN / "mypy"), "--strict", "reconciler"])
    run("complexity", [sys.executable, str(ROOT / "scripts" / "complexity.py")])
    run("schemas", [str(BIN / "reconciler"), "schema", "--out", "schemas", "--check"])
    run("workflows", [sys.executable, str(ROOT / "scripts" / "check_workflows.py")])
    workers = os.environ.get("PYTEST_WORKERS", "2")
    run("pytest", [str(BIN / "pytest"), "-n", workers, "-q", "--durations=10", *sys.argv[1:]])


if __name__ == "__main__":
    main()
