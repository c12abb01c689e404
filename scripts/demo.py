"""The demo: start the sandbox, then plan -> apply -> plan (empty) on manifests/, then stop it. No AWS needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.sandbox import running_sandbox  # noqa: E402


def step(title: str, args: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> int:
    print(f"\n$ reconciler {' '.join(args)}    # {title}", flush=True)
    code = subprocess.call([sys.executable, "-m", "reconciler", *args], cwd=ROOT, env=env)
    if code not in ok:
        print(f"demo: step failed with exit code {code}", file=sys.stderr)
        sys.exit(1)
    return code


def main() -> None:
    with running_sandbox() as box:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({k: v for k, v in box.env().items() if v})
        print(f"sandbox (moto + fidelity fixes) at {box.url}; accounts 111111111111 and 222222222222 via STS")
        step("validate the manifests", ["validate"], env)
        step("what would change", ["plan", "--detailed-exitcode"], env, ok=(2,))
        step("make it so", ["apply", "--auto-approve"], env)
        code = step("a second plan is empty", ["plan", "--detailed-exitcode"], env, ok=(0,))
        print(f"\ndemo: converged (plan exit code {code}); {box.counters()['total']} API requests served")


if __name__ == "__main__":
    main()
