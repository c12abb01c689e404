"""A small generic walk of a dependency graph on a thread pool (no AWS, no plan knowledge).

- A node starts once every node it depends on has succeeded; among the ready ones, the earliest in the given order
  starts first, so a run with one worker follows that order exactly.
- Nodes that share a key (``keys(node)``) never run at the same time.
- A node that fails skips every node that depends on it, directly or not; independent nodes carry on.
- When ``stop`` is set, no new node starts; the ones running finish.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar

N = TypeVar("N", bound=Hashable)


def _nothing(*_: object) -> None:
    return None


@dataclass
class Hooks(Generic[N]):
    """What the walk tells its caller; each is called on the walking thread, never on a worker."""

    started: Callable[[N], None] = _nothing
    succeeded: Callable[[N], None] = _nothing
    failed: Callable[[N, BaseException], None] = _nothing
    skipped: Callable[[N, N], None] = _nothing  # (node, the failed node it depended on)
    stopping: Callable[[], None] = _nothing  # on each turn once ``stop`` is set


@dataclass
class Walk(Generic[N]):
    """The state of one walk: which nodes wait for which, which are ready, running or skipped."""

    order: list[N]
    deps: dict[N, set[N]]  # node -> nodes that must succeed first
    keys: Callable[[N], set[str]] = lambda _node: set()
    waiting: dict[N, set[N]] = field(init=False)
    dependents: dict[N, list[N]] = field(init=False)
    position: dict[N, int] = field(init=False)
    ready: list[N] = field(init=False)
    skipped: set[N] = field(default_factory=set)
    busy: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.waiting = {n: set(d) for n, d in self.deps.items()}
        self.dependents = {n: [] for n in self.order}
        for n, ds in self.deps.items():
            for d in ds:
                self.dependents.setdefault(d, []).append(n)
        self.position = {n: i for i, n in enumerate(self.order)}
        self.ready = sorted((n for n in self.order if not self.waiting.get(n)), key=self.position.__getitem__)

    def next_ready(self) -> N | None:
        """The earliest ready node whose keys are free (it leaves ``ready``), or None."""
        for n in list(self.ready):
            if n in self.skipped:
                self.ready.remove(n)
                continue
            if self.keys(n) & self.busy:
                continue
            self.ready.remove(n)
            return n
        return None

    def succeeded(self, node: N) -> None:
        for dep in self.dependents.get(node, []):
            self.waiting[dep].discard(node)
            if not self.waiting[dep] and dep not in self.skipped:
                self.ready.append(dep)
        self.ready.sort(key=self.position.__getitem__)

    def skip_after(self, failed: N) -> list[N]:
        """Every node downstream of ``failed`` not skipped yet, each once: its dependents in turn, each followed by
        what depends on it."""
        out: list[N] = []
        for first in self.dependents.get(failed, []):
            stack = [first]
            while stack:
                n = stack.pop()
                if n in self.skipped:
                    continue
                self.skipped.add(n)
                out.append(n)
                stack.extend(self.dependents.get(n, []))
        return out


def walk(
    order: Iterable[N],
    deps: dict[N, set[N]],
    run: Callable[[N], None],
    *,
    parallelism: int = 8,
    keys: Callable[[N], set[str]] = lambda _node: set(),
    stop: threading.Event | None = None,
    hooks: Hooks[N] | None = None,
    poll_seconds: float = 0.2,
    thread_name: str = "dag",
) -> None:
    """Run ``run(node)`` for each node of ``order`` (every node of ``deps`` must be in it), respecting ``deps``."""
    state = Walk(list(order), deps, keys)
    hooks = hooks or Hooks()
    stop = stop or threading.Event()
    parallelism = max(1, parallelism)
    running: dict[Future[None], tuple[N, set[str]]] = {}
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix=thread_name) as pool:
        while state.ready or running:
            if stop.is_set():  # nothing new starts; what is in flight finishes
                hooks.stopping()
                state.ready.clear()
                if not running:
                    break
            while len(running) < parallelism and not stop.is_set():
                node = state.next_ready()
                if node is None:
                    break
                node_keys = state.keys(node)
                state.busy |= node_keys
                hooks.started(node)
                running[pool.submit(run, node)] = (node, node_keys)
            if not running:
                continue
            done, _ = wait(list(running), timeout=poll_seconds, return_when=FIRST_COMPLETED)
            for fut in done:
                node, node_keys = running.pop(fut)
                state.busy -= node_keys
                error = fut.exception()
                if error is None:
                    hooks.succeeded(node)
                    state.succeeded(node)
                    continue
                hooks.failed(node, error)
                for n in state.skip_after(node):
                    hooks.skipped(n, node)
