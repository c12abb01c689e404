"""Fidelity of the sandbox: each moto divergence from real AWS, fixed, and checked both in-process (mock_aws) and
over HTTP (the sandbox server) with the same boto3 calls. Sources are the project's AWS-behaviour reference
(model = botocore's service model, TF = Terraform AWS provider issues, LS = LocalStack snapshots recorded on AWS)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
from conftest import client
from moto import mock_aws

from reconciler import capabilities
from reconciler.sandbox import Faults, Rule, cwl_policies, fidelity

Make = Callable[..., Any]
OTHER = "222222222222"


@pytest.fixture(params=["inprocess", "http"])
def make(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Make]:
    if request.param == "inprocess":
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        fidelity.install()
        cwl_policies.install()
        with mock_aws():

            def make_in(service: str = "logs", account: str | None = None, region: str = "us-east-1") -> Any:
                base = boto3.client(service, region_name=region)
                if account is None:
                    return base
                sts = boto3.client("sts", region_name=region)
                c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/t", RoleSessionName="tests")[
                    "Credentials"
                ]
                return boto3.client(service, region_name=region, aws_access_key_id=c["AccessKeyId"],
                                    aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])  # fmt: skip

            yield make_in
    else:
        box = request.getfixturevalue("sandbox")
        yield lambda service="logs", account=None, region="us-east-1": client(box, service, account, region)


def acct(make: Make) -> str:
    return str(make("sts").get_caller_identity()["Account"])


def kb(account: str, n: int = 1) -> str:
    return f"arn:aws:bedrock:us-east-1:{account}:knowledge-base/KB{n:08d}"


def code_of(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def setup_pair(make: Make, dest_arn: str = "arn:aws:s3:::bucket/prefix", log_type: str = "APPLICATION_LOGS",
               resource: str | None = None) -> tuple[Any, str, str]:  # fmt: skip
    logs = make()
    a = acct(make)
    logs.put_delivery_source(name="src", resourceArn=resource or kb(a), logType=log_type)
    d = logs.put_delivery_destination(
        name="dst", deliveryDestinationConfiguration={"destinationResourceArn": dest_arn}
    )
    return logs, a, d["deliveryDestination"]["arn"]


# -- reference: "Not implemented: UpdateDeliveryConfiguration, DescribeConfigurationTemplates"
def test_update_delivery_configuration(make: Make) -> None:
    logs, _, dest = setup_pair(make)
    delivery = logs.create_delivery(deliverySourceName="src", deliveryDestinationArn=dest)["delivery"]
    logs.update_delivery_configuration(
        id=delivery["id"], recordFields=["event"], fieldDelimiter=",",
        s3DeliveryConfiguration={"suffixPath": "x/{yyyy}", "enableHiveCompatiblePath": True},
    )  # fmt: skip
    got = logs.get_delivery(id=delivery["id"])["delivery"]
    assert got["recordFields"] == ["event"]
    assert got["fieldDelimiter"] == ","
    assert got["s3DeliveryConfiguration"] == {"suffixPath": "x/{yyyy}", "enableHiveCompatiblePath": True}


def test_describe_configuration_templates(make: Make) -> None:
    out = make().describe_configuration_templates(service="bedrock", logTypes=["APPLICATION_LOGS"])
    templates = out["configurationTemplates"]
    assert {t["deliveryDestinationType"] for t in templates} == {"S3", "CWL", "FH"}
    s3 = next(t for t in templates if t["deliveryDestinationType"] == "S3")
    assert s3["defaultDeliveryConfigValues"]["s3DeliveryConfiguration"]["enableHiveCompatiblePath"] is False


# -- reference: "No paging or filters on Describe*"
def test_describe_paging_and_filters(make: Make) -> None:
    logs = make()
    a = acct(make)
    for i in range(57):
        logs.put_delivery_source(name=f"s{i:03d}", resourceArn=kb(a, i), logType="APPLICATION_LOGS")
    first = logs.describe_delivery_sources()
    assert len(first["deliverySources"]) == 50 and "nextToken" in first
    second = logs.describe_delivery_sources(nextToken=first["nextToken"])
    assert len(second["deliverySources"]) == 7 and "nextToken" not in second
    names = [s["name"] for s in first["deliverySources"] + second["deliverySources"]]
    assert names == sorted(names) and len(set(names)) == 57
    small = logs.describe_delivery_sources(limit=5)
    assert len(small["deliverySources"]) == 5
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.describe_delivery_sources(limit=51)  # the model's 1-50 range
    assert code_of(exc)[0] == "ValidationException"
    filtered = logs.describe_delivery_sources(resourceArns=[kb(a, 3), kb(a, 9)])["deliverySources"]
    assert sorted(s["name"] for s in filtered) == ["s003", "s009"]
    dest = logs.put_delivery_destination(
        name="d", deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::b"}
    )["deliveryDestination"]["arn"]
    for i in range(3):
        logs.create_delivery(deliverySourceName=f"s{i:03d}", deliveryDestinationArn=dest)
    only = logs.describe_deliveries(deliverySourceNames=["s001"])["deliveries"]
    assert [d["deliverySourceName"] for d in only] == ["s001"]
    paged = logs.get_paginator("describe_deliveries").paginate(PaginationConfig={"PageSize": 2})
    assert sum(len(p["deliveries"]) for p in paged) == 3
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.describe_delivery_sources(nextToken="garbage")
    assert code_of(exc)[0] == "InvalidParameterException"


# -- reference: "Deleting a source or destination that has deliveries succeeds and leaves a dangling delivery"
def test_delete_in_use_conflicts(make: Make) -> None:
    logs, _, dest = setup_pair(make)
    delivery = logs.create_delivery(deliverySourceName="src", deliveryDestinationArn=dest)["delivery"]
    for call in (
        lambda: logs.delete_delivery_source(name="src"),
        lambda: logs.delete_delivery_destination(name="dst"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            call()
        assert code_of(exc)[0] == "ConflictException"
    logs.delete_delivery(id=delivery["id"])
    logs.delete_delivery_destination(name="dst")
    logs.delete_delivery_source(name="src")


# -- reference: "Cross-account CreateDelivery fails ...; no policy check" (guide: cross-account example)
def test_cross_account_delivery_needs_policy(make: Make) -> None:
    logs = make()
    a = acct(make)
    other = make(account=OTHER)
    logs.put_delivery_source(name="src", resourceArn=kb(a), logType="APPLICATION_LOGS")
    arn = other.put_delivery_destination(
        name="central",
        deliveryDestinationConfiguration={"destinationResourceArn": f"arn:aws:s3:::central-{OTHER}"},
    )["deliveryDestination"]["arn"]
    assert f":{OTHER}:" in arn
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.create_delivery(deliverySourceName="src", deliveryDestinationArn=arn)
    assert code_of(exc)[0] == "AccessDeniedException"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a}:root"},
              "Action": "logs:CreateDelivery", "Resource": arn}]}  # fmt: skip
    other.put_delivery_destination_policy(
        deliveryDestinationName="central", deliveryDestinationPolicy=json.dumps(policy)
    )
    delivery = logs.create_delivery(deliverySourceName="src", deliveryDestinationArn=arn)["delivery"]
    assert delivery["deliveryDestinationArn"] == arn and f":{a}:delivery:" in delivery["arn"]
    # the destination account cannot drop its destination while the other account's delivery uses it
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        other.delete_delivery_destination(name="central")
    assert code_of(exc)[0] == "ConflictException"


# -- reference: "One-source-per-resource-ARN not enforced"; "Source service allowlist is hard-coded and short"
def test_source_rules(make: Make) -> None:
    logs = make()
    a = acct(make)
    logs.put_delivery_source(name="one", resourceArn=kb(a), logType="APPLICATION_LOGS")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.put_delivery_source(name="two", resourceArn=kb(a), logType="APPLICATION_LOGS")
    assert code_of(exc) == (
        "ConflictException",
        "This ResourceId has already been used in another Delivery Source in this account.",
    )
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.put_delivery_source(
            name="x", resourceArn=f"arn:aws:dynamodb:us-east-1:{a}:table/t", logType="X_LOGS"
        )
    assert code_of(exc) == (
        "ResourceNotFoundException",
        "Cannot access provided service.",
    )  # LS, recorded on AWS
    for name, arn, log_type in [
        (
            "alb",
            f"arn:aws:elasticloadbalancing:us-east-1:{a}:loadbalancer/app/web/50dc6c495c0c9188",
            "ALB_ACCESS_LOGS",
        ),
        ("eks", f"arn:aws:eks:us-east-1:{a}:cluster/prod", "AUTO_MODE_COMPUTE_LOGS"),
        ("agent", f"arn:aws:bedrock-agentcore:us-east-1:{a}:runtime/r-1", "USAGE_LOGS"),
        ("insights", f"arn:aws:logs:us-east-1:{a}:log-group:*", "INSIGHTS_QUERY_LOGS"),
    ]:
        logs.put_delivery_source(name=name, resourceArn=arn, logType=log_type)
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # moto matched log types by substring
        logs.put_delivery_source(name="bad", resourceArn=kb(a, 7), logType="APPLICATION_LOG")
    assert code_of(exc) == ("ResourceNotFoundException", "Cannot access provided service.")  # LS, on AWS
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # TF RequiresReplace; message as on AWS
        logs.put_delivery_source(name="one", resourceArn=kb(a, 8), logType="APPLICATION_LOGS")
    assert "new ResourceId is not allowed" in code_of(exc)[1]


# -- reference: "roleArn, deliverySourceConfiguration dropped; XRAY destinations crash"; status fields (model)
def test_new_fields_and_xray(make: Make) -> None:
    logs = make()
    a = acct(make)
    src = logs.put_delivery_source(name="s", resourceArn=kb(a), logType="TRACES",
                                   deliverySourceConfiguration={"samplingRate": "10"})["deliverySource"]  # fmt: skip
    assert src["deliverySourceConfiguration"] == {"samplingRate": "10"} and src["status"] == "ACTIVE"
    role = f"arn:aws:iam::{a}:role/xray-writer"
    x = logs.put_delivery_destination(name="x", deliveryDestinationType="XRAY", roleArn=role)[
        "deliveryDestination"
    ]
    assert x["deliveryDestinationType"] == "XRAY" and x["roleArn"] == role
    assert "deliveryDestinationConfiguration" not in x
    d = logs.create_delivery(deliverySourceName="s", deliveryDestinationArn=x["arn"])["delivery"]
    assert d["deliveryDestinationType"] == "XRAY"


# -- reference: "Get/Describe return creation-time tags and ignore later TagResource; ListTagsForResource on a
#    missing ARN returns {}"; tags on Put for an existing resource → ConflictException (TF #43572)
def test_tags_only_through_tag_apis(make: Make) -> None:
    logs = make()
    a = acct(make)
    arn = logs.put_delivery_source(name="s", resourceArn=kb(a), logType="APPLICATION_LOGS",
                                   tags={"a": "1"})["deliverySource"]["arn"]  # fmt: skip
    assert "tags" not in logs.get_delivery_source(name="s")["deliverySource"]
    assert "tags" not in logs.describe_delivery_sources()["deliverySources"][0]
    logs.tag_resource(resourceArn=arn, tags={"b": "2"})
    logs.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.put_delivery_source(name="s", resourceArn=kb(a), logType="APPLICATION_LOGS", tags={"c": "3"})
    assert code_of(exc) == (
        "ConflictException",
        "Tags can only be provided when a resource is being created, not updated.",
    )
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.list_tags_for_resource(resourceArn=f"arn:aws:logs:us-east-1:{a}:delivery-source:missing")
    assert code_of(exc)[0] == "ResourceNotFoundException"


# -- reference: "Delivery defaults are CloudFront's for every source"; CloudFront suffix prefix on create only
#    (TF #40968, #46328); {"policy": {}} after delete (LS); s3 config for non-S3 → ValidationException (TF #46108)
def test_defaults_and_normalisation(make: Make) -> None:
    logs, a, dest = setup_pair(make, dest_arn=f"arn:aws:logs:us-east-1:{'0' * 12}:log-group:g")
    d = logs.create_delivery(deliverySourceName="src", deliveryDestinationArn=dest)["delivery"]
    kb_caps = capabilities.caps_for(kb(a), "APPLICATION_LOGS")
    assert kb_caps is not None and d["recordFields"] == list(
        kb_caps.allowed_fields or ()
    )  # the table's default
    assert "fieldDelimiter" not in d  # no default recorded: no key, as AWS answers for CloudFront (LS)
    assert "s3DeliveryConfiguration" not in d
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.update_delivery_configuration(id=d["id"], s3DeliveryConfiguration={"suffixPath": "x"})
    assert code_of(exc) == (
        "ValidationException",
        "Provided delivery configuration is invalid for the destination type.",
    )

    logs.put_delivery_source(
        name="cf", resourceArn=f"arn:aws:cloudfront::{a}:distribution/E1", logType="ACCESS_LOGS"
    )
    s3 = logs.put_delivery_destination(
        name="cf-s3", deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::cf-logs"}
    )["deliveryDestination"]["arn"]
    cf = logs.create_delivery(deliverySourceName="cf", deliveryDestinationArn=s3,
                              s3DeliveryConfiguration={"suffixPath": "{yyyy}"})["delivery"]  # fmt: skip
    assert cf["s3DeliveryConfiguration"]["suffixPath"] == "AWSLogs/{account-id}/CloudFront/{yyyy}"
    assert "fieldDelimiter" not in cf and len(cf["recordFields"]) == 33  # LS, recorded on AWS
    logs.update_delivery_configuration(id=cf["id"], s3DeliveryConfiguration={"suffixPath": "{MM}"})
    assert logs.get_delivery(id=cf["id"])["delivery"]["s3DeliveryConfiguration"]["suffixPath"] == "{MM}"

    assert logs.get_delivery_destination_policy(deliveryDestinationName="dst")["policy"] == {}
    logs.put_delivery_destination_policy(
        deliveryDestinationName="dst", deliveryDestinationPolicy='{"Statement": []}'
    )
    logs.delete_delivery_destination_policy(deliveryDestinationName="dst")
    assert logs.get_delivery_destination_policy(deliveryDestinationName="dst")["policy"] == {}


# -- matches AWS already; kept so a moto upgrade cannot regress it (TF, CFN createOnly)
def test_output_format_cannot_change(make: Make) -> None:
    logs = make()
    cfg = {"destinationResourceArn": "arn:aws:s3:::b"}
    logs.put_delivery_destination(name="d", outputFormat="parquet", deliveryDestinationConfiguration=cfg)
    logs.put_delivery_destination(name="d", outputFormat="parquet",
                                  deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::b/p"})  # fmt: skip
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.put_delivery_destination(name="d", outputFormat="json", deliveryDestinationConfiguration=cfg)
    assert code_of(exc)[0] == "ValidationException" and "Output Format" in code_of(exc)[1]


# ---- fault injection and accounting (HTTP only) --------------------------------------------------------------


def raw_client(box: Any) -> Any:
    cfg = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("logs", region_name="us-east-1", endpoint_url=box.url, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=cfg)  # fmt: skip


def test_writes_after_the_nth_are_held_then_dropped_unapplied(sandbox: Any) -> None:
    logs = raw_client(sandbox)
    arn = "arn:aws:logs:us-east-1:111111111111:log-group:x"
    sandbox.hold_writes(after=1)
    logs.tag_resource(resourceArn=arn, tags={"first": "1"})  # write 1 passes
    logs.describe_delivery_sources()  # reads are never held
    failed: list[Exception] = []

    def second() -> None:
        try:
            logs.tag_resource(resourceArn=arn, tags={"second": "2"})
        except Exception as exc:  # the held write is answered by a dropped connection
            failed.append(exc)

    writer = threading.Thread(target=second)
    writer.start()
    assert sandbox.wait_held(timeout=30)  # returns as soon as write 2 arrives
    assert sandbox.release_writes() == 1
    writer.join()
    assert len(failed) == 1
    assert sandbox.counters()["writes"] == 2
    assert sandbox.count("TagResource") == 1  # only the first reached moto
    assert not sandbox.wait_held(timeout=30)  # released: nothing is held any more, it answers at once
    logs.tag_resource(resourceArn=arn, tags={"third": "3"})


def test_a_reset_drops_a_write_still_waiting_out_its_latency(sandbox: Any) -> None:
    """A client killed mid-request (a test that stops a CLI at once) must not write into the next test's state: the
    write that was still sleeping through its latency when the sandbox was reset never happens."""
    logs = raw_client(sandbox)
    sandbox.set_faults(Faults(latency_ms=60_000))
    failed: list[Exception] = []

    def late_write() -> None:
        try:
            logs.put_delivery_source(name="late", logType="APPLICATION_LOGS",
                                     resourceArn="arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB00000001",
                                     tags={"reconciler:project": "tests"})  # fmt: skip
        except Exception as exc:  # dropped: the connection is closed without an answer
            failed.append(exc)

    writer = threading.Thread(target=late_write)
    writer.start()
    assert (
        sandbox.wait_counted("PutDeliverySource", timeout=30) == 1
    )  # it arrived and now waits out the latency
    sandbox.reset()  # wakes it: it is dropped, not applied after the reset
    writer.join(timeout=30)
    assert not writer.is_alive() and len(failed) == 1
    assert logs.describe_delivery_sources()["deliverySources"] == []
    assert sandbox.count("PutDeliverySource") == 0  # the reset cleared the counters, and nothing came after


def test_counters_are_exact(sandbox: Any) -> None:
    logs = raw_client(sandbox)
    sandbox.reset_counters()
    for _ in range(3):
        logs.describe_delivery_sources()
    logs.describe_deliveries()
    assert sandbox.count("DescribeDeliverySources", "111111111111") == 3
    assert sandbox.count("DescribeDeliveries") == 1
    assert sandbox.counters()["total"] == 4
    sandbox.reset_counters()
    assert sandbox.counters()["total"] == 0


def test_throttling_per_operation(sandbox: Any) -> None:
    sandbox.set_faults(Faults(throttle={"DescribeDeliverySources": 5}))
    logs = raw_client(sandbox)
    codes = []
    started = time.monotonic()
    for _ in range(20):
        try:
            logs.describe_delivery_sources()
            codes.append("ok")
        except botocore.exceptions.ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    refilled = int(5 * (time.monotonic() - started))  # the bucket refills at 5/s while the calls run
    assert (
        codes.count("ok") <= 5 + refilled + 1 and codes.count("ThrottlingException") >= 20 - 5 - refilled - 1
    )
    assert set(codes) == {"ok", "ThrottlingException"} and "ThrottlingException" in codes
    logs.describe_deliveries()  # other operations are not limited
    time.sleep(1.1)
    logs.describe_delivery_sources()  # the bucket refills


def test_random_faults_are_seeded(sandbox: Any) -> None:
    def run() -> list[str]:
        sandbox.set_faults(Faults(seed=7, fail_rate=0.3, conflict_rate=0.3))
        logs = raw_client(sandbox)
        seen = []
        for i in range(30):
            try:
                logs.tag_resource(
                    resourceArn="arn:aws:logs:us-east-1:111111111111:log-group:x", tags={"k": str(i)}
                )
                seen.append("ok")
            except botocore.exceptions.ClientError as exc:
                seen.append(exc.response["Error"]["Code"])
        return seen

    first, second = run(), run()
    assert first == second
    assert {"ServiceUnavailableException", "ConflictException"} <= set(first)


def test_rules_and_dropped_connections(sandbox: Any) -> None:
    sandbox.set_faults(
        Faults(rules=[Rule(operation="DescribeDeliveries", code="AccessDeniedException", times=2)])
    )
    logs = raw_client(sandbox)
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            logs.describe_deliveries()
        assert code_of(exc)[0] == "AccessDeniedException"
    logs.describe_deliveries()
    sandbox.set_faults(Faults(drop_rate=1.0))
    with pytest.raises((botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError,
                        botocore.exceptions.ClientError)):  # fmt: skip
        logs.describe_deliveries()
    assert sandbox.counters()["faults"].get("drop", 0) >= 1


def test_latency_is_injected(sandbox: Any) -> None:
    logs = raw_client(sandbox)
    logs.describe_deliveries()
    sandbox.set_faults(Faults(latency_ms=100))
    t = time.perf_counter()
    logs.describe_deliveries()
    assert time.perf_counter() - t >= 0.1


# -- moto 5.2.5 drops resourceArn: a log-group-level resource policy would land among the account's 10
def test_log_group_resource_policy(make: Make) -> None:
    logs = make()
    a = acct(make)
    logs.create_log_group(logGroupName="g")
    group = f"arn:aws:logs:us-east-1:{a}:log-group:g"
    doc = json.dumps({"Version": "2012-10-17", "Statement": []})
    for i in range(10):
        logs.put_resource_policy(policyName=f"acct-{i}", policyDocument=doc)
    first = logs.put_resource_policy(policyName="mine", policyDocument=doc, resourceArn=group)
    assert first["resourcePolicy"]["policyScope"] == "RESOURCE" and first["revisionId"]
    [listed] = logs.describe_resource_policies(resourceArn=group, policyScope="RESOURCE")["resourcePolicies"]
    assert listed["policyName"] == "mine" and listed["resourceArn"] == group
    assert len(logs.describe_resource_policies()["resourcePolicies"]) == 10  # not counted among the account's
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # one per log group
        logs.put_resource_policy(policyName="second", policyDocument=doc, resourceArn=group)
    assert code_of(exc)[0] == "LimitExceededException"
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # a stale revision
        logs.put_resource_policy(
            policyName="mine", policyDocument=doc, resourceArn=group, expectedRevisionId="x"
        )
    assert code_of(exc)[0] == "OperationAbortedException"
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # 5,120 characters at most
        logs.put_resource_policy(policyName="mine", policyDocument=doc + " " * 5120, resourceArn=group,
                                 expectedRevisionId=first["revisionId"])  # fmt: skip
    assert code_of(exc)[0] == "LimitExceededException"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.put_resource_policy(policyName="x", policyDocument=doc, resourceArn=group + "-missing")
    assert code_of(exc)[0] == "ResourceNotFoundException"
    logs.delete_resource_policy(policyName="mine", resourceArn=group, expectedRevisionId=first["revisionId"])
    assert (
        logs.describe_resource_policies(resourceArn=group, policyScope="RESOURCE")["resourcePolicies"] == []
    )
