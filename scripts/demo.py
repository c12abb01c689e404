"""The demo: the sandbox, the destinations a platform team provides, then validate -> plan -> apply -> plan (empty)
-> the sandbox delivers a round of sample records -> verify. No AWS needed.

The example manifests deliver into S3 buckets, a log group, a Firehose stream and X-Ray that the reconciler does not
create (it manages the delivery family only). So the demo first creates them in the sandbox the way a platform team
would, each with the grant AWS needs for the log delivery service (``delivery.logs.amazonaws.com``; the statements
of AWS's "Enable logging from AWS services" guide), so the plan has no write-path finding and every delivery writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.sandbox import Sandbox, running_sandbox  # noqa: E402

A, CENTRAL, REGION = "111111111111", "222222222222", "us-east-1"
SERVICE = "delivery.logs.amazonaws.com"


def step(title: str, args: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> int:
    print(f"\n$ reconciler {' '.join(args)}    # {title}", flush=True)
    code = subprocess.call([sys.executable, "-m", "reconciler", *args], cwd=ROOT, env=env)
    if code not in ok:
        print(f"demo: step failed with exit code {code}", file=sys.stderr)
        sys.exit(1)
    return code


def client(box: Sandbox, service: str, account: str = A) -> Any:
    base: dict[str, Any] = dict(region_name=REGION, endpoint_url=box.url, aws_access_key_id="testing",
                                aws_secret_access_key="testing")  # fmt: skip
    if account == A:
        return boto3.client(service, **base)
    creds = boto3.client("sts", **base).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/platform", RoleSessionName="demo"
    )["Credentials"]
    return boto3.client(service, **{**base, "aws_access_key_id": creds["AccessKeyId"],
                                    "aws_secret_access_key": creds["SecretAccessKey"],
                                    "aws_session_token": creds["SessionToken"]})  # fmt: skip


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def delivery_write(resource: str | list[str], action: str | list[str], source_arn: str) -> dict[str, Any]:
    """The statement AWS adds itself when it may: the delivery service, from the source's account and region."""
    return {"Sid": "AWSLogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": SERVICE}, "Action": action,
            "Resource": resource, "Condition": {"StringEquals": {"aws:SourceAccount": [A]},
                                                "ArnLike": {"aws:SourceArn": source_arn}}}  # fmt: skip


def bucket(box: Sandbox, name: str, prefix: str, account: str = A) -> str:
    s3 = client(box, "s3", account)
    s3.create_bucket(Bucket=name)
    st = delivery_write(f"arn:aws:s3:::{name}/{prefix}*", "s3:PutObject",
                        f"arn:aws:logs:{REGION}:{A}:delivery-source:*")  # fmt: skip
    st["Condition"]["StringEquals"]["s3:x-amz-acl"] = "bucket-owner-full-control"
    s3.put_bucket_policy(Bucket=name, Policy=policy(st))
    return f"s3://{name}/{prefix} ({account})"


def log_group(box: Sandbox, name: str) -> str:
    logs = client(box, "logs")
    logs.create_log_group(logGroupName=name)
    arn = f"arn:aws:logs:{REGION}:{A}:log-group:{name}"
    st = delivery_write(f"{arn}:log-stream:*", ["logs:CreateLogStream", "logs:PutLogEvents"],
                        f"arn:aws:logs:{REGION}:{A}:*")  # fmt: skip
    logs.put_resource_policy(policyName="AWSLogDeliveryWrite20150319", policyDocument=policy(st))
    return f"log group {name}"


def firehose(box: Sandbox, name: str) -> str:
    client(box, "s3").create_bucket(Bucket=f"{name}-archive")
    client(box, "firehose").create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": f"arn:aws:iam::{A}:role/firehose",
                                            "BucketARN": f"arn:aws:s3:::{name}-archive"},
        Tags=[{"Key": "LogDeliveryEnabled", "Value": "true"}],
    )  # fmt: skip
    return f"Firehose {name} (tagged LogDeliveryEnabled=true)"


def xray(box: Sandbox) -> str:
    x = client(box, "xray")
    x.update_trace_segment_destination(Destination="CloudWatchLogs")
    st = delivery_write("*", "xray:PutTraceSegments", f"arn:aws:logs:{REGION}:{A}:*")
    x.put_resource_policy(PolicyName="AWSLogDeliveryWrite", PolicyDocument=policy(st))
    return "X-Ray Transaction Search on"


def destinations(box: Sandbox) -> None:
    """What the manifests deliver into (env dev), as the platform team has it, grants included."""
    made = [
        bucket(box, "payments-dev-alb-logs", f"AWSLogs/{A}/"),
        bucket(box, "payments-dev-logs", "bedrock/"),
        bucket(
            box, "central-security-logs", f"AWSLogs/{A}/", account=CENTRAL
        ),  # cross-account: never automatic
        log_group(box, "/dev/eventbridge/errors"),
        firehose(box, "cdn-access-logs"),
        xray(box),
    ]
    print("destinations the platform team provides, with the grants AWS needs:\n  " + "\n  ".join(made))


def main() -> None:
    with running_sandbox() as box:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({k: v for k, v in box.env().items() if v})
        print(f"sandbox (moto + fidelity fixes) at {box.url}; accounts {A} and {CENTRAL} via STS")
        destinations(box)
        step("validate the manifests", ["validate"], env)
        step("what would change (and will each delivery deliver?)", ["plan", "--detailed-exitcode", "--strict"],
             env, ok=(2,))  # fmt: skip
        step("make it so", ["apply", "--auto-approve", "--strict"], env)
        code = step("a second plan is empty", ["plan", "--detailed-exitcode", "--strict"], env, ok=(0,))
        round_ = box.deliver()
        print(f"\n# the sandbox delivers one round of sample records: {len(round_['delivered'])} delivered, "
              f"{len(round_['denied'])} denied")  # fmt: skip
        for d in round_["delivered"]:
            print(f"  {d['source']} -> {d['wrote']}")
        for d in round_["denied"]:
            print(f"  DENIED {d['source']}: {'; '.join(d['findings'])}")
        step("every delivery has produced its first record", ["verify", "--timeout", "1m"], env)
        print(f"\ndemo: converged (plan exit code {code}); every delivery delivers; "
              f"{box.counters()['total']} API requests served")  # fmt: skip
        if round_["denied"]:
            sys.exit(1)


if __name__ == "__main__":
    main()
