"""On a terminal: apply asks for confirmation (only 'yes' writes) and output is coloured."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from conftest import Workspace
from test_plan_apply import base, writes


def run_on_tty(
    ws: Workspace, box: Any, args: list[str], answer: str, before_answer: Callable[[], None] | None = None
) -> tuple[int, str]:
    env = {**os.environ, **{k: v for k, v in box.env().items() if v}, "TERM": "xterm", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], cwd=ws.root, env=env,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)  # fmt: skip
    os.close(slave)
    out, sent = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not sent and b"Only 'yes' is accepted" in out:
                if before_answer is not None:
                    before_answer()
                os.write(master, answer.encode() + b"\n")
                sent = True
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    return proc.returncode, out.decode("utf-8", "replace")


def test_confirmation_on_a_terminal(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    code, out = run_on_tty(ws, sandbox, ["apply"], "no")
    assert code == 1 and "apply cancelled; nothing was written" in out
    assert "\x1b[32m" in out  # coloured on a terminal
    assert writes(sandbox) == 0
    code, out = run_on_tty(ws, sandbox, ["apply"], "yes")
    assert code == 0, out
    assert ws.cli("plan", "--detailed-exitcode").code == 0


def test_reading_live_state_shows_progress_on_a_terminal(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    code, out = run_on_tty(ws, sandbox, ["plan"], "")
    assert code == 0, out
    assert "reading live state: 2/2 scopes, 0 resources" in out  # one status line, rewritten in place
    assert "\nread 111111111111/us-east-1" not in out  # the CI form is for logs, not terminals
