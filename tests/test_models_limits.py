"""The limits in models.py and the source catalogue agree with botocore's logs service model."""

from __future__ import annotations

import re

import botocore.session

from reconciler import capabilities, models

MODEL = botocore.session.get_session().get_service_model("logs")


def meta(shape: str, member: str) -> dict[str, object]:
    return dict(MODEL.shape_for(shape).members[member].metadata)


def test_name_and_log_type_limits() -> None:
    name = meta("DeliverySource", "name")
    assert (name["min"], name["max"], name["pattern"]) == (
        models.NAME_MIN,
        models.NAME_MAX,
        models.NAME_PATTERN,
    )
    log_type = meta("DeliverySource", "logType")
    assert (log_type["min"], log_type["max"], log_type["pattern"]) == (
        models.LOG_TYPE_MIN,
        models.LOG_TYPE_MAX,
        models.LOG_TYPE_PATTERN,
    )


def test_tag_limits() -> None:
    tags = MODEL.shape_for("Tags")
    assert tags.metadata["max"] == models.TAGS_MAX
    assert (tags.key.metadata["min"], tags.key.metadata["max"]) == (models.TAG_KEY_MIN, models.TAG_KEY_MAX)
    assert tags.value.metadata["max"] == models.TAG_VALUE_MAX


def test_delivery_limits() -> None:
    assert meta("Delivery", "recordFields")["max"] == models.RECORD_FIELDS_MAX
    field = MODEL.shape_for("RecordFields").member.metadata
    assert (field["min"], field["max"]) == (models.RECORD_FIELD_MIN_LEN, models.RECORD_FIELD_MAX_LEN)
    assert meta("Delivery", "fieldDelimiter")["max"] == models.FIELD_DELIMITER_MAX
    suffix = meta("S3DeliveryConfiguration", "suffixPath")
    assert (suffix["min"], suffix["max"]) == (models.SUFFIX_PATH_MIN, models.SUFFIX_PATH_MAX)
    policy = MODEL.operation_model("PutDeliveryDestinationPolicy").input_shape.members[
        "deliveryDestinationPolicy"
    ]
    assert (policy.metadata["min"], policy.metadata["max"]) == (models.POLICY_MIN, models.POLICY_MAX)
    limit = MODEL.operation_model("DescribeDeliveries").input_shape.members["limit"].metadata
    assert limit["max"] == models.DESCRIBE_LIMIT_MAX


def test_enums() -> None:
    assert tuple(meta("DeliveryDestination", "outputFormat")["enum"]) == models.OUTPUT_FORMATS  # type: ignore[arg-type]
    assert tuple(meta("DeliveryDestination", "deliveryDestinationType")["enum"]) == models.DESTINATION_TYPES  # type: ignore[arg-type]


def _doc_table() -> dict[str, set[str]]:
    doc = MODEL.operation_model("PutDeliverySource").input_shape.members["logType"].documentation
    out = {}
    for item in re.findall(r"<li>\s*<p>(.*?)</p>\s*</li>", doc):
        m = re.match(r"For (.*?), the valid values? (?:is|are) (.*)", item)
        assert m, item
        out[" ".join(m.group(1).split())] = set(re.findall(r"<code>(\w+)</code>", m.group(2)))
    return out


def test_every_documented_service_and_log_type_is_in_the_capability_table() -> None:
    """The installed botocore's PutDeliverySource documentation against reconciler/capabilities.json."""
    services = {s.name: s for s in capabilities.table().services}
    missing = []
    for name, log_types in sorted(_doc_table().items()):
        if name not in services:
            missing.append(f"service {name!r}")
            continue
        missing.extend(f"{name} {lt}" for lt in sorted(log_types - set(services[name].log_types)))
    assert not missing, f"in the botocore documentation, not in the table (run make capabilities): {missing}"


def test_table_enums_match_the_model() -> None:
    tbl = capabilities.table()
    assert set(tbl.output_formats) == set(models.OUTPUT_FORMATS)
    assert set(tbl.destination_types) == set(models.DESTINATION_TYPES)
