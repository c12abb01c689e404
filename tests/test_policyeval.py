"""The resource-policy evaluator (pure): principals, actions, resources, conditions, explicit denies, near misses."""

from __future__ import annotations

from typing import Any

from reconciler.policyeval import Request, arn_like, evaluate, explain, near_misses

SERVICE = "delivery.logs.amazonaws.com"
CTX = {
    "aws:sourceaccount": "111111111111",
    "aws:sourcearn": "arn:aws:logs:us-east-1:111111111111:delivery-source:cdn",
    "s3:x-amz-acl": "bucket-owner-full-control",
}
REQ = Request(SERVICE, "s3:PutObject", "arn:aws:s3:::logs/AWSLogs/111111111111/x", CTX)


def aws_statement(region: str = "us-east-1", **over: Any) -> dict[str, Any]:
    st = {
        "Sid": "AWSLogDeliveryWrite",
        "Effect": "Allow",
        "Principal": {"Service": SERVICE},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::logs/AWSLogs/111111111111/*",
        "Condition": {
            "StringEquals": {
                "s3:x-amz-acl": "bucket-owner-full-control",
                "aws:SourceAccount": ["111111111111"],
            },
            "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{region}:111111111111:delivery-source:*"},
        },
    }
    st.update(over)
    return st


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_the_statement_aws_adds_allows() -> None:
    d = evaluate(policy(aws_statement()), REQ)
    assert d.allowed and d.allowed_by == [0] and not d.denied_by


def test_source_arn_in_the_buckets_region_is_a_near_miss_naming_the_condition() -> None:
    p = policy(aws_statement("eu-west-1"))
    assert not evaluate(p, REQ).allowed
    [(_st, miss)] = near_misses(p, REQ)
    assert miss.element == "condition" and miss.key == "aws:SourceArn" and miss.operator == "ArnLike"
    assert miss.values == ("arn:aws:logs:eu-west-1:111111111111:delivery-source:*",)


def test_explicit_deny_wins_and_other_principals_do_not_count() -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::logs/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip
    # aws:SecureTransport is not in the request context: Bool fails, the deny does not apply
    assert evaluate(policy(aws_statement(), deny), REQ).allowed
    hard = {"Effect": "Deny", "Principal": {"Service": SERVICE}, "Action": "s3:Put*", "Resource": "*"}
    d = evaluate(policy(aws_statement(), hard), REQ)
    assert not d.allowed and d.denied_by == [1]
    other = aws_statement(Principal={"Service": "logging.s3.amazonaws.com"})
    assert not evaluate(policy(other), REQ).allowed
    assert explain(other, REQ) is not None and explain(other, REQ).element == "principal"  # type: ignore[union-attr]


def test_not_principal_not_action_and_wildcards() -> None:
    assert evaluate(policy(aws_statement(Action="s3:put*")), REQ).allowed  # actions are case-insensitive
    assert not evaluate(policy(aws_statement(Resource="arn:aws:s3:::logs/other/*")), REQ).allowed
    assert evaluate(policy(aws_statement(Resource=["arn:aws:s3:::logs/*"])), REQ).allowed
    not_action = aws_statement(NotAction="s3:DeleteObject")
    del not_action["Action"]
    assert evaluate(policy(not_action), REQ).allowed
    deny_others = {"Effect": "Deny", "NotPrincipal": {"Service": SERVICE}, "Action": "*", "Resource": "*"}
    assert evaluate(policy(aws_statement(), deny_others), REQ).allowed


def test_condition_operators_and_missing_keys() -> None:
    base = aws_statement()
    base["Condition"] = {"StringNotEquals": {"aws:SourceAccount": "222222222222"}}
    assert evaluate(policy(base), REQ).allowed
    base["Condition"] = {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-123"}}
    assert evaluate(policy(base), REQ).allowed  # absent key: IfExists holds
    base["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}
    assert not evaluate(policy(base), REQ).allowed  # absent key: a positive operator fails
    base["Condition"] = {"Null": {"aws:SourceArn": "false"}}
    assert evaluate(policy(base), REQ).allowed
    base["Condition"] = {"NumericLessThan": {"aws:EpochTime": "1"}}
    d = evaluate(policy(base), REQ)
    assert not d.allowed and d.unknown_operators == ["NumericLessThan"]
    base["Condition"] = {"ForAnyValue:StringLike": {"aws:SourceArn": "arn:aws:logs:*:111111111111:*"}}
    assert evaluate(policy(base), REQ).allowed


def test_arn_like_matches_per_part() -> None:
    assert arn_like("arn:aws:logs:*:111111111111:delivery-source:*", CTX["aws:sourcearn"])
    assert not arn_like("arn:aws:logs:eu-*:111111111111:delivery-source:*", CTX["aws:sourcearn"])
    assert evaluate('{"Statement": []}', REQ).allowed is False
    assert evaluate("not json", REQ).allowed is False
