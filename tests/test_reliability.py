"""Reliability and security through the real CLI against the sandbox: applies under injected faults, SIGKILL at
the Nth write, the DynamoDB apply lock, live changes during a saved plan's re-read, secrets never printed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import killable
import pytest
from conftest import PROJECT, Workspace, client
from test_plan_apply import A, B, apply_ok, base, writes

from reconciler.sandbox import Faults, Rule

BUSES = 140


def big_project(ws: Workspace, fmt: str = "json", tag: str = "v1") -> None:
    """300 resources: 10 destinations (5 with cross-account policies), 140 sources, 140 deliveries."""
    ws.write(
        "big.yaml",
        f"""\
        {{% for d in range(10) %}}
        ---
        apiVersion: reconciler/v1
        kind: DeliveryDestination
        metadata: {{name: dest-{{{{ d }}}}}}
        spec:
          outputFormat: {{{{ "{fmt}" if d < 5 else "json" }}}}
          destinationResourceArn: "arn:aws:logs:us-east-1:{A}:log-group:dest-{{{{ d }}}}"
          policy:
            Version: "2012-10-17"
            Statement:
              - {{Effect: Allow, Principal: {{AWS: "{B}"}}, Action: "logs:CreateDelivery",
                 Resource: "arn:aws:logs:us-east-1:{A}:delivery-destination:dest-{{{{ d }}}}"}}
        {{% endfor %}}
        {{% for i in range({BUSES}) %}}
        ---
        apiVersion: reconciler/v1
        kind: DeliverySource
        metadata: {{name: bus-{{{{ i }}}}}}
        spec:
          logType: ERROR_LOGS
          resourceArn: "arn:aws:events:us-east-1:{A}:event-bus/bus-{{{{ i }}}}"
          tags: {{rev: {tag}}}
        ---
        apiVersion: reconciler/v1
        kind: Delivery
        metadata: {{name: bus-{{{{ i }}}}}}
        spec: {{source: "bus-{{{{ i }}}}", destination: "dest-{{{{ i % 10 }}}}"}}
        {{% endfor %}}
        """,
    )


def seed_unowned(box: Any) -> dict[str, Any]:
    logs = client(box)
    logs.put_delivery_source(name="theirs", resourceArn=f"arn:aws:events:us-east-1:{A}:event-bus/theirs",
                             logType="INFO_LOGS", tags={"owner": "someone-else"})  # fmt: skip
    arn = logs.put_delivery_destination(name="theirs", outputFormat="json", deliveryDestinationConfiguration={
        "destinationResourceArn": f"arn:aws:logs:us-east-1:{A}:log-group:theirs"})["deliveryDestination"]["arn"]  # fmt: skip
    logs.create_delivery(deliverySourceName="theirs", deliveryDestinationArn=arn)
    return snapshot(box, owned=False)


def snapshot(box: Any, owned: bool) -> dict[str, Any]:
    """Live state (with tags) of the resources that carry our tag (owned) or not."""
    return snapshots(box)[owned]


def snapshots(box: Any) -> dict[bool, dict[str, Any]]:
    """Live state (with tags) of every resource, by whether it carries our tag; tags read 8 at a time."""
    logs = client(box)
    items = (
        [("src", s) for s in _all(logs, "describe_delivery_sources", "deliverySources")]
        + [("dst", d) for d in _all(logs, "describe_delivery_destinations", "deliveryDestinations")]
        + [("dlv", d) for d in _all(logs, "describe_deliveries", "deliveries")]
    )
    with ThreadPoolExecutor(8) as pool:
        all_tags = list(
            pool.map(lambda item: logs.list_tags_for_resource(resourceArn=item[1]["arn"])["tags"], items)
        )
    out: dict[bool, dict[str, Any]] = {True: {}, False: {}}
    for (kind, item), tags in zip(items, all_tags, strict=True):
        part = out["reconciler:project" in tags]
        key = (
            f"{kind}:{item.get('name') or item['deliverySourceName'] + '>' + item['deliveryDestinationArn']}"
        )
        assert key not in part, f"duplicate {key}"
        part[key] = {**{k: v for k, v in item.items() if k not in ("id", "arn")}, "tags": tags}
    return out


def _all(logs: Any, op: str, key: str) -> list[dict[str, Any]]:
    return [x for page in logs.get_paginator(op).paginate() for x in page[key]]


def check_invariants(box: Any, unowned_before: dict[str, Any], allowed: set[str]) -> None:
    faults = box._call("faults")
    box.set_faults(Faults())
    try:
        live = snapshots(box)  # raises on a duplicate delivery
        assert live[False] == unowned_before, "something not ours was touched"
        stray = set(live[True]) - allowed
        assert not stray, f"written outside the plan: {sorted(stray)[:5]}"
    finally:
        box.set_faults(**faults)


def desired_keys(n_dest: int = 10, n_src: int = BUSES) -> set[str]:
    keys = {f"dst:dest-{d}" for d in range(n_dest)} | {f"src:bus-{i}" for i in range(n_src)}
    keys |= {
        f"dlv:bus-{i}>arn:aws:logs:us-east-1:{A}:delivery-destination:dest-{i % 10}" for i in range(n_src)
    }
    return keys


@pytest.mark.faults
def test_apply_under_faults_converges(ws: Workspace, sandbox: Any) -> None:
    unowned = seed_unowned(sandbox)
    big_project(ws)
    sandbox.set_faults(Faults(seed=11, throttle_rate=0.3, fail_rate=0.1, conflict_rate=0.1, latency_ms=1,
                              jitter_ms=4, drop_rate=0.02))  # fmt: skip
    codes = []
    for _ in range(4):
        result = ws.cli("apply", "--auto-approve", "--parallelism", "16")
        assert "Traceback" not in result.err
        codes.append(result.code)
        if result.code == 0:
            break
        assert result.code == 1 and "failed" in result.out  # a clear report: done / failed / skipped
        check_invariants(sandbox, unowned, desired_keys())
    check_invariants(sandbox, unowned, desired_keys())
    assert codes[-1] == 0, codes
    injected = sandbox.counters()["faults"]
    assert injected.get("ThrottlingException", 0) > 50 and injected.get("ServiceUnavailableException", 0) > 10
    sandbox.set_faults(Faults())
    final = ws.cli("plan", "--detailed-exitcode")
    assert final.code == 0, final.out + final.err
    assert set(snapshot(sandbox, owned=True)) == desired_keys()


# The write (counted by the sandbox, from the start of each run) at which each of the 20 applies is killed: the
# first, early ones, the middle, late ones. Every run has at least 140 writes: it gives all 140 sources a new tag.
KILL_AT = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 139, 12, 40, 70, 100, 120, 130, 4, 110, 60]


def apply_killed_at_write(ws: Workspace, sandbox: Any, n: int) -> bool:
    """Run apply in a child process and SIGKILL it when it sends its (n+1)th write: the sandbox holds that write
    (and every later one) unapplied, so exactly n writes reach moto. False when the apply ended first."""
    sandbox.hold_writes(after=n)
    proc = killable.start(ws.root, sandbox.env(), "apply", "--auto-approve", "--parallelism", "16")

    def release_when_done() -> None:
        proc.join()
        sandbox.release_writes()  # the held writes are dropped; wakes wait_held if the apply ended first

    watcher = threading.Thread(target=release_when_done)
    watcher.start()
    held = sandbox.wait_held(timeout=300)  # an event: the sandbox answers when write n+1 arrives
    if held:
        proc.kill()  # SIGKILL
    watcher.join()
    assert held == (proc.exitcode == -signal.SIGKILL), proc.exitcode
    return held


@pytest.mark.faults
def test_sigkill_at_the_nth_write_then_converge(ws: Workspace, sandbox: Any) -> None:
    unowned = seed_unowned(sandbox)
    assert len(KILL_AT) == 20
    for i, n in enumerate(KILL_AT):
        big_project(ws, "json" if i % 2 == 0 else "plain", f"v{i}")  # plain: five destinations replaced
        before = writes(sandbox)
        assert apply_killed_at_write(ws, sandbox, n), f"run {i} ended before write {n + 1}"
        assert writes(sandbox) - before == n  # the held writes never reached moto
        check_invariants(sandbox, unowned, desired_keys())
    apply_ok(ws)
    owned = snapshot(sandbox, owned=True)
    assert set(owned) == desired_keys()  # no orphans, no duplicates
    assert owned["dst:dest-0"]["outputFormat"] == "plain"
    assert {v["tags"]["rev"] for k, v in owned.items() if k.startswith("src:")} == {"v19"}


LOCK_PROJECT = PROJECT.format(project="tests") + "lock: {dynamodbTable: reconciler-locks, leaseSeconds: 30}\n"


def test_apply_lock(ws: Workspace, sandbox: Any) -> None:
    (ws.root / "reconciler.yaml").write_text(LOCK_PROJECT)
    ddb = client(sandbox, "dynamodb")
    ddb.create_table(TableName="reconciler-locks", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}])  # fmt: skip
    ws.write("main.yaml", base())
    now = int(time.time())
    ddb.put_item(TableName="reconciler-locks", Item={"LockID": {"S": "reconciler/tests"}, "id": {"S": "abc123"},
                 "holder": {"S": "ci@runner pid 7"}, "acquired": {"S": "2026-11-24T10:00:00Z"},
                 "expires": {"N": str(now + 600)}})  # fmt: skip
    before = writes(sandbox)
    t = time.perf_counter()
    held = ws.cli("apply", "--auto-approve")
    assert held.code == 1 and time.perf_counter() - t < 10
    assert (
        "the apply lock of project 'tests' is held by ci@runner pid 7 since 2026-11-24T10:00:00Z" in held.err
    )
    assert "`reconciler unlock abc123`" in held.err
    logs_writes = writes(sandbox) - before
    assert logs_writes == 1  # the failed conditional PutItem on the lock table, nothing else
    wrong = ws.cli("unlock", "nope")
    assert wrong.code == 1 and "no lock with id nope" in wrong.err
    assert ws.cli("unlock", "abc123").code == 0
    apply_ok(ws)
    assert ddb.scan(TableName="reconciler-locks")["Items"] == []  # released after the apply
    ddb.put_item(TableName="reconciler-locks", Item={"LockID": {"S": "reconciler/tests"}, "id": {"S": "old"},
                 "holder": {"S": "gone"}, "acquired": {"S": "x"}, "expires": {"N": str(now - 5)}})  # fmt: skip
    ws.write("main.yaml", base(source_tags="{cost: '3'}"))
    assert ws.cli("apply", "--auto-approve").code == 0  # an expired lease is taken over


def test_live_change_during_the_saved_plans_reread(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    ws.write("main.yaml", base(source_tags="{cost: '7'}"))
    assert ws.cli("plan", "--out", "plan.json").code == 0
    sandbox.set_faults(Faults(latency_ms=300))
    sandbox.reset_counters()
    env = {**os.environ, **{k: v for k, v in sandbox.env().items() if v}}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", "plan.json", "--auto-approve"], cwd=ws.root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip

    def change_when_the_reread_starts() -> None:
        # the apply's first request (its identity check) has reached the sandbox: its tag page is sent 300 ms
        # later and answered 600 ms later, after this change (itself applied 300 ms after it is sent)
        deadline = time.monotonic() + 60
        while sandbox.count("GetCallerIdentity") == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        client(sandbox).tag_resource(
            resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb", tags={"cost": "oob"}
        )

    changer = threading.Thread(target=change_when_the_reread_starts)
    marker = writes(sandbox)
    changer.start()
    out, err = proc.communicate(timeout=120)
    changer.join()
    assert proc.returncode == 1, out + err
    assert "the saved plan is stale; nothing was written" in err
    assert writes(sandbox) - marker == 1  # only the out-of-band TagResource


def test_secrets_never_printed(ws: Workspace, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    secret, token = "Zx9SECRETvalueNeverPrint000000000000000", "TOKENvalueNeverPrint1111111111"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    ws.write("main.yaml", base())
    outputs = [
        ws.cli("plan", "--debug", "--out", "plan.json"),
        ws.cli("apply", "--auto-approve", "--debug"),
        ws.cli("drift", "--debug", "--format", "json"),
    ]
    sandbox.set_faults(
        Faults(rules=[Rule(operation="DescribeDeliveries", code="AccessDeniedException", times=-1)])
    )
    outputs.append(ws.cli("plan", "--debug"))  # an error with its traceback
    assert "Traceback" in outputs[-1].err
    text = "".join(r.out + r.err for r in outputs) + (ws.root / "plan.json").read_text()
    for needle in (secret, token, "Signature=", "X-Amz-Security-Token", "Credential="):
        assert needle not in text


def test_policy_widening_is_flagged(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    wider = base().replace(f'Principal: {{AWS: "{A}"}}', f'Principal: {{AWS: ["{A}", "333333333333"]}}')
    ws.write("main.yaml", wider)
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    change = next(c for c in plan["changes"] if c["kind"] == "DeliveryDestinationPolicy")
    assert change["reason"].startswith("policy WIDENS access: allows AWS:333333333333 logs:CreateDelivery")


def test_huge_manifest_is_refused_quickly(ws: Workspace, sandbox: Any) -> None:
    big = ws.root / "manifests" / "huge.yaml"
    big.write_text("# filler\n" * 400_000)
    t = time.perf_counter()
    result = ws.cli("plan")
    assert result.code == 1 and time.perf_counter() - t < 5
    assert result.err.strip() == "error: manifests/huge.yaml:1: file is larger than 2097152 bytes; refused"
    assert sandbox.counters()["total"] == 0
