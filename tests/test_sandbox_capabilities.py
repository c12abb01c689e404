"""The sandbox speaks the capability table: templates, rules and defaults as recorded on AWS, each checked both
in-process (mock_aws) and over HTTP with the same boto3 calls (LS = LocalStack snapshots recorded on AWS)."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest
import test_sandbox
from test_sandbox import OTHER, Make, acct, code_of, kb

from reconciler import capabilities

make = test_sandbox.make  # the in-process / over-HTTP fixture
ALB = "arn:aws:elasticloadbalancing:us-east-1:{a}:loadbalancer/app/web/50dc6c495c0c9188"


def test_templates_are_served_from_the_table(make: Make) -> None:
    logs = make()
    out = logs.describe_configuration_templates(
        service="elasticloadbalancing", logTypes=["ALB_CONNECTION_LOGS"]
    )
    templates = out["configurationTemplates"]
    assert sorted(t["deliveryDestinationType"] for t in templates) == ["CWL", "FH", "S3"]
    caps = capabilities.caps_for(ALB.format(a="1" * 12), "ALB_CONNECTION_LOGS")
    assert caps is not None
    s3 = next(t for t in templates if t["deliveryDestinationType"] == "S3")
    assert [f["name"] for f in s3["allowedFields"]] == list(caps.allowed_fields or ())
    assert all(
        f["mandatory"] for f in s3["allowedFields"]
    )  # every ALB connection-log field is mandatory (CDK)
    assert s3["allowedOutputFormats"] == list(caps.destinations["S3"])
    traces = logs.describe_configuration_templates(service="bedrock", logTypes=["TRACES"])[
        "configurationTemplates"
    ]
    assert {t["deliveryDestinationType"] for t in traces} == {"XRAY"}


def test_uniqueness_is_per_resource_arn_and_log_type(make: Make) -> None:
    logs = make()
    arn = ALB.format(a=acct(make))
    for i, log_type in enumerate(["ALB_ACCESS_LOGS", "ALB_CONNECTION_LOGS", "ALB_HEALTH_CHECK_LOGS"]):
        logs.put_delivery_source(name=f"alb{i}", resourceArn=arn, logType=log_type)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.put_delivery_source(name="again", resourceArn=arn, logType="ALB_ACCESS_LOGS")
    assert code_of(exc) == (
        "ConflictException",
        "This ResourceId has already been used in another Delivery Source in this account.",
    )


def _dest(logs: object, name: str, **params: object) -> str:
    return str(logs.put_delivery_destination(name=name, **params)["deliveryDestination"]["arn"])  # type: ignore[attr-defined]


def test_destination_type_and_format_per_log_type(make: Make) -> None:
    logs = make()
    a = acct(make)
    logs.put_delivery_source(name="traces", resourceArn=kb(a), logType="TRACES")
    logs.put_delivery_source(name="app", resourceArn=kb(a), logType="APPLICATION_LOGS")
    s3 = _dest(
        logs,
        "s3",
        outputFormat="json",
        deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::b"},
    )
    xray = _dest(logs, "xray", deliveryDestinationType="XRAY")
    parquet = _dest(
        logs,
        "pq",
        outputFormat="parquet",
        deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::c"},
    )
    for source, dest in (("traces", s3), ("app", xray), ("app", parquet)):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            logs.create_delivery(deliverySourceName=source, deliveryDestinationArn=dest)
        assert code_of(exc)[0] == "ValidationException", (source, dest)
    logs.create_delivery(deliverySourceName="traces", deliveryDestinationArn=xray)
    logs.create_delivery(deliverySourceName="app", deliveryDestinationArn=s3)


def test_cross_account_only_to_s3_and_firehose(make: Make) -> None:
    logs = make()
    a = acct(make)
    other = make(account=OTHER)
    logs.put_delivery_source(name="src", resourceArn=kb(a), logType="APPLICATION_LOGS")
    policy = lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [  # noqa: E731
        {"Effect": "Allow", "Principal": {"AWS": a}, "Action": "logs:CreateDelivery", "Resource": arn}]})  # fmt: skip
    cwl = _dest(
        other,
        "cwl",
        deliveryDestinationConfiguration={
            "destinationResourceArn": f"arn:aws:logs:us-east-1:{OTHER}:log-group:g"
        },
    )
    s3 = _dest(
        other,
        "s3",
        deliveryDestinationConfiguration={"destinationResourceArn": f"arn:aws:s3:::central-{OTHER}"},
    )
    for name, arn in (("cwl", cwl), ("s3", s3)):
        other.put_delivery_destination_policy(
            deliveryDestinationName=name, deliveryDestinationPolicy=policy(arn)
        )
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.create_delivery(deliverySourceName="src", deliveryDestinationArn=cwl)
    assert code_of(exc)[0] == "ValidationException" and "cross-account" in code_of(exc)[1]
    logs.create_delivery(deliverySourceName="src", deliveryDestinationArn=s3)


def test_record_fields_and_delimiters(make: Make) -> None:
    logs = make()
    a = acct(make)
    logs.put_delivery_source(name="alb", resourceArn=ALB.format(a=a), logType="ALB_HEALTH_CHECK_LOGS")
    logs.put_delivery_source(
        name="cf", resourceArn=f"arn:aws:cloudfront::{a}:distribution/E1", logType="ACCESS_LOGS"
    )
    plain = _dest(
        logs,
        "plain",
        outputFormat="plain",
        deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::b"},
    )
    bad = [
        ("cf", {"recordFields": ["date", "time-takn"]}),  # no such field
        ("alb", {"recordFields": ["time"]}),  # mandatory fields missing
        ("cf", {"fieldDelimiter": "#"}),  # not an allowed delimiter
        ("cf", {"s3DeliveryConfiguration": {"suffixPath": "{week}"}}),  # unknown variable
        ("cf", {"s3DeliveryConfiguration": {"suffixPath": "y=1/{yyyy}", "enableHiveCompatiblePath": True}}),
    ]
    for source, params in bad:
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            logs.create_delivery(deliverySourceName=source, deliveryDestinationArn=plain, **params)
        assert code_of(exc)[0] == "ValidationException", params
    d = logs.create_delivery(deliverySourceName="cf", deliveryDestinationArn=plain, recordFields=["date", "time-taken"],
                             fieldDelimiter=",")["delivery"]  # fmt: skip
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.update_delivery_configuration(id=d["id"], recordFields=["time-takn"])
    assert code_of(exc)[0] == "ValidationException"


def test_defaults_as_recorded_on_aws(make: Make) -> None:
    logs = make()
    a = acct(make)
    # a destination put without outputFormat has none (LS, validated on AWS): no invented "json"
    put = logs.put_delivery_destination(
        name="s3", deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::cf"}
    )
    assert "outputFormat" not in put["deliveryDestination"]
    assert "outputFormat" not in logs.get_delivery_destination(name="s3")["deliveryDestination"]
    assert all("outputFormat" not in d for d in logs.describe_delivery_destinations()["deliveryDestinations"])
    prefixed = _dest(
        logs,
        "own-prefix",
        deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::cf/mine"},
    )
    logs.put_delivery_source(
        name="cf", resourceArn=f"arn:aws:cloudfront::{a}:distribution/E1", logType="ACCESS_LOGS"
    )
    d = logs.create_delivery(
        deliverySourceName="cf", deliveryDestinationArn=put["deliveryDestination"]["arn"]
    )["delivery"]
    assert "fieldDelimiter" not in d and len(d["recordFields"]) == 33
    assert d["s3DeliveryConfiguration"]["suffixPath"] == "AWSLogs/{account-id}/CloudFront/"  # with the slash
    logs.put_delivery_source(
        name="cf2", resourceArn=f"arn:aws:cloudfront::{a}:distribution/E2", logType="ACCESS_LOGS"
    )
    own = logs.create_delivery(deliverySourceName="cf2", deliveryDestinationArn=prefixed,
                               s3DeliveryConfiguration={"suffixPath": "{yyyy}"})["delivery"]  # fmt: skip
    assert (
        own["s3DeliveryConfiguration"]["suffixPath"] == "{yyyy}"
    )  # no prefix under the destination's own (TF #40885)


def test_tags_echo_and_limit(make: Make) -> None:
    logs = make()
    a = acct(make)
    src = logs.put_delivery_source(name="s", resourceArn=kb(a), logType="APPLICATION_LOGS", tags={"k": "v"})
    assert src["deliverySource"]["tags"] == {"k": "v"}  # echoed (LS)
    dest = logs.put_delivery_destination(
        name="d",
        tags={"k": "v"},
        deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::b"},
    )
    assert "tags" not in dest["deliveryDestination"]  # not echoed (LS)
    d = logs.create_delivery(
        deliverySourceName="s", deliveryDestinationArn=dest["deliveryDestination"]["arn"], tags={"k": "v"}
    )
    assert d["delivery"]["tags"] == {"k": "v"}
    assert "tags" not in logs.get_delivery(id=d["delivery"]["id"])["delivery"]
    many = {f"t{i}": "x" for i in range(50)}
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # k plus 50 more is 51
        logs.tag_resource(resourceArn=src["deliverySource"]["arn"], tags=many)
    assert code_of(exc)[0] == "TooManyTagsException"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        logs.put_delivery_source(
            name="s2", resourceArn=kb(a, 2), logType="APPLICATION_LOGS", tags={**many, "k": "v"}
        )
    assert code_of(exc)[0] == "TooManyTagsException"
    logs.tag_resource(
        resourceArn=src["deliverySource"]["arn"], tags={f"t{i}": "x" for i in range(49)}
    )  # 50: fine


def test_names_filter_on_describe_delivery_destinations(make: Make) -> None:
    logs = make()
    for name in ("a", "b", "c"):
        _dest(
            logs,
            name,
            deliveryDestinationConfiguration={"destinationResourceArn": f"arn:aws:s3:::{name}-bucket"},
        )
    found = logs.describe_delivery_destinations(names=["a", "c", "missing"])["deliveryDestinations"]
    assert sorted(d["name"] for d in found) == ["a", "c"]
