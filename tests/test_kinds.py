"""The kinds registry (pure): each kind's typed attributes, write parameters and the type checker's hold on them."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from mypy import api as mypy_api

from reconciler.kinds import KINDS, Delivery, DeliveryAttrs
from reconciler.kinds import delivery as delivery_kind
from reconciler.kinds import destination as destination_kind
from reconciler.kinds import policy as policy_kind
from reconciler.kinds import source as source_kind
from reconciler.kinds.base import ExportContext
from reconciler.models import Kind, Resource

A = "111111111111"
R = "us-east-1"
DEST = f"arn:aws:logs:{R}:{A}:delivery-destination:central"


def desired() -> list[Resource]:
    cf = "arn:aws:cloudfront::111111111111:distribution/E1"
    src = source_kind.resource(A, R, "cdn", cf, "ACCESS_LOGS", {}, {"team": "a"}, "main.yaml:1")
    dest = destination_kind.resource(
        A, R, "central", "S3", "json", "arn:aws:s3:::logs", None, "managed", {}, "main.yaml:9"
    )
    pol = policy_kind.resource(A, R, "central", {"Version": "2012-10-17", "Statement": []}, "main.yaml:9")
    spec = delivery_kind.DeliverySpec(source="cdn", destination="central")
    target = delivery_kind.Target("cloudfront", cf, "ACCESS_LOGS", "arn:aws:s3:::logs", "json", A)
    dlv = delivery_kind.resource(A, R, "cdn-logs", "cdn", DEST, "S3", target, spec, {}, "main.yaml:20")
    return [src, dest, pol, dlv]


def test_every_kind_has_a_module() -> None:
    assert set(KINDS) == set(Kind)
    for kind, kind_def in KINDS.items():
        assert kind_def.kind is kind
        names = {f.name for f in dataclasses.fields(kind_def.attrs)}
        assert set(kind_def.compared) <= names and set(kind_def.replaced_by) <= names


def test_the_mapping_form_is_the_typed_attributes_in_order() -> None:
    for r in desired():
        typed = KINDS[r.kind].typed(r)
        assert list(typed.as_dict().items()) == list(r.attrs.items())


def test_a_desired_delivery_leaves_the_defaulted_fields_to_aws_on_create_only() -> None:
    dlv = desired()[-1]
    attrs = DeliveryAttrs.from_mapping(dlv.attrs)
    assert attrs.defaulted  # CloudFront to S3: the template gives record fields and the suffix path
    create = Delivery.write_params(dlv, creating=True)
    update = Delivery.write_params(dlv)
    assert not set(create) & {"recordFields", "fieldDelimiter"}
    assert update["recordFields"] == attrs.recordFields
    assert set(update["s3DeliveryConfiguration"]) >= {"suffixPath"}


def test_export_writes_a_delivery_without_its_defaults() -> None:
    resources = desired()
    dlv = resources[-1]
    spec = Delivery.export_spec(dlv, ExportContext(resources))
    assert spec == {"source": "cdn", "destination": "central"}


def test_the_type_checker_catches_a_field_left_out(tmp_path: Path) -> None:
    """A new required field in DeliveryAttrs: every place that builds one without it fails mypy."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from reconciler.kinds.delivery import DeliveryAttrs\n"
        "DeliveryAttrs(deliverySourceName='s', deliveryDestinationArn='d', deliveryDestinationType='S3',\n"
        "              recordFields=None, fieldDelimiter=None)\n"
    )
    out, _, code = mypy_api.run(["--strict", "--no-incremental", "--cache-dir=/dev/null", str(snippet)])
    assert code == 1 and 'Missing positional argument "s3DeliveryConfiguration"' in out, out


def test_the_reader_reads_aws_answers_through_the_kinds() -> None:
    """The AWS reader's converters are the kinds' ``from_api``: tags split, the handle names a delivery, the
    attributes in their typed order."""
    from reconciler import aws

    assert aws.source_from_api is source_kind.from_api and aws.delivery_from_api is delivery_kind.from_api
    assert (
        aws.destination_from_api is destination_kind.from_api and aws.policy_from_api is policy_kind.from_api
    )
    tags = {
        "reconciler:project": "p",
        "reconciler:name": "h",
        "team": "x",
        "Protect": "true",
        "reconciler:protect": "no",
    }
    live = [
        source_kind.from_api(A, R, {"name": "s", "arn": "arn:s", "resourceArns": ["arn:x"], "logType": "A"}, tags),
        destination_kind.from_api(A, R, {"name": "d", "deliveryDestinationType": "S3",
                                         "deliveryDestinationConfiguration": {"destinationResourceArn": "arn:b"}}, {}),
        delivery_kind.from_api(A, R, {"id": "i", "deliverySourceName": "s", "deliveryDestinationArn": DEST}, tags),
        delivery_kind.from_api(A, R, {"id": "j", "deliverySourceName": "s", "deliveryDestinationArn": DEST}, {}),
    ]  # fmt: skip
    for r in live:
        assert list(KINDS[r.kind].typed(r).as_dict()) == list(r.attrs)
    src, dest, named, unnamed = live
    assert (src.owner, src.tags, src.protected) == ("p", {"team": "x"}, True)
    assert src.extra_tags == {"Protect": "true", "reconciler:protect": "no"}
    assert dest.attrs["destinationResourceArn"] == "arn:b" and dest.owner is None and dest.arn is None
    assert (named.name, named.id, unnamed.name) == ("h", "i", "s-to-central")
    assert named.attrs["recordFields"] == [] and named.attrs["fieldDelimiter"] == ""
    assert policy_kind.from_api(A, R, "central", DEST, {"policy": {}}) is None
    odd = policy_kind.from_api(A, R, "central", DEST, {"policy": {"deliveryDestinationPolicy": "not json"}})
    assert odd is not None and odd.attrs == {"policy": {"__unparsed__": "not json"}}


def _reads_by_key(tree: ast.AST) -> list[int]:
    """Lines that read ``<x>.attrs["field"]`` or ``<x>.attrs.get("field")`` with a literal field name."""
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "attrs"
        ):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "attrs"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            lines.append(node.lineno)
    return lines


def test_no_code_outside_the_kinds_reads_an_attribute_by_key() -> None:
    """A field is read through its kind's typed view (``Source.typed(r).resourceArn``), so mypy sees every read.
    Allowed: ``models.py`` (a Resource's identity key) and the kinds and the emulator themselves."""
    package = Path(__file__).resolve().parent.parent / "reconciler"
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if rel.startswith(("kinds/", "sandbox/")) or rel == "models.py":
            continue
        found += [f"{rel}:{line}" for line in _reads_by_key(ast.parse(path.read_text(), rel))]
    assert not found, found
