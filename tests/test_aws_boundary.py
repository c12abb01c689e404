"""The AWS boundary: one table turns AWS error codes into typed errors; the retry policy is injected.

The pure half checks the table; the rest sends real calls through boto3 to the sandbox."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from reconciler import errors
from reconciler.aws import ERROR_TABLE, Api, RateLimiter, RetryPolicy, aws_error, writer
from reconciler.models import AccountAccess, Kind, Resource
from reconciler.sandbox import Faults, Rule

from .conftest import client

QUICK = RetryPolicy(
    max_attempts=3, deadline_seconds=60.0, backoff_base_seconds=0.001, backoff_cap_seconds=0.01
)
A = "111111111111"
KB = f"arn:aws:bedrock:us-east-1:{A}:knowledge-base/KB00000001"


@pytest.mark.parametrize(
    ("code", "operation", "message", "cls"),
    [
        ("ResourceNotFoundException", "GetDeliverySource", "", errors.NotFound),
        ("NoSuchBucketPolicy", "GetBucketPolicy", "", errors.NotFound),
        ("ConflictException", "PutDeliverySource", "Tags can only be provided", errors.Conflict),
        ("ConditionalCheckFailedException", "PutItem", "", errors.Conflict),
        ("ConflictException", "DeleteDeliverySource", "it has deliveries", errors.InUse),
        ("ConflictException", "DeleteDelivery", "resource is currently being updated", errors.Conflict),
        ("ThrottlingException", "DescribeDeliveries", "", errors.Throttled),
        ("AccessDeniedException", "DescribeDeliveries", "", errors.AccessDenied),
        ("ValidationException", "PutDeliveryDestination", "", errors.Invalid),
        ("InternalFailure", "PutDeliverySource", "boom", errors.AwsError),
    ],
)
def test_error_codes_become_typed_errors(code: str, operation: str, message: str, cls: type) -> None:
    err = aws_error(operation, "r", code, message)
    assert type(err) is cls and isinstance(err, errors.AwsError)
    assert (err.code, err.message) == (code, message)
    assert str(err) == f"{operation} r: {code}: {message}"  # the one line is unchanged


def test_every_typed_error_has_codes_in_the_table() -> None:
    typed = {
        errors.NotFound,
        errors.Conflict,
        errors.InUse,
        errors.Throttled,
        errors.AccessDenied,
        errors.Invalid,
    }
    assert set(ERROR_TABLE.values()) == typed


def api_for(box: Any, **kw: Any) -> Api:
    return Api({}, "us-east-1", box.url, **kw)


def test_typed_errors_from_real_calls(sandbox: Any) -> None:
    api = api_for(sandbox, retry=QUICK)
    with pytest.raises(errors.NotFound):
        api.call(A, "us-east-1", "GetDeliverySource", "s", name="missing")
    logs = client(sandbox)
    logs.put_delivery_source(name="s", logType="APPLICATION_LOGS", resourceArn=KB, tags={"t": "1"})
    dest = logs.put_delivery_destination(
        name="d", deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::bucket-x"}
    )["deliveryDestination"]
    logs.create_delivery(deliverySourceName="s", deliveryDestinationArn=dest["arn"])
    with pytest.raises(errors.InUse) as in_use:
        api.call(A, "us-east-1", "DeleteDeliverySource", "s", name="s")
    assert in_use.value.code == "ConflictException"
    with pytest.raises(errors.Conflict):  # tags on a Put* that updates
        api.call(A, "us-east-1", "PutDeliverySource", "s", name="s", logType="APPLICATION_LOGS",
                 resourceArn=KB, tags={"t": "2"})  # fmt: skip


def test_put_with_tags_on_an_existing_resource_sends_them_with_tag_resource(sandbox: Any) -> None:
    logs = client(sandbox)
    source = logs.put_delivery_source(name="s", logType="APPLICATION_LOGS", resourceArn=KB)["deliverySource"]
    arn = source["arn"]
    r = Resource(Kind.SOURCE, A, "us-east-1", "s", {}, arn=arn)
    params = {"name": "s", "logType": "APPLICATION_LOGS", "resourceArn": KB}
    writer.put(api_for(sandbox, retry=QUICK), r, "PutDeliverySource", params, {"reconciler:project": "p"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"reconciler:project": "p"}
    writer.delete(api_for(sandbox), r, "DeleteDeliverySource", {"name": "s"})
    writer.delete(api_for(sandbox), r, "DeleteDeliverySource", {"name": "s"})  # already gone: what was wanted


def test_a_client_is_built_once_however_many_threads_ask_for_it(sandbox: Any) -> None:
    """A plan's first calls into a scope (three listings, the write path, the tag pages) start together; building
    a botocore client costs milliseconds of CPU, so one thread builds it and the others wait for it."""
    api = api_for(sandbox)
    built: list[str] = []
    api._base_session().events.register("creating-client-class", lambda **kw: built.append("client"))
    start = threading.Barrier(12)

    def ask(i: int) -> Any:
        start.wait()
        return api.logs(A, "us-east-1") if i % 2 else api.caller_account()

    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(ask, range(12)))
    clients = [c for i, c in enumerate(got) if i % 2]
    assert all(c is clients[0] for c in clients) and {got[i] for i in range(0, 12, 2)} == {A}
    assert len(built) == 2  # the logs client and the STS client that asked who the caller is
    api.call(A, "us-east-1", "DescribeDeliverySources", "scope")
    assert len(built) == 2


def test_the_clients_of_every_account_share_one_connection_pool(sandbox: Any) -> None:
    """A client per (account, region, service) each with its own pool meant a connection per client: at 200
    accounts, thousands of idle keep-alive sockets (the sandbox's server stalled for its 60 s idle timeout once it
    held 1,000). Clients of one endpoint share one pool, so connections are bounded by what is in flight."""
    members = [f"{n:012d}" for n in range(300000000001, 300000000013)]
    accounts = {m: AccountAccess(roleArn=f"arn:aws:iam::{m}:role/r") for m in members}
    api = Api(accounts, "us-east-1", sandbox.url, read_concurrency=2, list_concurrency=2)
    sandbox.reset_counters()
    live = api.read_live([(m, "us-east-1") for m in members])
    assert not live.errors() and len(live.scopes) == 12
    counters = sandbox.counters()
    assert counters["total"] >= 12 * 4  # three listings and a tag page per account, two clients per account
    assert counters["connections"] <= 2 + 2 * 2 + 1, counters["connections"]  # in flight at most, and STS's
    assert (
        api.logs(members[0], "us-east-1")._endpoint.http_session
        is api.logs(members[1], "us-east-1")._endpoint.http_session
    )


def test_assumed_role_accounts_share_one_client_per_service_and_each_call_signs_as_its_account(
    sandbox: Any,
) -> None:
    """A botocore client per account cost milliseconds of CPU and a good part of a megabyte each (two or more per
    scope at organisation scale); accounts reached by an assumed role share one per (region, service), and each
    call still signs with its own account's credentials, from any thread."""
    members = [f"{n:012d}" for n in range(300000000001, 300000000009)]
    for i, m in enumerate(members):
        client(sandbox, account=m).put_delivery_source(
            name=f"s{i}",
            logType="APPLICATION_LOGS",
            resourceArn=f"arn:aws:bedrock:us-east-1:{m}:knowledge-base/K{i}",
        )
    accounts = {m: AccountAccess(roleArn=f"arn:aws:iam::{m}:role/r") for m in members}
    api = Api(accounts, "us-east-1", sandbox.url)
    sandbox.reset_counters()
    live = api.read_live([(m, "us-east-1") for m in members])
    assert not live.errors()
    for i, m in enumerate(members):  # each scope read its own account's source, and only that
        assert [r.name for r in live.scopes[(m, "us-east-1")].resources] == [f"s{i}"]
    per_account = {
        c["account"] for c in sandbox.counters()["counts"] if c["operation"] == "DescribeDeliverySources"
    }
    assert per_account == set(members)
    shared = {id(api.logs(m, "us-east-1")._client) for m in members}
    assert len(shared) == 1 and len({id(api.logs(m, "eu-west-1")._client) for m in members}) == 1
    with pytest.raises(RuntimeError, match="outside an account's view"):  # never signs with a stale account
        api.logs(members[0], "us-east-1")._client.describe_delivery_sources()


def test_the_retry_policy_is_injected(sandbox: Any) -> None:
    sandbox.set_faults(Faults(rules=[Rule(operation="DescribeDeliverySources", code="InternalFailure",
                                          message="boom", status=500, times=-1)]))  # fmt: skip
    limiter = RateLimiter()
    api = api_for(sandbox, retry=QUICK, limiter=limiter)
    with pytest.raises(errors.AwsError) as failed:
        api.call(A, "us-east-1", "DescribeDeliverySources", "scope")
    assert failed.value.code == "InternalFailure"
    assert api.calls["DescribeDeliverySources"] == QUICK.max_attempts
    assert api.limiter is limiter


def test_the_cli_keeps_the_default_policy() -> None:
    api = Api({}, "us-east-1")
    assert api.retry == RetryPolicy() and api.retry.max_attempts == 12
    assert (api.retry.backoff_base_seconds, api.retry.backoff_cap_seconds) == (0.05, 5.0)
