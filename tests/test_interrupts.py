"""Ctrl-C and SIGTERM during apply, sent to the real CLI process at a deterministic point: after the first change is
reported done, while the sandbox's latency keeps the others in flight or waiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest
from conftest import PROJECT, Workspace, client, doc, docs

from reconciler.sandbox import sandbox_env
from reconciler.sandbox.server import Faults

SOURCES = 12
LOCK_PROJECT = PROJECT.format(project="tests") + "lock: {dynamodbTable: reconciler-locks, leaseSeconds: 30}\n"


def _manifests(ws: Workspace) -> None:
    ws.write(
        "many.yaml",
        docs(
            *(
                doc(
                    "DeliverySource",
                    f"s{i:02d}",
                    f"""
                    logType: APPLICATION_LOGS
                    resourceArn: arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB{i:08d}
                    """,
                )
                for i in range(SOURCES)
            )
        ),
    )


def _start(ws: Workspace, box: Any, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({k: v for k, v in sandbox_env(box.url).items() if v})
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--parallelism", "2", *args],
        cwd=ws.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_first_done(stream: IO[str]) -> list[str]:
    seen = []
    for line in stream:
        seen.append(line)
        if line.lstrip().startswith("done "):
            return seen
    raise AssertionError(f"no change finished: {''.join(seen)}")


def _finish(proc: subprocess.Popen[str], seen: list[str], timeout: float = 60) -> tuple[int, str, str]:
    out, rest = proc.communicate(timeout=timeout)
    return proc.returncode, out, "".join(seen) + rest


def _report_counts(out: str) -> dict[str, int]:
    summary = next(line for line in out.splitlines() if line.startswith("Apply: "))
    counts = {}
    for part in summary.removeprefix("Apply: ").split(" in ")[0].split(", "):
        n, what = part.split(" ", 1)
        counts[what] = int(n)
    return counts


@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_interrupt_during_apply_stops_cleanly(
    ws: Workspace, sandbox: Any, signum: int, code: int, name: str
) -> None:
    (ws.root / "reconciler.yaml").write_text(LOCK_PROJECT)
    ddb = client(sandbox, "dynamodb")
    ddb.create_table(TableName="reconciler-locks", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}])  # fmt: skip
    _manifests(ws)
    sandbox.set_faults(Faults(latency_ms=150))
    proc = _start(ws, sandbox)
    assert proc.stderr is not None
    seen = _wait_for_first_done(proc.stderr)
    sent = time.monotonic()
    proc.send_signal(signum)
    returncode, out, err = _finish(proc, seen)
    took = time.monotonic() - sent
    sandbox.set_faults(Faults())
    assert returncode == code, (out, err)
    assert "Traceback" not in out + err
    assert f"{name}: no new change will start" in err
    counts = _report_counts(out)
    assert counts["done"] >= 1 and counts["failed"] == 0 and counts["skipped"] == 0
    assert counts["not started"] >= 1
    assert counts["done"] + counts["not started"] == SOURCES
    assert "Interrupted: no new change was started." in out
    assert took < 10, f"{took:.1f} s after the signal"  # in-flight calls finish within the grace period
    live = client(sandbox).describe_delivery_sources()["deliverySources"]
    assert len(live) == counts["done"]  # what the report says is done is exactly what exists
    assert ddb.scan(TableName="reconciler-locks")["Items"] == []  # the lock was released
    again = ws.cli("apply", "--auto-approve")  # and the next apply finishes the job
    assert again.code == 0, again.err
    assert len(client(sandbox).describe_delivery_sources()["deliverySources"]) == SOURCES


def test_second_ctrl_c_exits_at_once(ws: Workspace, sandbox: Any) -> None:
    _manifests(ws)
    sandbox.set_faults(Faults(latency_ms=1500))
    proc = _start(ws, sandbox)
    assert proc.stderr is not None
    seen = _wait_for_first_done(proc.stderr)
    proc.send_signal(signal.SIGINT)
    for line in proc.stderr:  # the first interrupt is acknowledged, then the second one ends the process
        seen.append(line)
        if "no new change will start" in line:
            break
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    returncode, out, err = _finish(proc, seen)
    took = time.monotonic() - sent
    sandbox.set_faults(Faults())
    assert returncode == 130
    assert took < 1.4, f"{took:.1f} s"  # not waiting for the 1.5 s requests in flight
    assert "Traceback" not in out + err
    assert "interrupted again: exiting now" in err


def test_ctrl_c_during_start_up_has_no_traceback(tmp_path: Path) -> None:
    """SIGINT arrives while the CLI's modules are still being imported (when the import reaches reconciler.aws)."""
    code = (
        "import os, signal, sys\n"
        "class Hook:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'reconciler.aws':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Hook())\n"
        "sys.argv = ['reconciler', 'validate']\n"
        "from reconciler.launch import main\n"
        "main()\n"
    )
    # SIGINT as a shell leaves it: a test worker may run with SIGINT ignored, which a child inherits (and Python then
    # installs no KeyboardInterrupt handler)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "interrupted"
