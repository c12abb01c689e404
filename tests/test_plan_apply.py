"""plan and apply through the real CLI against the sandbox: create, update, replace, prune, adopt, protect,
failure, stale plans. Each test ends by checking that a second plan is empty where the apply succeeded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from conftest import ROOT, Workspace, client, doc, docs

from reconciler.sandbox import Faults, Rule

A, B = "111111111111", "222222222222"
KB = f"arn:aws:bedrock:us-east-1:{A}:knowledge-base/KB00000001"
SSO = "arn:aws:sso:::instance/ssoins-0000000000000001"
POLICY = f"""
policy:
  Version: "2012-10-17"
  Statement:
    - Effect: Allow
      Principal: {{AWS: "{A}"}}
      Action: logs:CreateDelivery
      Resource: "arn:aws:logs:us-east-1:{B}:delivery-destination:central"
"""


def base(
    output_format: str = "plain",
    bucket: str = "arn:aws:s3:::logs-bucket/kb",
    kb_arn: str = KB,
    source_tags: str = "{cost: '1', owner: alice}",
    record_fields: str = "",
    source_name: str = "s-kb",
    with_policy: bool = True,
) -> str:
    return docs(
        doc(
            "DeliverySource",
            source_name,
            f"logType: APPLICATION_LOGS\nresourceArn: {kb_arn}\ntags: {source_tags}",
        ),
        doc(
            "DeliveryDestination", "d-s3", f"outputFormat: {output_format}\ndestinationResourceArn: {bucket}"
        ),
        doc(
            "Delivery",
            "kb-to-s3",
            f"source: {source_name}\ndestination: d-s3\ns3DeliveryConfiguration: {{suffixPath: 'kb/{{yyyy}}'}}"
            + (f"\nrecordFields: {record_fields}" if record_fields else ""),
        ),
        doc("DeliverySource", "s-sso", f"logType: ERROR_LOGS\nresourceArn: {SSO}"),
        doc(
            "DeliveryDestination",
            "central",
            f"outputFormat: json\ndestinationResourceArn: arn:aws:s3:::central-{B}"
            + (POLICY if with_policy else ""),
            account=B,
        ),
        doc("Delivery", "sso-to-central", "source: s-sso\ndestination: central"),
    )


def plan_json(ws: Workspace, *args: str) -> dict[str, Any]:
    result = ws.cli("plan", "--format", "json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


def actions(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["action"], f"{c['kind']}/{c['name']}") for c in plan["changes"]]


def plan_refused(ws: Workspace, line: str) -> None:
    """plan exits 1 with this line among its errors, and no traceback."""
    result = ws.cli("plan")
    lines = result.err.splitlines()
    assert result.code == 1 and any(line in x for x in lines) and "Traceback" not in result.err, result.err


def apply_ok(ws: Workspace, *args: str) -> None:
    result = ws.cli("apply", "--auto-approve", *args)
    assert result.code == 0, result.out + result.err
    again = ws.cli("plan", "--detailed-exitcode")
    assert again.code == 0 and again.out.strip().endswith("No changes."), again.out + again.err


def writes(box: Any) -> int:
    prefixes = ("Put", "Create", "Update", "Delete", "Tag", "Untag")
    return sum(c["count"] for c in box.counters()["counts"] if c["operation"].startswith(prefixes))


def test_create_everything_including_cross_account(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    first = ws.cli("plan", "--detailed-exitcode")
    assert first.code == 2
    assert first.out.rstrip().endswith("Plan: 7 to create, 0 to update, 0 to replace, 0 to delete.")
    plan = plan_json(ws)
    assert plan["format_version"] == 1 and plan["summary"]["create"] == 7
    kinds = [c["kind"] for c in plan["changes"]]
    assert kinds == sorted(
        kinds, key=["DeliverySource", "DeliveryDestination", "DeliveryDestinationPolicy", "Delivery"].index
    )
    policy = next(c for c in plan["changes"] if c["kind"] == "DeliveryDestinationPolicy")
    assert policy["account"] == B and policy["calls"] == ["PutDeliveryDestinationPolicy"]
    assert plan["api_calls"]["total"] > 0
    apply_ok(ws)
    logs_a, logs_b = client(sandbox), client(sandbox, account=B)
    deliveries = logs_a.describe_deliveries()["deliveries"]
    assert sorted(d["deliveryDestinationArn"].split(":")[4] for d in deliveries) == [A, B]
    for d in deliveries:
        tags = logs_a.list_tags_for_resource(resourceArn=d["arn"])["tags"]
        assert tags["reconciler:project"] == "tests" and tags["team"] == "platform"
    src = logs_a.list_tags_for_resource(resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb")[
        "tags"
    ]
    assert src == {"cost": "1", "owner": "alice", "team": "platform", "reconciler:project": "tests"}
    assert json.loads(
        logs_b.get_delivery_destination_policy(deliveryDestinationName="central")["policy"][
            "deliveryDestinationPolicy"
        ]
    )


def test_in_place_updates(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    ws.write(
        "main.yaml",
        base(
            bucket="arn:aws:s3:::logs-bucket/kb-v2",
            source_tags="{cost: '2', env: dev}",
            record_fields="[event, resource_id]",
        ),
    )
    plan = plan_json(ws)
    by_name = {f"{c['kind']}/{c['name']}": c for c in plan["changes"]}
    assert set(by_name) == {"DeliverySource/s-kb", "DeliveryDestination/d-s3", "Delivery/kb-to-s3"}
    src = by_name["DeliverySource/s-kb"]
    assert src["action"] == "update" and src["calls"] == ["TagResource", "UntagResource"]
    assert {(f["path"], f["before"], f["after"]) for f in src["fields"]} == {
        ("tags.cost", "1", "2"),
        ("tags.env", None, "dev"),
        ("tags.owner", "alice", None),
    }
    dest = by_name["DeliveryDestination/d-s3"]
    assert dest["action"] == "update" and dest["calls"] == ["PutDeliveryDestination"]
    assert by_name["Delivery/kb-to-s3"]["calls"] == ["UpdateDeliveryConfiguration"]
    apply_ok(ws)
    logs = client(sandbox)
    d = logs.get_delivery_destination(name="d-s3")["deliveryDestination"]
    assert d["deliveryDestinationConfiguration"]["destinationResourceArn"] == "arn:aws:s3:::logs-bucket/kb-v2"
    assert d["outputFormat"] == "plain"
    delivery = next(x for x in logs.describe_deliveries()["deliveries"] if x["deliverySourceName"] == "s-kb")
    assert delivery["recordFields"] == ["event", "resource_id"]


def test_replacements_cascade_to_deliveries(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    old_ids = {d["id"] for d in client(sandbox).describe_deliveries()["deliveries"]}
    ws.write("main.yaml", base(output_format="json", kb_arn=KB.replace("KB00000001", "KB00000002")))
    plan = plan_json(ws)
    assert actions(plan) == [
        ("replace", "Delivery/kb-to-s3"),
        ("replace", "DeliveryDestination/d-s3"),
        ("replace", "DeliverySource/s-kb"),
    ] or sorted(actions(plan)) == sorted(
        [
            ("replace", "Delivery/kb-to-s3"),
            ("replace", "DeliveryDestination/d-s3"),
            ("replace", "DeliverySource/s-kb"),
        ]
    )
    reasons = {c["name"]: c["reason"] for c in plan["changes"]}
    assert reasons["d-s3"] == "outputFormat cannot change in place"
    assert reasons["s-kb"] == "resourceArn cannot change in place"
    assert reasons["kb-to-s3"].startswith("its Delivery")
    assert plan["changes"][0]["kind"] == "Delivery"  # the delivery is deleted before what it uses
    apply_ok(ws)
    new = client(sandbox).describe_deliveries()["deliveries"]
    assert len(new) == 2 and len({d["id"] for d in new} - old_ids) == 1
    assert (
        client(sandbox).get_delivery_destination(name="d-s3")["deliveryDestination"]["outputFormat"] == "json"
    )


def test_rename_source_deletes_before_create(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    ws.write("main.yaml", base(source_name="s-kb-renamed"))
    plan = plan_json(ws)
    order = actions(plan)
    assert order.index(("delete", "DeliverySource/s-kb")) < order.index(
        ("create", "DeliverySource/s-kb-renamed")
    )
    assert ("replace", "Delivery/kb-to-s3") in order
    apply_ok(ws)
    names = {s["name"] for s in client(sandbox).describe_delivery_sources()["deliverySources"]}
    assert names == {"s-kb-renamed", "s-sso"}


def test_prune_owned_only_and_no_prune(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    logs = client(sandbox)
    logs.put_delivery_source(
        name="hand-made", resourceArn=KB.replace("KB00000001", "KB99999999"), logType="TRACES"
    )
    ws.write(
        "main.yaml", base().split("---\n")[0] + "---\n" + base().split("---\n")[1]
    )  # keep source + bucket only
    kept = plan_json(ws, "--no-prune")
    assert kept["changes"] == []
    plan = plan_json(ws)
    assert sorted(actions(plan)) == sorted(
        [
            ("delete", "Delivery/kb-to-s3"),
            ("delete", "Delivery/sso-to-central"),
            ("delete", "DeliverySource/s-sso"),
            ("delete", "DeliveryDestination/central"),
        ]
    )
    assert f"{A}/us-east-1/DeliverySource/hand-made" in plan["unmanaged"]
    apply_ok(ws)
    names = {s["name"] for s in logs.describe_delivery_sources()["deliverySources"]}
    assert names == {"s-kb", "hand-made"}


def test_unowned_name_needs_adopt(ws: Workspace, sandbox: Any) -> None:
    logs = client(sandbox)
    logs.put_delivery_source(name="s-kb", resourceArn=KB, logType="APPLICATION_LOGS", tags={"cost": "1"})
    ws.write("main.yaml", base())
    plan_refused(
        ws,
        "error: 111111111111/us-east-1/DeliverySource/s-kb (manifests/main.yaml:1) already exists in AWS without the "
        "reconciler:project tag; re-run with --adopt to take it over",
    )
    plan = plan_json(ws, "--adopt")
    adopted = next(c for c in plan["changes"] if c["name"] == "s-kb")
    assert (
        adopted["action"] == "update" and adopted.get("adopt") is True and "TagResource" in adopted["calls"]
    )
    result = ws.cli("apply", "--auto-approve", "--adopt")
    assert result.code == 0, result.err
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    tags = logs.list_tags_for_resource(resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb")["tags"]
    assert tags["reconciler:project"] == "tests"


def test_adopt_replaces_a_source_whose_log_type_differs(ws: Workspace, sandbox: Any) -> None:
    """logType cannot change in place: adopting such a source is a replace, never a PutDeliverySource update."""
    logs = client(sandbox)
    logs.put_delivery_source(name="s-kb", resourceArn=KB, logType="TRACES")
    ws.write("main.yaml", base())
    plan = plan_json(ws, "--adopt")
    adopted = next(c for c in plan["changes"] if c["name"] == "s-kb")
    assert adopted["action"] == "replace" and adopted.get("adopt") is True, adopted
    assert adopted["reason"] == "logType cannot change in place"
    assert adopted["calls"] == ["DeleteDeliverySource", "PutDeliverySource"]
    assert ws.cli("plan", "--adopt", "--out", "plan.json").code == 0
    result = ws.cli(
        "apply", "--auto-approve", "plan.json"
    )  # the saved plan: the fresh ownership check agrees
    assert result.code == 0, result.out + result.err
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    (source,) = [s for s in logs.describe_delivery_sources()["deliverySources"] if s["name"] == "s-kb"]
    assert source["logType"] == "APPLICATION_LOGS"
    tags = logs.list_tags_for_resource(resourceArn=source["arn"])["tags"]
    assert tags["reconciler:project"] == "tests"


def test_protect_tag_blocks_delete_and_replace(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    logs = client(sandbox)
    logs.tag_resource(
        resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb", tags={"protect": "true"}
    )
    assert ws.cli("plan", "--detailed-exitcode").code == 0  # a live protect tag is not drift
    ws.write("main.yaml", base(kb_arn=KB.replace("KB00000001", "KB00000003")))
    before = writes(sandbox)
    result = ws.cli("apply", "--auto-approve")
    assert result.code == 1
    assert (
        "DeliverySource/s-kb is protected by its live tag protect=true; refusing to replace it" in result.err
    )
    assert writes(sandbox) == before


def test_max_deletes_refuses(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    ws.write("main.yaml", base(output_format="json"))
    before = writes(sandbox)
    result = ws.cli("apply", "--auto-approve", "--max-deletes", "1")
    assert result.code == 1
    assert (
        "the plan deletes or replaces 2 resources, more than --max-deletes 1; nothing was written"
        in result.err
    )
    assert writes(sandbox) == before


def test_failure_skips_dependents_and_rerun_converges(
    ws: Workspace, sandbox: Any, quick_retries: Any
) -> None:
    ws.write("main.yaml", base())
    sandbox.set_faults(Faults(rules=[Rule(operation="PutDeliverySource", contains="s-kb", code="InternalFailure",
                                          message="boom", status=500, times=-1)]))  # fmt: skip
    result = ws.cli("apply", "--auto-approve")
    assert result.code == 1
    assert "FAILED create 111111111111/us-east-1/DeliverySource/s-kb: PutDeliverySource" in result.out
    assert (
        "skipped create 111111111111/us-east-1/Delivery/kb-to-s3: skipped: 111111111111/us-east-1/DeliverySource/s-kb failed"
        in result.out
    )
    assert "Apply: 5 done, 1 failed, 1 skipped" in result.out
    live = client(sandbox).describe_deliveries()["deliveries"]
    assert [d["deliverySourceName"] for d in live] == ["s-sso"]  # independent work carried on
    sandbox.set_faults(Faults())
    apply_ok(ws)


def test_stale_saved_plan_is_refused(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    ws.write("main.yaml", base(source_tags="{cost: '9'}"))
    saved = ws.cli("plan", "--out", "plan.json")
    assert saved.code == 0
    client(sandbox).tag_resource(
        resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb", tags={"x": "y"}
    )
    before = writes(sandbox)
    result = ws.cli("apply", "plan.json")
    assert result.code == 1
    assert "error: the saved plan is stale; nothing was written:" in result.err
    assert "111111111111/us-east-1/DeliverySource/s-kb: changed since the plan was made" in result.err
    assert writes(sandbox) == before
    fresh = ws.cli("plan", "--out", "plan.json")
    assert fresh.code == 0
    applied = ws.cli("apply", "plan.json", "--auto-approve")
    assert applied.code == 0, applied.err
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    doc_ = json.loads((ws.root / "plan.json").read_text())
    doc_["format_version"] = 99
    (ws.root / "plan.json").write_text(json.dumps(doc_))
    bad = ws.cli("apply", "plan.json", "--auto-approve")
    assert bad.code == 1 and "unknown plan format_version 99" in bad.err


def test_no_tty_without_auto_approve_writes_nothing(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    env = {**os.environ, **{k: v for k, v in sandbox.env().items() if v}}
    for cmd in (
        [sys.executable, "-m", "reconciler"],
        [os.path.join(os.path.dirname(sys.executable), "reconciler")],
    ):
        proc = subprocess.run(
            [*cmd, "apply"], cwd=ws.root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        assert proc.returncode == 1
        assert proc.stderr.strip().endswith(
            "error: refusing to write without --auto-approve: no terminal to confirm on; nothing was written"
        )
    assert writes(sandbox) == 0


def test_pagination_beyond_fifty(ws: Workspace, sandbox: Any) -> None:
    ws.write(
        "many.yaml",
        """\
        apiVersion: reconciler/v1
        kind: DeliveryDestination
        metadata: {name: bus-logs}
        spec: {destinationResourceArn: "arn:aws:logs:us-east-1:111111111111:log-group:buses"}
        {% for i in range(60) %}
        ---
        apiVersion: reconciler/v1
        kind: DeliverySource
        metadata: {name: bus-{{ i }}}
        spec: {logType: INFO_LOGS, resourceArn: "arn:aws:events:us-east-1:111111111111:event-bus/b{{ i }}"}
        ---
        apiVersion: reconciler/v1
        kind: Delivery
        metadata: {name: bus-{{ i }}}
        spec: {source: bus-{{ i }}, destination: bus-logs}
        {% endfor %}
        """,
    )
    apply_ok(ws)
    sandbox.reset_counters()
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    assert sandbox.count("DescribeDeliverySources", A) == 2 and sandbox.count("DescribeDeliveries", A) == 2


def test_plan_is_identical_for_shuffled_files(
    ws: Workspace, sandbox: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    parts = base().split("---\n")
    ws.write("all.yaml", base())
    one = plan_json(ws)
    other = Workspace(tmp_path_factory.mktemp("shuffled"))
    for i, part in enumerate(reversed(parts)):
        other.write(f"{chr(122 - i)}.yaml", part)
    two = plan_json(other)
    strip = lambda p: [{k: v for k, v in c.items() if k != "origin"} for c in p["changes"]]  # noqa: E731
    assert strip(one) == strip(two)


def test_markdown_and_targets(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    md = ws.cli("plan", "--format", "markdown")
    assert md.code == 0 and md.out.startswith("<!-- reconciler-plan -->")
    assert "| 222222222222 | us-east-1 | DeliveryDestinationPolicy | create | 1 |" in md.out
    assert md.out.count("<details>") == 7
    targeted = plan_json(ws, "--target", "Delivery/kb-to-s3")
    assert sorted(actions(targeted)) == [
        ("create", "Delivery/kb-to-s3"),
        ("create", "DeliveryDestination/d-s3"),
        ("create", "DeliverySource/s-kb"),
    ]
    excluded = plan_json(ws, "--exclude", "*central*", "--exclude", "Delivery/sso-*")
    assert all("central" not in c["name"] for c in excluded["changes"])


def test_policy_compared_by_meaning_and_dropped(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    same = {
        "Statement": [
            {
                "Resource": [f"arn:aws:logs:us-east-1:{B}:delivery-destination:central"],
                "Action": ["logs:CreateDelivery"],
                "Principal": {"AWS": [A]},
                "Effect": "Allow",
            }
        ],
        "Version": "2012-10-17",
    }
    client(sandbox, account=B).put_delivery_destination_policy(
        deliveryDestinationName="central", deliveryDestinationPolicy=json.dumps(same)
    )
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    moved = base(with_policy=False).replace(
        "source: s-sso\n  destination: central", "source: s-sso\n  destination: d-s3"
    )
    ws.write("main.yaml", moved)
    plan = plan_json(ws)
    by_name = {(c["kind"], c["name"]): c for c in plan["changes"]}
    assert by_name[("DeliveryDestinationPolicy", "central")]["calls"] == ["DeleteDeliveryDestinationPolicy"]
    replaced = by_name[("Delivery", "sso-to-central")]
    assert (
        replaced["action"] == "replace"
        and replaced["reason"] == "source/destination of a delivery cannot change"
    )
    apply_ok(ws)
    assert (
        client(sandbox, account=B).get_delivery_destination_policy(deliveryDestinationName="central")[
            "policy"
        ]
        == {}
    )


def test_cloudfront_suffix_prefix_is_not_drift(ws: Workspace, sandbox: Any) -> None:
    ws.write(
        "cf.yaml",
        docs(
            doc(
                "DeliverySource",
                "cdn",
                f"logType: ACCESS_LOGS\nresourceArn: arn:aws:cloudfront::{A}:distribution/E1",
            ),
            doc("DeliveryDestination", "cdn-s3", "destinationResourceArn: arn:aws:s3:::cdn-logs"),
            doc(
                "Delivery",
                "cdn",
                "source: cdn\ndestination: cdn-s3\ns3DeliveryConfiguration: {suffixPath: '{yyyy}'}",
            ),
        ),
    )
    apply_ok(ws)
    live = client(sandbox).describe_deliveries()["deliveries"][0]
    assert live["s3DeliveryConfiguration"]["suffixPath"] == "AWSLogs/{account-id}/CloudFront/{yyyy}"


def test_example_project_round_trip(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    import shutil

    root = tmp_path_factory.mktemp("example")
    shutil.copy(ROOT / "reconciler.yaml", root)
    shutil.copytree(ROOT / "manifests", root / "manifests")
    ws = Workspace.__new__(Workspace)
    ws.root = root
    apply_ok(ws)


def test_resource_arn_taken_by_an_unmanaged_source(ws: Workspace, sandbox: Any) -> None:
    client(sandbox).put_delivery_source(name="by-hand", resourceArn=KB, logType="APPLICATION_LOGS")
    ws.write("main.yaml", base())
    plan_refused(
        ws,
        "error: 111111111111/us-east-1/DeliverySource/s-kb (manifests/main.yaml:1): resourceArn is already used for APPLICATION_LOGS by "
        "111111111111/us-east-1/DeliverySource/by-hand (owner: none; not being deleted)",
    )
