"""Will it deliver? Each finding code produced by a real misconfiguration in the sandbox, through the CLI."""

from __future__ import annotations

import json
from typing import Any

from conftest import Workspace, client, doc, docs

from reconciler.sandbox import Rule

A, B = "111111111111", "222222222222"
KB = f"arn:aws:bedrock:us-east-1:{A}:knowledge-base/KB00000001"
SERVICE = "delivery.logs.amazonaws.com"


def s3_manifests(bucket: str = "app-logs-bucket", account: str = A) -> str:
    return docs(
        doc("DeliverySource", "kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"),
        doc(
            "DeliveryDestination",
            "to-s3",
            f"outputFormat: json\ndestinationResourceArn: arn:aws:s3:::{bucket}",
        ),
        doc("Delivery", "kb-to-s3", "source: kb\ndestination: to-s3"),
    )


def grant(bucket: str = "app-logs-bucket", region: str = "us-east-1", account: str = A) -> dict[str, Any]:
    return {
        "Sid": "AWSLogDeliveryWrite",
        "Effect": "Allow",
        "Principal": {"Service": SERVICE},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*",
        "Condition": {
            "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceAccount": [account]},
            "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{region}:{account}:delivery-source:*"},
        },
    }


def bucket_with(box: Any, *statements: dict[str, Any], bucket: str = "app-logs-bucket") -> Any:
    s3 = client(box, "s3")
    s3.create_bucket(Bucket=bucket)
    if statements:
        s3.put_bucket_policy(
            Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
        )
    return s3


def findings(ws: Workspace, *args: str) -> list[dict[str, Any]]:
    result = ws.cli("plan", "--format", "json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)["findings"]  # type: ignore[no-any-return]


def codes(ws: Workspace) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in findings(ws)]


def test_source_arn_in_the_buckets_region_is_named(ws: Workspace, sandbox: Any) -> None:
    bucket_with(sandbox, grant(region="eu-west-1"))
    ws.write("main.yaml", s3_manifests())
    [f] = findings(ws)
    assert f["code"] == "s3-policy-wrong-region" and f["severity"] == "error"
    assert f["address"] == f"{A}/us-east-1/Delivery/kb-to-s3"
    assert f["message"] == (
        "kb-to-s3 will deliver nothing: bucket policy of app-logs-bucket allows aws:SourceArn in eu-west-1, "
        "the source is in us-east-1"
    )
    text = ws.cli("plan")
    lines = text.out.splitlines()
    at = next(i for i, line in enumerate(lines) if "Delivery kb-to-s3" in line)
    assert any(
        line.strip().startswith("! kb-to-s3 will deliver nothing: bucket policy")
        for line in lines[at : at + 60]
    )
    md = ws.cli("plan", "--format", "markdown").out
    assert md.index("s3-policy-wrong-region") < md.index("| account | region |")
    # findings alone never change exit codes; --strict and strict: true do, before any write
    assert ws.cli("plan", "--detailed-exitcode").code == 2
    strict = ws.cli("plan", "--strict")
    assert strict.code == 1 and "--strict: 1 error finding(s) (s3-policy-wrong-region)" in strict.err
    sandbox.reset_counters()
    refused = ws.cli("apply", "--auto-approve", "--strict")
    assert refused.code == 1 and "nothing was written" in refused.err
    assert sandbox.count("PutDeliverySource") == 0 and sandbox.count("CreateDelivery") == 0
    (ws.root / "reconciler.yaml").write_text((ws.root / "reconciler.yaml").read_text() + "strict: true\n")
    assert ws.cli("plan").code == 1


def test_a_stripped_statement_is_an_error_and_strict_drift_catches_it(ws: Workspace, sandbox: Any) -> None:
    s3 = bucket_with(sandbox, grant())
    ws.write("main.yaml", s3_manifests())
    assert findings(ws) == []
    assert ws.cli("apply", "--auto-approve").code == 0
    # the bucket policy is managed elsewhere (Terraform) and the statement is stripped again
    other = {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
             "Action": "s3:*", "Resource": "arn:aws:s3:::app-logs-bucket/*"}  # fmt: skip
    s3.put_bucket_policy(
        Bucket="app-logs-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]})
    )
    assert codes(ws) == [("s3-policy-missing", "error")]
    assert ws.cli("drift").code == 0
    drift = ws.cli("drift", "--strict", "--format", "json")
    assert drift.code == 2 and json.loads(drift.out)["findings"][0]["code"] == "s3-policy-missing"
    s3.delete_bucket_policy(Bucket="app-logs-bucket")
    [f] = findings(ws)
    assert f["code"] == "s3-policy-missing" and "does not exist" in f["message"]


def test_new_same_account_delivery_without_a_grant_is_a_warning(ws: Workspace, sandbox: Any) -> None:
    bucket_with(sandbox)
    ws.write("main.yaml", s3_manifests())
    # AWS adds the statement itself at CreateDelivery when the caller may edit the bucket policy
    assert codes(ws) == [("s3-policy-missing", "warning")]
    assert ws.cli("plan", "--strict").code == 0


def test_missing_bucket_is_an_error(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", s3_manifests(bucket="no-such-bucket"))
    [f] = findings(ws)
    assert (f["code"], f["severity"]) == ("destination-missing", "error")
    assert "bucket no-such-bucket does not exist" in f["message"]


def test_kms_aws_managed_key_and_a_customer_key_without_the_service(ws: Workspace, sandbox: Any) -> None:
    s3 = bucket_with(sandbox, grant())
    s3.put_bucket_encryption(Bucket="app-logs-bucket", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/aws/s3"}}]})  # fmt: skip
    ws.write("main.yaml", s3_manifests())
    assert codes(ws) == [("kms-aws-managed-key", "error")]
    kms = client(sandbox, "kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]  # the default key policy: the account's root only
    s3.put_bucket_encryption(Bucket="app-logs-bucket", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})  # fmt: skip
    [f] = findings(ws)
    assert f["code"] == "kms-key-denies" and key in f["message"]
    key_policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    key_policy["Statement"].append({
        "Effect": "Allow", "Principal": {"Service": SERVICE},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": [A]}},
    })  # fmt: skip
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(key_policy))
    assert findings(ws) == []


def firehose(box: Any, name: str = "cdn-stream", tags: list[dict[str, str]] | None = None) -> str:
    client(box, "s3").create_bucket(Bucket="firehose-target")
    fh = client(box, "firehose")
    out = fh.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": f"arn:aws:iam::{A}:role/fh",
                                            "BucketARN": "arn:aws:s3:::firehose-target"},
        **({"Tags": tags} if tags else {}),
    )  # fmt: skip
    return str(out["DeliveryStreamARN"])


def fh_manifests(stream_arn: str) -> str:
    return docs(
        doc("DeliverySource", "kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"),
        doc("DeliveryDestination", "to-fh", f"outputFormat: json\ndestinationResourceArn: {stream_arn}"),
        doc("Delivery", "kb-to-fh", "source: kb\ndestination: to-fh"),
    )


def test_firehose_without_the_tag(ws: Workspace, sandbox: Any) -> None:
    arn = firehose(sandbox)
    ws.write("main.yaml", fh_manifests(arn))
    assert codes(ws) == [("firehose-tag-missing", "warning")]
    assert ws.cli("apply", "--auto-approve").code == 0
    [f] = findings(ws)  # an existing delivery: AWS will not tag it now
    assert (f["code"], f["severity"]) == ("firehose-tag-missing", "error")
    assert "lacks the tag LogDeliveryEnabled=true" in f["message"]
    client(sandbox, "firehose").tag_delivery_stream(
        DeliveryStreamName="cdn-stream", Tags=[{"Key": "LogDeliveryEnabled", "Value": "true"}]
    )
    assert findings(ws) == []


def cwl_manifests(group: str = "app-logs") -> str:
    return docs(
        doc("DeliverySource", "kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"),
        doc(
            "DeliveryDestination",
            "to-cwl",
            f"outputFormat: json\ndestinationResourceArn: arn:aws:logs:us-east-1:{A}:log-group:{group}",
        ),
        doc("Delivery", "kb-to-cwl", "source: kb\ndestination: to-cwl"),
    )


def test_cwl_policy_budget_full_and_a_good_policy(ws: Workspace, sandbox: Any) -> None:
    logs = client(sandbox)
    logs.create_log_group(logGroupName="app-logs")
    ws.write("main.yaml", cwl_manifests())
    assert codes(ws) == [("cwl-policy-missing", "warning")]
    other = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "es.amazonaws.com"},
             "Action": "logs:PutLogEvents", "Resource": "*"}]}  # fmt: skip
    for i in range(10):
        logs.put_resource_policy(policyName=f"other-{i}", policyDocument=json.dumps(other))
    [f] = findings(ws)
    assert f["code"] == "cwl-policy-limit" and "has 10 of 10 resource policies" in f["message"]
    logs.delete_resource_policy(policyName="other-9")
    good = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": SERVICE}, "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"arn:aws:logs:us-east-1:{A}:log-group:app-logs:log-stream:*",
        "Condition": {"StringEquals": {"aws:SourceAccount": A},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:logs:us-east-1:{A}:*"}}}]}  # fmt: skip
    logs.put_resource_policy(policyName="AWSLogDeliveryWrite20150319", policyDocument=json.dumps(good))
    assert findings(ws) == []

    # the account-level delivery policy near its 5,120 characters: one more log group does not fit
    def delivery_policy(n: int) -> str:
        groups = [f"arn:aws:logs:us-east-1:{A}:log-group:g{i:03}:*" for i in range(n)]
        return json.dumps(dict(good, Statement=[dict(good["Statement"][0], Resource=groups)]))

    n = max(n for n in range(120) if len(delivery_policy(n)) <= 5120)
    assert len(delivery_policy(n)) > 5120 - 60  # the sandbox takes at most 5,120 characters, as AWS
    logs.put_resource_policy(policyName="AWSLogDeliveryWrite20150319", policyDocument=delivery_policy(n))
    [f] = findings(ws)
    assert f["code"] == "cwl-policy-limit" and "5120-character limit" in f["message"]
    logs.delete_log_group(logGroupName="app-logs")
    assert codes(ws) == [("destination-missing", "error")]


def test_a_denied_read_is_a_finding_not_silence(ws: Workspace, sandbox: Any) -> None:
    client(sandbox).create_log_group(logGroupName="app-logs")
    ws.write("main.yaml", cwl_manifests())
    sandbox.set_faults(rules=[Rule("DescribeResourcePolicies", code="AccessDeniedException",
                                   message="not authorized to perform logs:DescribeResourcePolicies", times=-1)])  # fmt: skip
    [f] = findings(ws)
    assert (f["code"], f["severity"]) == ("write-path-unknown", "warning")
    assert "AccessDeniedException" in f["message"] and f["message"].startswith("kb-to-cwl cannot be checked")


def test_xray_without_transaction_search(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", docs(
        doc("DeliverySource", "kb", f"logType: TRACES\nresourceArn: {KB}"),
        doc("DeliveryDestination", "traces", "deliveryDestinationType: XRAY"),
        doc("Delivery", "kb-to-xray", "source: kb\ndestination: traces"),
    ))  # fmt: skip
    assert sorted(codes(ws)) == [("xray-policy-missing", "warning"), ("xray-transaction-search-off", "error")]
    xray = client(sandbox, "xray")
    xray.update_trace_segment_destination(Destination="CloudWatchLogs")
    xray.put_resource_policy(PolicyName="delivery", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": SERVICE}, "Action": "xray:PutTraceSegments", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": A}}}]}))  # fmt: skip
    assert findings(ws) == []


def test_one_read_per_destination_and_none_when_skipped(ws: Workspace, sandbox: Any) -> None:
    bucket_with(sandbox, grant())
    ws.write("main.yaml", s3_manifests() + "---\n" + docs(
        doc("DeliverySource", "kb2", f"logType: APPLICATION_LOGS\nresourceArn: {KB}2"),
        doc("Delivery", "kb2-to-s3", "source: kb2\ndestination: to-s3"),
    ))  # fmt: skip
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    assert plan["findings"] == []
    sandbox.reset_counters()
    ws.cli("plan", "--no-write-path-check")
    assert sandbox.count("?") == 0  # no S3 request at all
    sandbox.reset_counters()
    ws.cli("plan")
    assert sandbox.count("?") == 2  # GetBucketPolicy + GetBucketEncryption, once for two deliveries


# ---- the emulator delivers, and verify proves it ---------------------------------------------------------------


def test_sandbox_delivers_where_the_grant_allows_and_counts_the_rest(ws: Workspace, sandbox: Any) -> None:
    bucket_with(sandbox, grant())
    logs = client(sandbox)
    logs.create_log_group(logGroupName="app-logs")  # no resource policy: denied
    ws.write("main.yaml", s3_manifests() + "---\n" + docs(
        doc("DeliveryDestination", "to-cwl",
            f"outputFormat: json\ndestinationResourceArn: arn:aws:logs:us-east-1:{A}:log-group:app-logs"),
        doc("DeliverySource", "kb2", f"logType: APPLICATION_LOGS\nresourceArn: {KB}2"),
        doc("Delivery", "kb2-to-cwl", "source: kb2\ndestination: to-cwl"),
    ))  # fmt: skip
    assert ws.cli("apply", "--auto-approve").code == 0
    out = sandbox.deliver()
    [ok], [denied] = out["delivered"], out["denied"]
    assert ok["source"] == "kb" and ok["wrote"].startswith(
        f"s3://app-logs-bucket/AWSLogs/{A}/"  # the rest follows the log type's default suffixPath
    )
    assert denied["source"] == "kb2" and denied["findings"][0].startswith("cwl-policy-missing")
    keys = [o["Key"] for o in client(sandbox, "s3").list_objects_v2(Bucket="app-logs-bucket")["Contents"]]
    assert len(keys) == 1 and keys[0].endswith(".json")
    good = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": SERVICE}, "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"arn:aws:logs:us-east-1:{A}:log-group:app-logs:log-stream:*",
        "Condition": {"StringEquals": {"aws:SourceAccount": A}}}]}  # fmt: skip
    logs.put_resource_policy(policyName="AWSLogDeliveryWrite20150319", policyDocument=json.dumps(good))
    out = sandbox.deliver()
    assert len(out["delivered"]) == 2 and out["denied"] == [] and out["delivered_total"] == 3
    events = logs.filter_log_events(logGroupName="app-logs")["events"]
    assert len(events) == 1 and json.loads(events[0]["message"])["source_account"] == A


def test_hive_paths_and_suffix_in_the_sandbox(ws: Workspace, sandbox: Any) -> None:
    bucket_with(sandbox, grant())
    ws.write("main.yaml", docs(
        doc("DeliverySource", "kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"),
        doc("DeliveryDestination", "to-s3", "outputFormat: json\ndestinationResourceArn: arn:aws:s3:::app-logs-bucket"),
        doc("Delivery", "kb-to-s3", "source: kb\ndestination: to-s3\ns3DeliveryConfiguration:\n"
            "  suffixPath: 'AWSLogs/{account-id}/kb/{yyyy}/{MM}/{dd}'\n  enableHiveCompatiblePath: true"),
    ))  # fmt: skip
    assert findings(ws) == []
    assert ws.cli("apply", "--auto-approve").code == 0
    [ok] = sandbox.deliver()["delivered"]
    assert f"/AWSLogs/{A}/kb/year=" in ok["wrote"] and "/month=" in ok["wrote"] and "/hour=" in ok["wrote"]


def test_verify_after_a_good_apply_and_after_a_bad_one(ws: Workspace, sandbox: Any) -> None:
    s3 = bucket_with(sandbox, grant())
    ws.write("main.yaml", s3_manifests())
    sandbox.deliver(every=0.2)
    try:
        good = ws.cli("apply", "--auto-approve", "--verify", "--verify-timeout", "60s")
        assert good.code == 0, good.out + good.err
        assert "Verify: 1 flowing (1 destinations)." in good.out
        assert "flowing  s3://app-logs-bucket/AWSLogs/111111111111/" in good.err
        # the grant goes wrong: nothing new arrives, verify names the finding
        s3.put_bucket_policy(Bucket="app-logs-bucket",
                             Policy=json.dumps({"Version": "2012-10-17", "Statement": [grant(region="eu-west-1")]}))  # fmt: skip
        bad = ws.cli("verify", "--since", "0s", "--timeout", "2s", "--interval", "0.5s", "--format", "json")
    finally:
        sandbox.deliver(every=0)
    assert bad.code == 2, bad.err
    doc_ = json.loads(bad.out)
    assert doc_["destinations"][0]["status"] == "silent"
    assert [f["code"] for f in doc_["findings"]] == ["s3-policy-wrong-region"]
    assert "waiting  s3://app-logs-bucket/" in bad.err


def test_verify_says_firehose_cannot_be_observed_and_denied_reads_exit_3(ws: Workspace, sandbox: Any) -> None:
    arn = firehose(sandbox, tags=[{"Key": "LogDeliveryEnabled", "Value": "true"}])
    ws.write("main.yaml", fh_manifests(arn))
    assert ws.cli("apply", "--auto-approve").code == 0
    result = ws.cli("verify", "--timeout", "1s")
    assert result.code == 0 and "cannot observe  Firehose stream" in result.err
    assert "Verify: 1 cannot observe (1 destinations)." in result.out
    client(sandbox, "logs").create_log_group(logGroupName="app-logs")
    ws.write("main.yaml", cwl_manifests())
    assert ws.cli("apply", "--auto-approve").code == 0
    sandbox.set_faults(
        rules=[Rule("DescribeLogStreams", code="AccessDeniedException", message="no", times=-1)]
    )
    denied = ws.cli("verify", "--timeout", "1s")
    assert denied.code == 3 and "unreadable  log group app-logs" in denied.err
    assert ws.cli("verify", "--since", "apply").code == 1
