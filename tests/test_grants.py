"""grants: managed through the CLI against the sandbox: create, merge (others byte-for-byte), prune, refuse."""

from __future__ import annotations

import json
from typing import Any

from conftest import Workspace, client, doc, docs
from test_writepath import KB, bucket_with, cwl_manifests, fh_manifests, findings, firehose, s3_manifests

from reconciler.grants import SID_PREFIX, merge

A = "111111111111"
ADMINS = {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
          "Action": "s3:*", "Resource": "arn:aws:s3:::app-logs-bucket/*"}  # fmt: skip
TLS = {"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
       "Resource": ["arn:aws:s3:::app-logs-bucket", "arn:aws:s3:::app-logs-bucket/*"],
       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip


GROUP = f"arn:aws:logs:us-east-1:{A}:log-group:app-logs"
ES = {"Sid": "SearchSlowLogs", "Effect": "Allow", "Principal": {"Service": "es.amazonaws.com"},
      "Action": ["logs:PutLogEvents", "logs:CreateLogStream"], "Resource": f"{GROUP}:*"}  # fmt: skip


def managed(ws: Workspace) -> None:
    (ws.root / "reconciler.yaml").write_text((ws.root / "reconciler.yaml").read_text() + "grants: managed\n")


def policy_of(s3: Any) -> list[dict[str, Any]]:
    return json.loads(s3.get_bucket_policy(Bucket="app-logs-bucket")["Policy"])["Statement"]  # type: ignore[no-any-return]


def test_merge_keeps_every_other_statement_and_its_order() -> None:
    text = json.dumps(
        {"Version": "2012-10-17", "Id": "x", "Statement": [ADMINS, {"Sid": SID_PREFIX + "old"}, TLS]}
    )
    new = {"Sid": SID_PREFIX + "new", "Effect": "Allow"}
    merged = json.loads(merge(text, {new["Sid"]: new}) or "")
    assert merged["Id"] == "x" and merged["Statement"] == [ADMINS, TLS, new]
    replaced = json.loads(merge(text, {SID_PREFIX + "old": new}) or "")
    assert replaced["Statement"] == [ADMINS, new, TLS]  # an existing statement keeps its place
    assert merge(json.dumps({"Statement": [{"Sid": SID_PREFIX + "a"}]}), {}) is None


def test_managed_grant_is_created_merged_and_pruned(ws: Workspace, sandbox: Any) -> None:
    s3 = bucket_with(sandbox, ADMINS, TLS)
    managed(ws)
    ws.write("main.yaml", s3_manifests())
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    kinds = [c["kind"] for c in plan["changes"]]
    assert kinds == ["DeliverySource", "DeliveryDestination", "DestinationGrant", "Delivery"]
    grant = plan["changes"][2]
    assert grant["action"] == "create" and grant["calls"] == ["GetBucketPolicy", "PutBucketPolicy"]
    assert plan["findings"] == []  # judged on the policy as it will be
    assert ws.cli("apply", "--auto-approve").code == 0
    statements = policy_of(s3)
    assert statements[:2] == [ADMINS, TLS]  # byte-for-byte as JSON, order kept
    [ours] = statements[2:]
    assert (
        ours["Sid"].startswith(SID_PREFIX)
        and ours["Resource"] == f"arn:aws:s3:::app-logs-bucket/AWSLogs/{A}/*"
    )
    assert ours["Condition"]["ArnLike"]["aws:SourceArn"] == [f"arn:aws:logs:us-east-1:{A}:delivery-source:*"]
    again = ws.cli("plan", "--detailed-exitcode")
    assert again.code == 0, again.out
    assert len(sandbox.deliver()["delivered"]) == 1
    # someone adds a statement of their own meanwhile; Terraform strips ours: the plan puts it back, theirs stays
    mine = dict(ADMINS, Sid="ReadOnly", Action="s3:GetObject")
    s3.put_bucket_policy(Bucket="app-logs-bucket", Policy=json.dumps({"Version": "2012-10-17",
                                                                      "Statement": [ADMINS, TLS, mine]}))  # fmt: skip
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    assert [(c["kind"], c["action"]) for c in plan["changes"]] == [("DestinationGrant", "create")]
    assert ws.cli("apply", "--auto-approve").code == 0
    assert policy_of(s3)[:3] == [ADMINS, TLS, mine]
    # the delivery and its destination leave the manifests: the grant goes, only by its Sid prefix
    ws.write("main.yaml", doc("DeliverySource", "kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"))
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    assert [(c["kind"], c["action"]) for c in plan["changes"]] == [
        ("Delivery", "delete"), ("DestinationGrant", "delete"), ("DeliveryDestination", "delete")]  # fmt: skip
    assert ws.cli("apply", "--auto-approve").code == 0
    assert policy_of(s3) == [ADMINS, TLS, mine]
    assert ws.cli("plan", "--detailed-exitcode").code == 0


def test_not_principal_is_refused_with_why(ws: Workspace, sandbox: Any) -> None:
    deny = {"Sid": "OnlyAdmins", "Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{A}:root"},
            "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::app-logs-bucket/*"}  # fmt: skip
    bucket_with(sandbox, deny)
    managed(ws)
    ws.write("main.yaml", s3_manifests())
    fs = findings(ws)
    refused = next(f for f in fs if f["code"] == "grant-refused")
    assert "statement 'OnlyAdmins' uses NotPrincipal" in refused["message"]
    assert refused["address"] == f"{A}/us-east-1/DestinationGrant/app-logs-bucket"
    assert ws.cli("plan", "--strict").code == 1


def test_per_destination_grant_firehose_tag_and_kms_key_policy(ws: Workspace, sandbox: Any) -> None:
    arn = firehose(sandbox)
    ws.write(
        "fh.yaml",
        fh_manifests(arn).replace("outputFormat: json\n", "outputFormat: json\n  grants: managed\n"),
    )
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    grant = next(c for c in plan["changes"] if c["kind"] == "DestinationGrant")
    assert grant["calls"] == ["TagDeliveryStream"] and plan["findings"] == []
    assert ws.cli("apply", "--auto-approve").code == 0
    tags = client(sandbox, "firehose").list_tags_for_delivery_stream(DeliveryStreamName="cdn-stream")["Tags"]
    assert {"Key": "LogDeliveryEnabled", "Value": "true"} in tags
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    # S3 with a customer-managed key: the key policy gets the statement too
    s3 = bucket_with(sandbox)
    kms = client(sandbox, "kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(Bucket="app-logs-bucket", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})  # fmt: skip
    ws.write("s3.yaml", docs(
        doc("DeliverySource", "kb2", f"logType: APPLICATION_LOGS\nresourceArn: {KB}2"),
        doc("DeliveryDestination", "to-s3", "outputFormat: json\ngrants: managed\n"
            "destinationResourceArn: arn:aws:s3:::app-logs-bucket"),
        doc("Delivery", "kb2-to-s3", "source: kb2\ndestination: to-s3"),
    ))  # fmt: skip
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    grants = sorted(c["calls"][-1] for c in plan["changes"] if c["kind"] == "DestinationGrant")
    assert grants == ["PutBucketPolicy", "PutKeyPolicy"] and plan["findings"] == []
    assert ws.cli("apply", "--auto-approve").code == 0
    key_policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert key_policy["Statement"][0]["Sid"] == "Enable IAM User Permissions"  # moto's default, kept first
    assert key_policy["Statement"][-1]["Sid"].startswith(SID_PREFIX)
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    assert len(sandbox.deliver()["delivered"]) == 2


def test_cross_account_grant_is_written_in_the_buckets_account(ws: Workspace, sandbox: Any) -> None:
    b = "222222222222"
    s3_b = client(sandbox, "s3", account=b)
    s3_b.create_bucket(Bucket="central-logs-bucket")
    managed(ws)
    ws.write("main.yaml", docs(
        doc("DeliverySource", "kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"),
        doc("DeliveryDestination", "central",
            "outputFormat: json\ndestinationResourceArn: arn:aws:s3:::central-logs-bucket\npolicy:\n"
            "  Version: '2012-10-17'\n  Statement:\n    - Effect: Allow\n"
            f"      Principal: {{AWS: '{A}'}}\n      Action: logs:CreateDelivery\n"
            f"      Resource: 'arn:aws:logs:us-east-1:{b}:delivery-destination:central'", account=b),
        doc("Delivery", "kb-to-central", f"source: kb\ndestination: arn:aws:logs:us-east-1:{b}:delivery-destination:central"),
    ))  # fmt: skip
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    grant = next(c for c in plan["changes"] if c["kind"] == "DestinationGrant")
    assert grant["account"] == b and plan["findings"] == []
    assert ws.cli("apply", "--auto-approve").code == 0
    [st] = json.loads(s3_b.get_bucket_policy(Bucket="central-logs-bucket")["Policy"])["Statement"]
    assert st["Condition"]["StringEquals"]["aws:SourceAccount"] == [A]
    assert st["Resource"] == f"arn:aws:s3:::central-logs-bucket/AWSLogs/{A}/*"
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    [ok] = sandbox.deliver()["delivered"]
    assert ok["wrote"].startswith(f"s3://central-logs-bucket/AWSLogs/{A}/")


def test_saved_plan_with_a_grant_applies(ws: Workspace, sandbox: Any) -> None:
    s3 = bucket_with(sandbox, ADMINS)
    managed(ws)
    ws.write("main.yaml", s3_manifests())
    assert ws.cli("plan", "--out", "plan.json").code == 0
    shown = ws.cli("show", "plan.json")
    assert "+ DestinationGrant app-logs-bucket" in shown.out
    applied = ws.cli("apply", "plan.json", "--auto-approve")
    assert applied.code == 0, applied.err
    assert policy_of(s3)[0] == ADMINS and policy_of(s3)[1]["Sid"].startswith(SID_PREFIX)
    assert ws.cli("plan", "--detailed-exitcode").code == 0


def group_policies(logs: Any, arn: str = GROUP) -> list[dict[str, Any]]:
    listed = logs.describe_resource_policies(resourceArn=arn, policyScope="RESOURCE")["resourcePolicies"]
    return listed  # type: ignore[no-any-return]


def put_group_policy(logs: Any, name: str, *statements: dict[str, Any]) -> None:
    current = {p["policyName"]: p["revisionId"] for p in group_policies(logs)}
    revision = {"expectedRevisionId": current[name]} if name in current else {}
    logs.put_resource_policy(policyName=name, resourceArn=GROUP, **revision,
                             policyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))  # fmt: skip


def test_log_group_grant_is_created_merged_and_pruned(ws: Workspace, sandbox: Any) -> None:
    logs = client(sandbox)
    logs.create_log_group(logGroupName="app-logs")
    theirs = json.dumps({"Version": "2012-10-17", "Statement": [ES]})
    logs.put_resource_policy(policyName="es-slow-logs", policyDocument=theirs)  # account level, not ours
    managed(ws)
    ws.write("main.yaml", cwl_manifests())
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    assert [c["kind"] for c in plan["changes"]] == ["DeliverySource", "DeliveryDestination", "DestinationGrant",
                                                    "Delivery"]  # fmt: skip
    grant = plan["changes"][2]
    assert grant["action"] == "create" and grant["calls"] == ["DescribeResourcePolicies", "PutResourcePolicy"]
    assert grant["address"] == f"{A}/us-east-1/DestinationGrant/app-logs" and plan["findings"] == []
    assert ws.cli("apply", "--auto-approve").code == 0
    [policy] = group_policies(logs)
    assert policy["policyName"] == SID_PREFIX and policy["resourceArn"] == GROUP
    [ours] = json.loads(policy["policyDocument"])["Statement"]
    assert ours["Sid"].startswith(SID_PREFIX) and ours["Resource"] == f"{GROUP}:log-stream:*"
    assert ours["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert ours["Condition"] == {"StringEquals": {"aws:SourceAccount": [A]},
                                 "ArnLike": {"aws:SourceArn": [f"arn:aws:logs:us-east-1:{A}:*"]}}  # fmt: skip
    [account_level] = logs.describe_resource_policies()["resourcePolicies"]
    assert account_level["policyDocument"] == theirs  # untouched
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    [ok] = sandbox.deliver()["delivered"]
    assert ok["wrote"].startswith("log group app-logs, stream ")
    # someone adds a statement of their own to the log group's policy and drops ours: ours comes back, theirs stays
    put_group_policy(logs, SID_PREFIX, ES)
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    assert [(c["kind"], c["action"]) for c in plan["changes"]] == [("DestinationGrant", "create")]
    [denied] = sandbox.deliver()["denied"]  # stripped: the service may not write now
    assert denied["findings"][0].startswith("cwl-policy-missing")
    assert ws.cli("apply", "--auto-approve").code == 0
    [policy] = group_policies(logs)
    assert [st["Sid"] for st in json.loads(policy["policyDocument"])["Statement"]] == [
        "SearchSlowLogs",
        ours["Sid"],
    ]
    assert json.loads(policy["policyDocument"])["Statement"][0] == ES
    # the delivery and its destination leave the manifests: only our statement goes, the policy stays for theirs
    ws.write("main.yaml", doc("DeliverySource", "kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"))
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    assert [(c["kind"], c["action"]) for c in plan["changes"]] == [
        ("Delivery", "delete"), ("DestinationGrant", "delete"), ("DeliveryDestination", "delete")]  # fmt: skip
    assert ws.cli("apply", "--auto-approve").code == 0
    [policy] = group_policies(logs)
    assert json.loads(policy["policyDocument"])["Statement"] == [ES]
    assert logs.describe_resource_policies()["resourcePolicies"] == [account_level]
    assert ws.cli("plan", "--detailed-exitcode").code == 0


def test_log_group_grant_joins_the_groups_policy_and_ignores_the_account_budget(
    ws: Workspace, sandbox: Any
) -> None:
    """AWS allows one resource policy per log group: the statement joins the one there (its name kept), and
    log-group policies do not count toward the account's 10, so a full account budget does not stop the grant."""
    logs = client(sandbox)
    logs.create_log_group(logGroupName="app-logs")
    other = json.dumps({"Version": "2012-10-17", "Statement": [ES]})
    for i in range(10):
        logs.put_resource_policy(policyName=f"other-{i}", policyDocument=other)
    put_group_policy(logs, "team-policy", ES)
    managed(ws)
    ws.write("main.yaml", cwl_manifests())
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    grant = next(c for c in plan["changes"] if c["kind"] == "DestinationGrant")
    assert grant["action"] == "create" and plan["findings"] == []
    assert ws.cli("apply", "--auto-approve").code == 0
    [policy] = group_policies(logs)
    assert policy["policyName"] == "team-policy"
    statements = json.loads(policy["policyDocument"])["Statement"]
    assert statements[0] == ES and statements[1]["Sid"].startswith(SID_PREFIX)
    assert len(logs.describe_resource_policies()["resourcePolicies"]) == 10
    assert len(sandbox.deliver()["delivered"]) == 1
    # pruned by our prefix only: the team's policy is kept with their statement (never deleted: not our name)
    ws.write("main.yaml", doc("DeliverySource", "kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"))
    assert ws.cli("apply", "--auto-approve").code == 0
    [policy] = group_policies(logs)
    assert policy["policyName"] == "team-policy" and json.loads(policy["policyDocument"])["Statement"] == [ES]


def test_log_group_grant_past_5120_characters_is_not_written(ws: Workspace, sandbox: Any) -> None:
    logs = client(sandbox)
    logs.create_log_group(logGroupName="app-logs")
    wide = dict(ES, Resource=[f"{GROUP}:log-stream:slow-{i:03}" for i in range(60)])
    put_group_policy(logs, "team-policy", wide)
    before = group_policies(logs)
    assert 4000 < len(before[0]["policyDocument"]) <= 5120
    managed(ws)
    ws.write("main.yaml", cwl_manifests())
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    assert "DestinationGrant" not in [c["kind"] for c in plan["changes"]]
    limit = next(f for f in plan["findings"] if f["code"] == "cwl-policy-limit")
    assert limit["address"] == f"{A}/us-east-1/DestinationGrant/app-logs" and limit["severity"] == "error"
    assert "past the 5120-character limit" in limit["message"] and "team-policy" in limit["message"]
    assert ws.cli("plan", "--strict").code == 1
    assert ws.cli("apply", "--auto-approve", "--strict").code == 1
    assert group_policies(logs) == before  # nothing written
