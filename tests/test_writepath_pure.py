"""Pure parts of the write-path check, grants and verify: key layout, severities, observations, durations."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reconciler import verify, writepath
from reconciler.errors import ConfigError
from reconciler.findings import Severity

A, B = "111111111111", "222222222222"


def target(**over: object) -> writepath.Target:
    base: dict[str, object] = dict(
        address=f"{A}/us-east-1/Delivery/d", name="d", source_account=A, source_region="us-east-1",
        source_name="s", source_service="bedrock", dest_type="S3", dest_account=A, dest_region="us-east-1",
        resource_arn="arn:aws:s3:::bucket/logs", destination_arn=f"arn:aws:logs:us-east-1:{A}:delivery-destination:x",
    )  # fmt: skip
    base.update(over)
    return writepath.Target(**base)  # type: ignore[arg-type]


def test_key_layout_from_suffix_path() -> None:
    t = target(suffix_path="AWSLogs/{account-id}/bedrock/{yyyy}/{MM}/{dd}")
    assert (
        writepath.object_key(t, (2026, 3, 4, 5), "f.json") == f"logs/AWSLogs/{A}/bedrock/2026/03/04/05/f.json"
    )
    hive = target(suffix_path="AWSLogs/{account-id}/{yyyy}/{MM}/{dd}/{HH}", hive=True)
    assert (
        writepath.object_key(hive, (2026, 3, 4, 5), "f")
        == f"logs/AWSLogs/{A}/year=2026/month=03/day=04/hour=05/f"
    )
    assert writepath.static_prefix("logs", t.suffix_path, A, "us-east-1") == f"logs/AWSLogs/{A}/bedrock/"
    assert writepath.static_prefix("", None, A, "us-east-1") == f"AWSLogs/{A}/"
    assert writepath.static_prefix("", "{yyyy}/x", A, "us-east-1") == ""


def test_missing_grant_is_a_warning_only_for_a_new_same_account_delivery() -> None:
    facts = {"arn:aws:s3:::bucket/logs": writepath.Facts("arn:aws:s3:::bucket/logs")}
    [new] = writepath.evaluate_targets([target(new=True)], facts)
    [old] = writepath.evaluate_targets([target()], facts)
    [cross] = writepath.evaluate_targets([target(new=True, source_account=B)], facts)
    assert (new.code, new.severity) == ("s3-policy-missing", Severity.WARNING)
    assert old.severity is Severity.ERROR and cross.severity is Severity.ERROR


def test_cloudfront_into_a_stream_outside_us_east_1() -> None:
    arn = f"arn:aws:firehose:eu-west-1:{A}:deliverystream/s"
    f = writepath.Facts(arn, stream_type="DirectPut", stream_tags={"LogDeliveryEnabled": "true"})
    [finding] = writepath.evaluate_targets(
        [target(dest_type="FH", resource_arn=arn, source_service="cloudfront")], {arn: f}
    )
    assert finding.code == "firehose-wrong-region"


def test_observations_group_deliveries_and_firehose_is_unobservable() -> None:
    items = [target(address="a"), target(address="b"), target(address="c", source_account=B),
             target(address="d", dest_type="FH", resource_arn=f"arn:aws:firehose:us-east-1:{A}:deliverystream/s")]  # fmt: skip
    obs = verify.observations(items)
    by_key = {o.key: o for o in obs}
    assert by_key[f"s3://bucket/logs/AWSLogs/{A}/"].deliveries == ["a", "b"]
    assert by_key[f"s3://bucket/logs/AWSLogs/{B}/"].deliveries == ["c"]
    fh = next(o for o in obs if o.dest_type == "FH")
    assert fh.status == verify.UNOBSERVABLE


def test_run_waits_until_a_record_or_the_timeout() -> None:
    now = [0.0]
    seen: dict[str, dt.datetime | None] = {"x": None}

    class Reader:
        def newest_record(self, obs: verify.Observation, since: dt.datetime | None) -> dt.datetime | None:
            return seen["x"]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 10:
            seen["x"] = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    o = verify.Observation("x", "S3", A, "us-east-1", "bucket", "", ["d"])
    result = verify.run(
        Reader(), [o], [], since=None, timeout=60, interval=5, clock=lambda: now[0], sleep=sleep
    )
    assert result.exit_code == 0 and now[0] == 10
    o2 = verify.Observation("y", "S3", A, "us-east-1", "bucket", "", ["d"])
    seen["x"], now[0] = None, 100.0
    result = verify.run(Reader(), [o2], [], since=None, timeout=3, interval=5, clock=lambda: now[0],
                        sleep=lambda s: now.__setitem__(0, now[0] + s))  # fmt: skip
    assert result.exit_code == 2 and o2.status == verify.SILENT


def test_durations_and_since() -> None:
    assert verify.parse_duration("1h30m") == 5400 and verify.parse_duration("0.5s") == 0.5
    assert verify.parse_duration("15") == 15
    with pytest.raises(ConfigError):
        verify.parse_duration("soon")
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    assert verify.parse_since("30m", now) == dt.datetime(2026, 1, 1, 11, 30, tzinfo=dt.UTC)
    assert verify.parse_since("2026-01-01T10:00:00Z", now) == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    with pytest.raises(ConfigError, match="apply --verify"):
        verify.parse_since("apply", now)


def test_log_group_policies_count_with_the_accounts() -> None:
    """A grant in the log group's own resource policy lets the service write; a Deny in either kind of policy wins."""
    group = f"arn:aws:logs:us-east-1:{A}:log-group:app"
    t = target(dest_type="CWL", resource_arn=group)
    allow = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": writepath.SERVICE},
                                       "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                       "Resource": f"{group}:log-stream:*",
                                       "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:logs:us-east-1:{A}:*"}}}]})  # fmt: skip
    deny = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "logs:PutLogEvents",
                                      "Resource": "*"}]})  # fmt: skip
    assert [f.code for f in writepath.evaluate_targets([t], {group: writepath.Facts(group)})] == [
        "cwl-policy-missing"
    ]
    own = writepath.Facts(group, cwl_group_policies=[("mine", allow)])
    assert writepath.evaluate_targets([t], {group: own}) == []
    denied = writepath.Facts(group, cwl_policies=[("acct", deny)], cwl_group_policies=[("mine", allow)])
    assert [f.code for f in writepath.evaluate_targets([t], {group: denied})] == ["cwl-policy-denies"]
    wrong = writepath.Facts(
        group, cwl_group_policies=[("mine", allow.replace(f"us-east-1:{A}:*", f"eu-west-1:{A}:*"))]
    )
    [f] = writepath.evaluate_targets([t], {group: wrong})
    assert f.code == "cwl-policy-wrong-region" and "of log group app" in f.message
