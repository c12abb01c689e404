"""GitOps workflows through the real CLI: drift (exit codes, ignore rules, unreadable scopes), scopes and --scope,
export then adopt, saved-plan rendering, workflow files against GitHub's schema, the markdown size budget."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Workspace, client
from test_plan_apply import KB, A, B, apply_ok, base, writes

from reconciler import plan as planmod
from reconciler import render
from reconciler.diff import Action, Change
from reconciler.models import Kind, Resource
from reconciler.sandbox import Faults, Rule


def drift(ws: Workspace, *args: str) -> tuple[int, dict[str, Any]]:
    result = ws.cli("drift", "--format", "json", *args)
    assert result.code in (0, 2, 3), result.err
    return result.code, json.loads(result.out)


def test_drift_changed_missing_unmanaged(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    before = writes(sandbox)
    assert drift(ws)[0] == 0
    assert ws.cli("drift").out.strip().endswith("In sync.")
    logs = client(sandbox)
    logs.put_delivery_source(name="by-hand", resourceArn=KB.replace("01", "77"), logType="TRACES")
    code, rep = drift(ws)
    assert code == 0 and f"{A}/us-east-1/DeliverySource/by-hand" in rep["unmanaged"]  # informational only
    logs.tag_resource(resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb", tags={"cost": "999"})
    kb_delivery = next(
        d for d in logs.describe_deliveries()["deliveries"] if d["deliverySourceName"] == "s-kb"
    )
    logs.delete_delivery(id=kb_delivery["id"])
    marker = writes(sandbox)
    code, rep = drift(ws)
    assert code == 2
    status = {e["address"]: e for e in rep["drift"]}
    changed = status[f"{A}/us-east-1/DeliverySource/s-kb"]
    assert changed["status"] == "changed" and changed["fields"] == [
        {"path": "tags.cost", "before": "999", "after": "1"}
    ]
    assert status[f"{A}/us-east-1/Delivery/kb-to-s3"]["status"] == "missing"
    assert writes(sandbox) == marker  # drift is strictly read-only
    md = ws.cli("drift", "--format", "markdown")
    assert md.code == 2 and md.out.startswith("<!-- reconciler-drift -->") and "| changed |" in md.out
    assert before <= marker


def test_ignore_rules_and_expiry(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    client(sandbox).tag_resource(
        resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb", tags={"cost": "5"}
    )
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    with (ws.root / "reconciler.yaml").open("a") as f:
        f.write(
            f"ignore:\n  - {{address: 'DeliverySource/s-kb', fields: [tags.cost], reason: finance edits it, until: '{tomorrow}'}}\n"
        )
    code, rep = drift(ws)
    assert code == 0 and rep["ignored"] == [f"{A}/us-east-1/DeliverySource/s-kb:tags.cost"]
    text = (ws.root / "reconciler.yaml").read_text().replace(tomorrow, "2020-01-01")
    (ws.root / "reconciler.yaml").write_text(text)
    code, rep = drift(ws)
    assert code == 2 and rep["expired_ignore_rules"][0]["reason"] == "finance edits it"
    assert (
        "Expired ignore rule (no longer applied): DeliverySource/s-kb until 2020-01-01" in ws.cli("drift").out
    )


def test_drift_exit_3_when_a_scope_is_denied(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    sandbox.set_faults(Faults(rules=[Rule(operation="DescribeDeliveryDestinations", account=B,
                                          code="AccessDeniedException", message="denied", times=-1)]))  # fmt: skip
    code, rep = drift(ws)
    assert code == 3 and not rep["in_sync"]
    assert "AccessDeniedException" in rep["unreadable"][f"{B}/us-east-1"]
    text = ws.cli("drift")
    assert text.code == 3 and "Drift check incomplete: 1 scope(s) could not be read." in text.out
    plan = ws.cli("plan")
    assert plan.code == 1 and "AccessDeniedException" in plan.err and "Traceback" not in plan.err


def test_scopes_and_scope_slicing(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    matrix = json.loads(ws.cli("scopes", "--format", "json").out)
    compat = [{k: job[k] for k in ("account", "region", "scope")} for job in matrix["include"]]
    assert compat == [{"account": A, "region": "us-east-1", "scope": f"{A}/us-east-1"},
                      {"account": B, "region": "us-east-1", "scope": f"{B}/us-east-1"}]  # fmt: skip
    only_b = json.loads(ws.cli("plan", "--format", "json", "--scope", f"{B}/us-east-1").out)
    assert {c["account"] for c in only_b["changes"]} == {B} and len(only_b["changes"]) == 2
    assert ws.cli("apply", "--auto-approve", "--scope", f"{B}/us-east-1").code == 0
    assert ws.cli("plan", "--detailed-exitcode", "--scope", f"{B}/us-east-1").code == 0
    assert ws.cli("plan", "--detailed-exitcode").code == 2  # the other scope still has work


def test_export_then_adopt_gives_an_empty_plan(sandbox: Any, tmp_path: Path) -> None:
    logs, other = client(sandbox), client(sandbox, account=B)
    logs.put_delivery_source(name="kb", resourceArn=KB, logType="APPLICATION_LOGS", tags={"team": "data"})
    logs.put_delivery_source(
        name="cdn", resourceArn=f"arn:aws:cloudfront::{A}:distribution/E9", logType="ACCESS_LOGS"
    )
    s3 = logs.put_delivery_destination(name="s3", outputFormat="parquet",
                                       deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::b"})  # fmt: skip
    central = other.put_delivery_destination(
        name="central",
        deliveryDestinationConfiguration={
            "destinationResourceArn": f"arn:aws:logs:us-east-1:{B}:log-group:c"
        },
    )["deliveryDestination"]["arn"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": A},
              "Action": "logs:CreateDelivery", "Resource": central}]}  # fmt: skip
    other.put_delivery_destination_policy(
        deliveryDestinationName="central", deliveryDestinationPolicy=json.dumps(policy)
    )
    logs.create_delivery(deliverySourceName="kb", deliveryDestinationArn=s3["deliveryDestination"]["arn"],
                         s3DeliveryConfiguration={"suffixPath": "kb/{yyyy}"})  # fmt: skip
    logs.create_delivery(deliverySourceName="cdn", deliveryDestinationArn=central)
    ws = Workspace(tmp_path)
    exported = ws.cli("export", "--out", "manifests")
    assert exported.code == 0, exported.err
    assert sorted(p.name for p in (tmp_path / "manifests").iterdir()) == [
        f"{A}-us-east-1.yaml",
        f"{B}-us-east-1.yaml",
    ]
    assert ws.cli("validate").code == 0
    refused = ws.cli("plan")
    assert refused.code == 1 and "--adopt" in refused.err
    adopted = ws.cli("apply", "--auto-approve", "--adopt")
    assert adopted.code == 0, adopted.out + adopted.err
    final = ws.cli("plan", "--detailed-exitcode")
    assert final.code == 0, final.out
    assert len(logs.describe_deliveries()["deliveries"]) == 2  # adopted, not duplicated


def test_show_renders_a_saved_plan(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    assert ws.cli("plan", "--out", "p.json").code == 0
    sandbox.reset_counters()
    md = ws.cli("show", "p.json", "--format", "markdown")
    assert md.code == 0 and md.out.startswith("<!-- reconciler-plan -->") and "7 to create" in md.out
    assert sandbox.counters()["total"] == 0


@pytest.mark.parametrize(
    "workflow", sorted((ROOT / ".github" / "workflows").glob("*.yml")), ids=lambda p: p.name
)
def test_workflow_files_are_schema_valid(workflow: Path) -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_markdown_comment_stays_within_budget() -> None:
    changes = []
    for i in range(3000):
        r = Resource(Kind.SOURCE, A, "us-east-1", f"source-{i:05d}",
                     {"resourceArn": f"arn:aws:bedrock:us-east-1:{A}:knowledge-base/KB{i:08d}", "logType": "TRACES",
                      "deliverySourceConfiguration": {}}, tags={"team": "platform", "i": str(i)})  # fmt: skip
        changes.append(
            Change(Action.CREATE if i % 3 else Action.DELETE, None if i % 3 else r, r if i % 3 else None)
        )
    plan = planmod.build(changes, "tests")
    md = render.plan_markdown(plan)
    assert len(md) <= render.MARKDOWN_BUDGET
    assert "changes not shown to stay within GitHub's comment size" in md
    first_details = md.index("<details>")
    assert "— delete" in md[first_details : first_details + 300]  # destructive changes first
    assert md.count("<details>") == md.count("</details>")


def test_pre_commit_hook_declared() -> None:
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hooks[0]["entry"] == "reconciler validate"
