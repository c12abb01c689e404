"""Drift notifications: the status change since the last run, a compact JSON payload with a Slack-compatible
``text``, and its delivery to a file or an HTTP(S) URL.

Status is ``in_sync``, ``drifting`` or ``unreadable`` (part of the scope could not be read). Events, from the state
the previous run left (``State``, a small JSON document the caller keeps; the drift workflow keeps it in its issue):

- ``new_drift``: drifting now and not before, or drifting with another set of resources than last notified;
- ``still_drifting``: the same drift, at most once a day (``REMIND_AFTER``);
- ``back_in_sync``: in sync after drifting or not being readable;
- ``unreadable``: could not read part of the scope (again at most once a day while it lasts).

No event, no notification: a run in sync after a run in sync, or the same drift within a day.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .drift import DriftEntry, DriftReport
from .errors import ReconcilerError

STATE_VERSION = 1
REMIND_AFTER = dt.timedelta(days=1)
MAX_ITEMS = 20  # drift items in a payload; the rest are counted


@dataclass
class State:
    status: str = "in_sync"
    drift: list[str] = field(default_factory=list)  # addresses, sorted
    since: str = ""  # ISO time the status began
    notified_at: str = ""  # ISO time of the last notification ("" = never)

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "status": self.status, "drift": self.drift, "since": self.since,
                "notified_at": self.notified_at}  # fmt: skip

    @classmethod
    def from_json(cls, doc: Any) -> State | None:
        """The state in ``doc``, or None when it is not one (a first run)."""
        if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
            return None
        return cls(str(doc.get("status", "in_sync")), sorted(str(a) for a in doc.get("drift", [])),
                   str(doc.get("since", "")), str(doc.get("notified_at", "")))  # fmt: skip


def status_of(rep: DriftReport) -> str:
    if rep.unreadable:
        return "unreadable"
    return "drifting" if rep.entries else "in_sync"


def _since(iso: str, now: dt.datetime) -> dt.timedelta:
    try:
        return now - dt.datetime.fromisoformat(iso)
    except ValueError:
        return dt.timedelta.max


def transition(prev: State | None, rep: DriftReport, now: dt.datetime) -> tuple[str | None, State]:
    """(the event to notify, or None; the state to keep for the next run)."""
    status = status_of(rep)
    drift = sorted({e.address for e in rep.entries})
    before = prev or State(since=now.isoformat())
    event: str | None = None
    due = not before.notified_at or _since(before.notified_at, now) >= REMIND_AFTER
    if status == "drifting":
        if before.status != "drifting" or drift != before.drift:
            event = "new_drift"
        elif due:
            event = "still_drifting"
    elif status == "unreadable":
        if before.status != "unreadable" or due:
            event = "unreadable"
    elif before.status != "in_sync":
        event = "back_in_sync"
    since = before.since if prev is not None and before.status == status else now.isoformat()
    notified = now.isoformat() if event else before.notified_at
    return event, State(status, drift, since, notified)


HEADLINE = {
    "new_drift": "new drift",
    "still_drifting": "still drifting",
    "back_in_sync": "back in sync",
    "unreadable": "could not read part of the scope",
}


def payload(
    event: str, state: State, rep: DriftReport, project: str, scopes: list[str], url: str = ""
) -> dict[str, Any]:
    """A compact JSON document for a webhook; ``text`` is what Slack (or anything reading ``text``) shows."""
    counts = Counter(e.status for e in rep.entries)
    items = [
        {
            "address": e.address,
            "status": e.status,
            "out_of_band": e.out_of_band,
            "fields": [f.path for f in e.fields],
        }
        for e in rep.entries[:MAX_ITEMS]
    ]
    where = ", ".join(scopes) if scopes else "all scopes"
    lines = [_headline(event, state, rep, f"reconciler drift in {project} ({where})", counts)]
    lines += [_entry_line(e) for e in rep.entries[:MAX_ITEMS]]
    if len(rep.entries) > MAX_ITEMS:
        lines.append(f"… and {len(rep.entries) - MAX_ITEMS} more")
    lines.extend(f"• unreadable: {s}: {err}" for s, err in sorted(rep.unreadable.items()))
    if url:
        lines.append(url)
    return {
        "event": event,
        "status": state.status,
        "project": project,
        "scopes": scopes,
        "since": state.since,
        "counts": dict(sorted(counts.items())),
        "drift": items,
        "more": max(0, len(rep.entries) - MAX_ITEMS),
        "unreadable": dict(sorted(rep.unreadable.items())),
        "url": url,
        "text": "\n".join(lines),
    }


def _headline(event: str, state: State, rep: DriftReport, prefix: str, counts: Counter[str]) -> str:
    if event == "back_in_sync":
        return f"{prefix}: back in sync"
    if event == "unreadable":
        return f"{prefix}: could not read {len(rep.unreadable)} scope(s)"
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return (
        f"{prefix}: {len(rep.entries)} resource(s) out of sync"
        f" ({HEADLINE[event]}, since {state.since[:16].replace('T', ' ')} UTC): {summary}"
    )


def _entry_line(e: DriftEntry) -> str:
    oob = f", {e.out_of_band} out of band" if e.out_of_band else ""
    what = f" ({', '.join(f.path for f in e.fields[:5])})" if e.fields and e.status == "changed" else ""
    return f"• {e.status}{oob}: {e.address}{what}"


def _redacted(url: str) -> str:
    """scheme://host only: a webhook's path is its secret."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def send(target: str, doc: dict[str, Any], timeout: float = 10.0) -> str:
    """POST ``doc`` as JSON to an http(s) URL, or write it to a file; returns where it went (URL redacted)."""
    body = json.dumps(doc, indent=None, separators=(",", ":"), default=str).encode()
    if target.startswith(("https://", "http://")):
        req = urllib.request.Request(target, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # http(s) only, checked above
                resp.read()
        except urllib.error.HTTPError as exc:
            raise ReconcilerError(
                f"drift --notify: POST to {_redacted(target)} failed: HTTP {exc.code}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ReconcilerError(f"drift --notify: POST to {_redacted(target)} failed: {reason}") from None
        return _redacted(target)
    path = Path(target)
    try:
        path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    except OSError as exc:
        raise ReconcilerError(f"drift --notify: cannot write {path}: {exc.strerror or exc}") from None
    return str(path)


def load_state(path: Path) -> State | None:
    """The previous run's state, or None (first run: no file, an empty file or not a state)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReconcilerError(f"drift --state {path}: cannot read: {exc}") from None
    if not text.strip():
        return None
    try:
        return State.from_json(json.loads(text))
    except ValueError as exc:
        raise ReconcilerError(f"drift --state {path}: not JSON: {exc}") from None


def save_state(path: Path, state: State) -> None:
    try:
        path.write_text(json.dumps(state.to_json(), indent=None) + "\n")
    except OSError as exc:
        raise ReconcilerError(f"drift --state {path}: cannot write: {exc.strerror or exc}") from None
