"""The generic DAG walk behind apply (pure: plain nodes, no AWS)."""

from __future__ import annotations

import threading
from collections import Counter

from reconciler import dag


class Recorder:
    def __init__(self, fail: tuple[str, ...] = ()) -> None:
        self.fail = set(fail)
        self.ran: list[str] = []
        self.events: list[tuple[str, ...]] = []
        self.lock = threading.Lock()

    def run(self, node: str) -> None:
        with self.lock:
            self.ran.append(node)
        if node in self.fail:
            raise RuntimeError(f"{node} broke")

    def hooks(self) -> dag.Hooks[str]:
        return dag.Hooks(
            started=lambda n: self.events.append(("start", n)),
            succeeded=lambda n: self.events.append(("ok", n)),
            failed=lambda n, e: self.events.append(("failed", n, str(e))),
            skipped=lambda n, cause: self.events.append(("skipped", n, cause)),
        )


def test_one_worker_follows_the_given_order_within_the_dependencies() -> None:
    deps = {"a": set(), "b": {"c"}, "c": set(), "d": {"a"}}
    rec = Recorder()
    dag.walk(["a", "b", "c", "d"], deps, rec.run, parallelism=1, hooks=rec.hooks())
    assert rec.ran == ["a", "c", "b", "d"]
    assert [e for e in rec.events if e[0] == "ok"] == [("ok", "a"), ("ok", "c"), ("ok", "b"), ("ok", "d")]


def test_a_failure_skips_everything_downstream_once_and_independent_work_carries_on() -> None:
    deps = {"a": set(), "b": {"a"}, "c": {"b"}, "d": {"a", "c"}, "e": set()}
    rec = Recorder(fail=("a",))
    dag.walk(["a", "b", "c", "d", "e"], deps, rec.run, parallelism=1, hooks=rec.hooks())
    assert sorted(rec.ran) == ["a", "e"]
    skipped = [e for e in rec.events if e[0] == "skipped"]
    assert sorted(n for _, n, _ in skipped) == ["b", "c", "d"]
    assert {cause for _, _, cause in skipped} == {"a"}
    assert ("failed", "a", "a broke") in rec.events


def test_nodes_sharing_a_key_never_overlap() -> None:
    nodes = [f"n{i}" for i in range(12)]
    inside: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    lock = threading.Lock()
    both_sides = threading.Barrier(2, timeout=5)

    def key(node: str) -> set[str]:
        return {"even" if int(node[1:]) % 2 == 0 else "odd"}

    def run(node: str) -> None:
        (k,) = key(node)
        with lock:
            inside[k] += 1
            peak[k] = max(peak[k], inside[k])
        if node in ("n0", "n1"):
            both_sides.wait()  # an even and an odd node do run at the same time
        with lock:
            inside[k] -= 1

    dag.walk(nodes, {n: set() for n in nodes}, run, parallelism=8, keys=key, poll_seconds=0.01)
    assert peak == Counter({"even": 1, "odd": 1})


def test_stop_lets_nothing_new_start_and_the_running_node_finish() -> None:
    stop = threading.Event()
    rec = Recorder()
    stopping: list[bool] = []

    def run(node: str) -> None:
        rec.run(node)
        if node == "a":
            stop.set()

    hooks = rec.hooks()
    hooks.stopping = lambda: stopping.append(True)
    dag.walk(
        ["a", "b", "c"], {"a": set(), "b": {"a"}, "c": set()}, run, parallelism=1, stop=stop, hooks=hooks
    )
    assert rec.ran == ["a"]
    assert ("ok", "a") in rec.events and stopping
