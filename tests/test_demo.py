"""`make demo` runs clean: no write-path finding, every delivery writes its sample record, verify exits 0."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_demo_is_clean() -> None:
    run = subprocess.run(
        [sys.executable, "scripts/demo.py"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert not [line for line in lines if line.strip().startswith("!")]  # no finding under any change
    assert "10 delivered, 0 denied" in run.stdout
    assert "Verify: 4 flowing, 2 cannot observe (6 destinations)." in run.stdout
