"""Never touch what is not ours, never miss what is: declared scopes, partial paths, saved-plan checks, pair
adoption, protection and ownership labels, the public-policy guardrail, replace rollback, emulator faults.
Each test drives the real CLI against the sandbox."""

from __future__ import annotations

import json
from typing import Any

from conftest import Workspace, client, doc
from test_plan_apply import KB, A, B, apply_ok, base, writes

SRC_WEST = doc(
    "DeliverySource",
    "s-west",
    "logType: APPLICATION_LOGS\nresourceArn: arn:aws:bedrock:us-west-2:111111111111:knowledge-base/KBWEST0001",
    region="us-west-2",
)


def set_regions(ws: Workspace, regions: list[str] | None = None, account: bool = True) -> None:
    text = (ws.root / "reconciler.yaml").read_text()
    if regions is not None:
        text = text.replace("region: us-east-1\n", f"region: us-east-1\nregions: [{', '.join(regions)}]\n")
    if not account:
        text = text.replace('account: "111111111111"\n', "")
    (ws.root / "reconciler.yaml").write_text(text)


# ---- 1. declared scopes -------------------------------------------------------------------------------------


def test_a_region_outside_the_project_is_a_validation_error(ws: Workspace, sandbox: Any) -> None:
    path = ws.write("west.yaml", SRC_WEST)
    for command in ("validate", "plan"):
        result = ws.cli(command)
        assert result.code == 1 and result.err.splitlines() == [
            f"error: manifests/{path.name}:5: DeliverySource/s-west: metadata.region: us-west-2 is not one of "
            "the project's regions (us-east-1); add it to regions in reconciler.yaml"
        ], result.err
    assert sandbox.counters()["total"] == 0
    ws.write(
        "west.yaml", SRC_WEST.replace('region: "us-west-2"', 'region: "us-west-2"\n  account: "333333333333"')
    )
    result = ws.cli("validate")
    assert (
        result.code == 1
        and (
            f"error: manifests/{path.name}:6: DeliverySource/s-west: metadata.account: 333333333333 is not one of the "
            f"project's accounts ({A}, {B}); add it to accounts in reconciler.yaml"
        )
        in result.err.splitlines()
    ), result.err


def test_prune_and_drift_cover_every_declared_region(ws: Workspace, sandbox: Any) -> None:
    set_regions(ws, ["us-east-1", "us-west-2"])
    ws.write("west.yaml", SRC_WEST)
    apply_ok(ws)
    assert (
        client(sandbox, region="us-west-2").describe_delivery_sources()["deliverySources"][0]["name"]
        == "s-west"
    )
    ws.remove("west.yaml")
    ws.write("east.yaml", doc("DeliverySource", "s-kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"))
    drift = ws.cli("drift", "--format", "json")
    assert drift.code == 2, drift.out + drift.err
    entries = {e["address"]: e["status"] for e in json.loads(drift.out)["drift"]}
    assert entries[f"{A}/us-west-2/DeliverySource/s-west"] == "unexpected"
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    assert ("delete", f"{A}/us-west-2/DeliverySource/s-west") in [
        (c["action"], c["address"]) for c in plan["changes"]
    ]
    assert plan["scopes"] == [f"{A}/us-east-1", f"{A}/us-west-2", f"{B}/us-east-1", f"{B}/us-west-2"]
    apply_ok(ws)
    assert client(sandbox, region="us-west-2").describe_delivery_sources()["deliverySources"] == []


def test_scopes_lists_every_declared_scope_and_resolves_the_caller(ws: Workspace, sandbox: Any) -> None:
    set_regions(ws, ["us-east-1", "eu-west-1"], account=False)
    result = ws.cli("scopes")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [f"{A}/eu-west-1", f"{A}/us-east-1", f"{B}/eu-west-1", f"{B}/us-east-1"]
    assert "(caller)" not in result.out
    matrix = json.loads(ws.cli("scopes", "--format", "json").out)
    assert [m["scope"] for m in matrix["include"]] == result.out.splitlines()


def test_scopes_without_account_or_credentials_fails_in_one_line(
    ws: Workspace, sandbox: Any, monkeypatch: Any
) -> None:
    set_regions(ws, account=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = ws.cli("scopes")
    assert result.code == 1 and len(result.err.splitlines()) == 1, result.err
    assert "sts:GetCallerIdentity failed" in result.err and "set account in reconciler.yaml" in result.err


# ---- 2. a partial PATH never prunes the rest ----------------------------------------------------------------


def test_a_partial_path_never_prunes_the_rest(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    ws.write(
        "alb.yaml", doc("DeliverySource", "s-kb2", f"logType: APPLICATION_LOGS\nresourceArn: {KB[:-1]}2")
    )
    apply_ok(ws)
    text = ws.cli("plan", "manifests/alb.yaml")
    assert text.code == 0 and text.out.splitlines()[0] == (
        "prune off: only 1 of 2 manifest files was read; --prune to delete what they do not name"
    ), text.out
    assert text.out.rstrip().endswith("No changes.")
    plan = json.loads(ws.cli("plan", "--format", "json", "manifests/alb.yaml").out)
    assert plan["prune"] is False and plan["changes"] == [] and plan["notes"][0].startswith("prune off:")
    marker = writes(sandbox)
    assert ws.cli("apply", "--auto-approve", "manifests/alb.yaml").code == 0
    assert writes(sandbox) == marker  # nothing deleted
    full = json.loads(ws.cli("plan", "--format", "json", "manifests/").out)
    assert full["prune"] is True and full["notes"] == []
    pruning = json.loads(ws.cli("plan", "--format", "json", "--prune", "manifests/alb.yaml").out)
    assert pruning["prune"] is True and pruning["summary"]["delete"] == 6
    both = ws.cli("plan", "--prune", "--no-prune", "manifests/alb.yaml")
    assert both.code == 1 and "contradict" in both.err
