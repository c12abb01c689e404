"""diff and plan on hand-built resources, without any server (the data-driven cases are in test_golden_data.py)."""

from __future__ import annotations

from reconciler import diff as diffmod
from reconciler import plan as planmod
from reconciler.models import Kind, Resource

A, R, PROJECT = "111111111111", "us-east-1", "tests"
KB = f"arn:aws:bedrock:{R}:{A}:knowledge-base/KB00000001"


def source(log_type: str, owner: str | None = None) -> Resource:
    return Resource(
        Kind.SOURCE,
        A,
        R,
        "s-kb",
        {"resourceArn": KB, "logType": log_type, "deliverySourceConfiguration": {}},
        arn=f"arn:aws:logs:{R}:{A}:delivery-source:s-kb",
        owner=owner,
    )


def test_adopt_with_a_changed_log_type_is_a_replace() -> None:
    result = diffmod.diff([source("APPLICATION_LOGS")], [source("TRACES")], PROJECT, adopt=True)
    assert result.errors == []
    (change,) = result.changes
    assert (change.action, change.adopt, change.reason) == (
        diffmod.Action.REPLACE,
        True,
        "logType cannot change in place",
    )
    assert planmod.calls_for(change) == ["DeleteDeliverySource", "PutDeliverySource"]


def test_adopt_with_equal_fields_is_an_update_that_tags() -> None:
    result = diffmod.diff([source("TRACES")], [source("TRACES")], PROJECT, adopt=True)
    (change,) = result.changes
    assert (change.action, change.adopt) == (diffmod.Action.UPDATE, True)
    assert planmod.calls_for(change) == ["TagResource"]


def test_without_adopt_an_unowned_source_is_an_error_not_a_change() -> None:
    result = diffmod.diff([source("APPLICATION_LOGS")], [source("TRACES")], PROJECT)
    assert result.changes == []
    (problem,) = result.problems
    assert problem.address == f"{A}/{R}/DeliverySource/s-kb"
    assert "without the reconciler:project tag" in problem.message and result.errors == [problem.message]
