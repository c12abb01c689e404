"""Property tests (hypothesis) over random desired and live states of all four kinds:
the plan ignores input order; no plan deletes or replaces what is unowned or protected; and, against the sandbox,
apply then plan is empty."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import Workspace, client, doc, docs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import diff as diffmod
from reconciler import plan as planmod
from reconciler.models import Kind, Resource

A, R, PROJECT = "111111111111", "us-east-1", "tests"
SRC = [f"s{i}" for i in range(5)]
DST = [f"d{i}" for i in range(3)]


def kb(i: int) -> str:
    return f"arn:aws:bedrock:{R}:{A}:knowledge-base/KB0000000{i}"


def dest_arn(name: str) -> str:
    return f"arn:aws:logs:{R}:{A}:delivery-destination:{name}"


owners = st.sampled_from([PROJECT, PROJECT, None, "other-project"])


@st.composite
def resources(draw: Any, live: bool) -> list[Resource]:
    out: list[Resource] = []
    used_arns: set[int] = set()
    for name in draw(st.lists(st.sampled_from(SRC), unique=True)):
        k = draw(st.integers(0, 5).filter(lambda x: x not in used_arns))
        used_arns.add(k)
        out.append(Resource(Kind.SOURCE, A, R, name, {"resourceArn": kb(k), "logType": draw(st.sampled_from(["APPLICATION_LOGS", "RUNTIME_LOGS"])),
                            "deliverySourceConfiguration": {}}, {"t": draw(st.sampled_from(["1", "2"]))},
                            arn=f"arn:aws:logs:{R}:{A}:delivery-source:{name}"))  # fmt: skip
    for name in draw(st.lists(st.sampled_from(DST), unique=True)):
        fmt = draw(st.sampled_from(["json", "plain"]))
        out.append(Resource(Kind.DESTINATION, A, R, name, {"deliveryDestinationType": "CWL", "outputFormat": fmt,
                            "destinationResourceArn": f"arn:aws:logs:{R}:{A}:log-group:{name}-{draw(st.integers(0, 1))}",
                            "roleArn": None}, {}, arn=dest_arn(name)))  # fmt: skip
        if draw(st.booleans()):
            principal = draw(st.sampled_from(["222222222222", "333333333333"]))
            out.append(Resource(Kind.POLICY, A, R, name, {"policy": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "logs:CreateDelivery",
                 "Resource": dest_arn(name)}]}}, arn=dest_arn(name)))  # fmt: skip
    sources = [r.name for r in out if r.kind is Kind.SOURCE]
    dests = [r.name for r in out if r.kind is Kind.DESTINATION]
    if sources and dests:
        for s in draw(st.lists(st.sampled_from(sources), unique=True)):
            d = draw(st.sampled_from(dests))
            out.append(Resource(Kind.DELIVERY, A, R, f"{s}-{d}", {"deliverySourceName": s, "deliveryDestinationArn": dest_arn(d),
                                "deliveryDestinationType": "CWL", "recordFields": None, "fieldDelimiter": None,
                                "s3DeliveryConfiguration": None}, {}, id=f"id{s}{d}" if live else None))  # fmt: skip
    if live:
        for r in out:
            r.owner = draw(owners)
            r.protected = draw(st.booleans()) and draw(st.booleans())
            if r.kind is Kind.DELIVERY:
                r.attrs.update(recordFields=["a"], fieldDelimiter="")
        for r in out:
            if r.kind is Kind.POLICY:  # a policy has no tags: it reads as its destination's (aws/reader.py)
                dest = next(d for d in out if d.kind is Kind.DESTINATION and d.name == r.name)
                r.owner, r.protected = dest.owner, dest.protected
    return out


def plan_doc(desired: list[Resource], live: list[Resource]) -> tuple[dict[str, Any], list[str]]:
    result = diffmod.diff(desired, live, PROJECT)
    plan = planmod.build(result.changes, PROJECT)
    return planmod.to_json(plan, full=True), result.errors


@settings(max_examples=300, deadline=None, derandomize=True)
@given(resources(live=False), resources(live=True), st.randoms(use_true_random=False))
def test_plan_ignores_input_order(desired: list[Resource], live: list[Resource], rnd: random.Random) -> None:
    first = plan_doc(desired, live)
    shuffled_desired, shuffled_live = list(desired), list(live)
    rnd.shuffle(shuffled_desired)
    rnd.shuffle(shuffled_live)
    assert plan_doc(shuffled_desired, shuffled_live) == first


@settings(max_examples=300, deadline=None, derandomize=True)
@given(resources(live=False), resources(live=True), st.booleans())
def test_never_deletes_unowned_or_protected(
    desired: list[Resource], live: list[Resource], adopt: bool
) -> None:
    result = diffmod.diff(desired, live, PROJECT, adopt=adopt)
    for change in result.changes:
        before = change.before
        if change.action is diffmod.Action.DELETE:
            assert before is not None and before.owner == PROJECT  # prune needs our tag, whatever the names
        destructive = change.action in (diffmod.Action.DELETE, diffmod.Action.REPLACE)
        if destructive and before is not None and (before.protected or before.owner not in (PROJECT, None)):
            assert result.errors, f"{change.address} would be {change.action.value}d"
        if change.action is diffmod.Action.UPDATE and before is not None and before.owner != PROJECT:
            assert (
                change.adopt and before.owner is None
            )  # only --adopt touches what is not ours, and never others'
    for r in live:
        if r.owner not in (PROJECT, None) and any(d.key == r.key for d in desired):
            assert any("is owned by project" in e for e in result.errors)


# ---- against the sandbox: apply then plan is empty -----------------------------------------------------------


def manifest_text(desired: list[Resource]) -> str:
    parts = []
    for r in desired:
        if r.kind is Kind.SOURCE:
            spec = f"logType: {r.attrs['logType']}\nresourceArn: {r.attrs['resourceArn']}\ntags: {json.dumps(r.tags)}"
        elif r.kind is Kind.DESTINATION:
            spec = f"outputFormat: {r.attrs['outputFormat']}\ndestinationResourceArn: {r.attrs['destinationResourceArn']}"
            pol = next((p for p in desired if p.kind is Kind.POLICY and p.name == r.name), None)
            if pol is not None:
                spec += f"\npolicy: {json.dumps(pol.attrs['policy'])}"
        elif r.kind is Kind.DELIVERY:
            dest = r.attrs["deliveryDestinationArn"].rsplit(":", 1)[1]
            spec = f"source: {r.attrs['deliverySourceName']}\ndestination: {dest}"
        else:
            continue
        parts.append(doc(r.kind.value, r.name, spec))
    return docs(*parts) if parts else "# nothing\n"


def seed_live(box: Any, live: list[Resource]) -> None:
    logs = client(box)
    for r in live:
        tags = dict(r.tags)
        if r.owner is not None:
            tags["reconciler:project"] = r.owner
        if r.protected:
            tags["protect"] = "true"
        if r.kind is Kind.SOURCE:
            logs.put_delivery_source(
                name=r.name,
                resourceArn=r.attrs["resourceArn"],
                logType=r.attrs["logType"],
                **({"tags": tags} if tags else {}),
            )
        elif r.kind is Kind.DESTINATION:
            logs.put_delivery_destination(
                name=r.name,
                outputFormat=r.attrs["outputFormat"],
                **({"tags": tags} if tags else {}),
                deliveryDestinationConfiguration={
                    "destinationResourceArn": r.attrs["destinationResourceArn"]
                },
            )
        elif r.kind is Kind.POLICY:
            logs.put_delivery_destination_policy(
                deliveryDestinationName=r.name, deliveryDestinationPolicy=json.dumps(r.attrs["policy"])
            )
        else:
            logs.create_delivery(deliverySourceName=r.attrs["deliverySourceName"], deliveryDestinationArn=r.attrs["deliveryDestinationArn"],
                                 **({"tags": tags} if tags else {}))  # fmt: skip


@pytest.mark.faults
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(resources(live=False), resources(live=True))
def test_apply_then_plan_is_empty(sandbox: Any, desired: list[Resource], live: list[Resource]) -> None:
    sandbox.reset()
    seed_live(sandbox, live)
    root = Path(tempfile.mkdtemp())
    try:
        ws = Workspace(root)
        ws.write("m.yaml", manifest_text(desired))
        result = ws.cli("apply", "--auto-approve")
        if result.code == 1 and "error:" in result.err:
            # refused before writing: a name owned by someone else, a protected resource, or a delete blocked by
            # a delivery we do not own; every such refusal names the resource
            assert any(w in result.err for w in ("owned by project", "protected", "without the reconciler:project",
                                                  "cannot be deleted", "already used by")), result.err  # fmt: skip
            return
        assert result.code == 0, result.out + result.err
        again = ws.cli("plan", "--detailed-exitcode")
        assert again.code == 0, again.out + again.err
    finally:
        shutil.rmtree(root, ignore_errors=True)
