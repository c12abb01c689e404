"""Run the sandbox server in the foreground: ``python -m reconciler.sandbox [--port N] ...``."""

from __future__ import annotations

import argparse
import json
import sys

from .server import DEFAULT_ACCOUNT, Faults, SandboxServer


def parse_throttle(values: list[str]) -> dict[str, float]:
    out = {}
    for item in values:
        op, sep, rate = item.partition("=")
        if not sep:
            raise SystemExit(f"--throttle {item!r}: expected OPERATION=RPS")
        out[op] = float(rate)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m reconciler.sandbox")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--account", default=DEFAULT_ACCOUNT)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--throttle", action="append", default=[])
    p.add_argument("--throttle-rate", type=float, default=0.0)
    p.add_argument("--fail-rate", type=float, default=0.0)
    p.add_argument("--conflict-rate", type=float, default=0.0)
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads", type=int, default=32, help="request threads (each sleeps through --latency-ms)"
    )
    p.add_argument("--ready-json", action="store_true")
    a = p.parse_args(argv)
    faults = Faults(seed=a.seed, latency_ms=a.latency_ms, jitter_ms=a.jitter_ms, throttle=parse_throttle(a.throttle),
                    throttle_rate=a.throttle_rate, fail_rate=a.fail_rate, conflict_rate=a.conflict_rate, drop_rate=a.drop_rate)  # fmt: skip
    server = SandboxServer(a.host, a.port, a.account, faults, threads=a.threads)
    print(json.dumps({"url": server.url}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
