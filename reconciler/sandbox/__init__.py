"""The local AWS emulator: moto's server plus fidelity fixes, fault injection and request counters.

``Sandbox`` runs the server in a child process (its own moto state, like a real endpoint) and talks to its control
API; ``SandboxServer`` (in ``server.py``) runs it in-process. The reconciler core never imports this package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .server import DEFAULT_ACCOUNT, Faults, Rule

__all__ = ["DEFAULT_ACCOUNT", "Faults", "Rule", "Sandbox", "running_sandbox", "sandbox_env"]

TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def sandbox_env(url: str, region: str = "us-east-1") -> dict[str, str]:
    """The environment a client needs to talk to the sandbox."""
    return {
        "AWS_ENDPOINT_URL": url,
        **TEST_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_SESSION_TOKEN": "",
        "AWS_PROFILE": "",
    }


class Sandbox:
    """A sandbox server in a child process, with its counters and fault controls."""

    def __init__(
        self,
        port: int = 0,
        default_account: str = DEFAULT_ACCOUNT,
        faults: Faults | None = None,
        threads: int = 32,
    ) -> None:
        args = [sys.executable, "-m", "reconciler.sandbox", "--port", str(port), "--account", default_account,
                "--threads", str(threads), "--ready-json"]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("the sandbox did not start")
        self.url: str = json.loads(line)["url"]
        self.default_account = default_account
        if faults is not None:
            self.set_faults(faults)

    def _call(self, path: str, data: Any = None, timeout: float = 30) -> Any:
        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(
            self.url + "/_sandbox/" + path, data=body, method="POST" if body else "GET"
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())

    def env(self, region: str = "us-east-1") -> dict[str, str]:
        return sandbox_env(self.url, region)

    def counters(self) -> dict[str, Any]:
        return self._call("counters")  # type: ignore[no-any-return]

    def count(self, operation: str | None = None, account: str | None = None) -> int:
        return sum(
            c["count"]
            for c in self.counters()["counts"]
            if (operation is None or c["operation"] == operation)
            and (account is None or c["account"] == account)
        )

    def reset_counters(self) -> None:
        self._call("reset-counters", {})

    def reset(self) -> None:
        self._call("reset", {})

    def set_faults(self, faults: Faults | None = None, **kwargs: Any) -> None:
        from dataclasses import asdict

        data = asdict(faults) if faults is not None else {}
        data.update(kwargs)
        data["rules"] = [asdict(r) if isinstance(r, Rule) else r for r in data.get("rules", [])]
        self._call("faults", data)

    def deliver(self, every: float | None = None) -> dict[str, Any]:
        """One round of sample records now (delivered and denied listed), or every ``every`` seconds (0 stops)."""
        return self._call("deliver", {} if every is None else {"every": every})  # type: ignore[no-any-return]

    def hold_writes(self, after: int) -> None:
        """Hold every write request after the next ``after`` ones (each waits in the sandbox, unapplied)."""
        self._call("hold-writes", {"after": after})

    def wait_counted(self, operation: str, count: int = 1, timeout: float = 60) -> int:
        """Wait until ``count`` requests of ``operation`` arrived (counted before their latency); how many did."""
        data = {"operation": operation, "count": count, "timeout": timeout}
        return int(self._call("wait-counted", data, timeout=timeout + 30)["count"])

    def wait_held(self, timeout: float = 120) -> bool:
        """Block until a write is held (True), or holding was released or ``timeout`` passed (False)."""
        return bool(self._call("wait-held", {"timeout": timeout}, timeout=timeout + 30)["held"])

    def release_writes(self) -> int:
        """Stop holding; the held writes are dropped (connection closed, never applied). Returns how many."""
        return int(self._call("release-writes", {})["held"])

    def options(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("options", kwargs)  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@contextmanager
def running_sandbox(**kwargs: Any) -> Iterator[Sandbox]:
    box = Sandbox(**kwargs)
    try:
        yield box
    finally:
        box.stop()
