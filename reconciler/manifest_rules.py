"""Cross-document checks on the manifests: one small rule per function, each with an id (pure; no I/O).

Modelled on cfn-lint's rules: ``@rule(ID, summary)`` registers a function that takes the ``Index`` (the documents
admitted by identity, and each delivery with its source and destination resolved) and yields problems located in
their file and line. Two admission checks run first, per document, because a document they refuse is left out of
the index (M001 region, M002 unique name). To add a check: write a function below with the next free id of its
group (M01x sources, M02x destinations, M03x deliveries), and the README's table of rules gets a line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import catalog, delivery_rules, hints
from .aws import region_problem
from .errors import Problem
from .models import (
    DeliveryDestinationDoc,
    DeliveryDoc,
    DeliverySourceDoc,
    DeliverySpec,
    Kind,
    destination_arn,
    parse_destination_arn,
)

if TYPE_CHECKING:
    from .manifest import _Parsed

Identity = tuple[str, str, str, str]  # (kind, account, region, name)
Place = tuple[str, str, str]  # (account, region, name)


@dataclass
class Link:
    """A delivery document with what it names, resolved."""

    p: _Parsed
    source: _Parsed | None
    destination: _Parsed | None
    destination_arn: str | None
    destination_problem: str | None = (
        None  # why the destination did not resolve (None: resolved, or reported)
    )
    duplicate_of: _Parsed | None = None  # an earlier delivery of the same (source, destination) pair

    @property
    def spec(self) -> DeliverySpec:
        assert isinstance(self.p.model, DeliveryDoc)
        return self.p.model.spec

    @property
    def destination_doc(self) -> DeliveryDestinationDoc | None:
        d = self.destination
        return d.model if d is not None and isinstance(d.model, DeliveryDestinationDoc) else None

    @property
    def source_doc(self) -> DeliverySourceDoc | None:
        s = self.source
        return s.model if s is not None and isinstance(s.model, DeliverySourceDoc) else None


@dataclass
class Index:
    """The admitted documents by identity, sources and destinations by place, deliveries resolved."""

    admitted: dict[Identity, _Parsed]
    invalid: set[Identity]  # documents that failed validation (still count for references)
    sources: dict[Place, _Parsed] = field(default_factory=dict)
    destinations: dict[Place, _Parsed] = field(default_factory=dict)
    destinations_by_name: dict[str, list[_Parsed]] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)

    def of(self, model: type[object]) -> Iterator[_Parsed]:
        return (p for p in self.admitted.values() if isinstance(p.model, model))


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    check: Callable[[Index], Iterator[Problem]]


RULES: list[Rule] = []


def rule(
    rule_id: str, summary: str
) -> Callable[[Callable[[Index], Iterator[Problem]]], Callable[..., Iterator[Problem]]]:
    def register(check: Callable[[Index], Iterator[Problem]]) -> Callable[[Index], Iterator[Problem]]:
        RULES.append(Rule(rule_id, summary, check))
        return check

    return register


# ---- admission (per document, in file order): a refused document is left out of the index --------------------


@dataclass(frozen=True)
class Admission:
    id: str
    summary: str
    check: Callable[[_Parsed, dict[Identity, _Parsed]], Problem | None]


ADMISSION: list[Admission] = []


def admission(
    rule_id: str, summary: str
) -> Callable[[Callable[[_Parsed, dict[Identity, _Parsed]], Problem | None]], Callable[..., Problem | None]]:
    def register(
        check: Callable[[_Parsed, dict[Identity, _Parsed]], Problem | None],
    ) -> Callable[[_Parsed, dict[Identity, _Parsed]], Problem | None]:
        ADMISSION.append(Admission(rule_id, summary, check))
        return check

    return register


@admission("M001", "metadata.region names a region AWS has")
def region_known(p: _Parsed, admitted: dict[Identity, _Parsed]) -> Problem | None:
    region = p.model.metadata.region
    why = region_problem(region) if region is not None else None
    return p.problem(("metadata", "region"), why) if why is not None else None


@admission("M002", "one document per kind and name in an account and region")
def name_unique(p: _Parsed, admitted: dict[Identity, _Parsed]) -> Problem | None:
    first = admitted.get(identity(p))
    if first is None:
        return None
    return p.problem(
        ("metadata", "name"),
        f"duplicate name in {p.account}/{p.region} (first defined at {first.doc.file}:{first.doc.line})",
    )


def identity(p: _Parsed) -> Identity:
    return (p.model.kind, p.account, p.region, p.model.metadata.name)


def admit(parsed: list[_Parsed]) -> tuple[dict[Identity, _Parsed], list[Problem]]:
    admitted: dict[Identity, _Parsed] = {}
    problems: list[Problem] = []
    for p in parsed:
        problem = next((x for a in ADMISSION if (x := a.check(p, admitted)) is not None), None)
        if problem is not None:
            problems.append(problem)
        else:
            admitted[identity(p)] = p
    return admitted, problems


# ---- the index ---------------------------------------------------------------------------------------------


def index(admitted: dict[Identity, _Parsed], invalid: set[Identity]) -> Index:
    out = Index(admitted, invalid)
    for (_kind, acct, region, name), p in admitted.items():
        if isinstance(p.model, DeliverySourceDoc):
            out.sources[(acct, region, name)] = p
        elif isinstance(p.model, DeliveryDestinationDoc):
            out.destinations[(acct, region, name)] = p
            out.destinations_by_name.setdefault(name, []).append(p)
    pairs: dict[tuple[str, str, str, str], _Parsed] = {}
    for p in out.of(DeliveryDoc):
        link = _link(out, p)
        if link.source is not None and link.destination_arn is not None:
            pair = (p.account, p.region, link.spec.source, link.destination_arn)
            link.duplicate_of = pairs.get(pair)
            pairs.setdefault(pair, p)
        out.links.append(link)
    return out


def _link(ix: Index, p: _Parsed) -> Link:
    assert isinstance(p.model, DeliveryDoc)
    spec = p.model.spec
    source = ix.sources.get((p.account, p.region, spec.source))
    if spec.destination.startswith("arn:"):
        parts = parse_destination_arn(spec.destination)
        if parts is None:
            return Link(p, source, None, None, f"{spec.destination!r} is not a delivery-destination ARN")
        return Link(p, source, ix.destinations.get((parts[1], parts[0], parts[2])), spec.destination)
    dest, problem = _destination_by_name(ix, p, spec.destination)
    arn = destination_arn(dest.account, dest.region, dest.model.metadata.name) if dest is not None else None
    return Link(p, source, dest, arn, problem)


def _destination_by_name(ix: Index, p: _Parsed, target: str) -> tuple[_Parsed | None, str | None]:
    """The destination a name means: the one in the delivery's account and region, else the only one."""
    candidates = ix.destinations_by_name.get(target, [])
    local = [c for c in candidates if c.account == p.account and c.region == p.region]
    if local:
        return local[0], None
    if len(candidates) == 1:
        return candidates[0], None
    if candidates:
        where = ", ".join(f"{c.account}/{c.region}" for c in candidates)
        return None, f"{target!r} is ambiguous ({where}); use the destination's ARN"
    broken = [n for (k, _, _, n) in ix.invalid if k == Kind.DESTINATION.value]
    if target in broken:
        return None, None  # its own document's problem says enough
    return None, f"no DeliveryDestination named {target!r}" + hints.did_you_mean(
        target, [*ix.destinations_by_name, *broken]
    )


def check(ix: Index) -> list[Problem]:
    """Every rule's problems."""
    return [problem for r in RULES for problem in r.check(ix)]


# ---- sources -------------------------------------------------------------------------------------------------


@rule("M010", "one DeliverySource per resource ARN and log type in an account and region")
def source_slot_unique(ix: Index) -> Iterator[Problem]:
    holders: dict[tuple[str, str, str, str], _Parsed] = {}
    for p in ix.of(DeliverySourceDoc):
        assert isinstance(p.model, DeliverySourceDoc)
        spec = p.model.spec
        slot = (p.account, p.region, spec.resourceArn, spec.logType)
        holder = holders.get(slot)
        if holder is not None:
            yield p.problem(
                ("spec", "resourceArn"),
                f"already used for {spec.logType} by DeliverySource/{holder.model.metadata.name} in "
                f"{p.account}/{p.region} (one delivery source per resource ARN and log type)",
            )
        holders[slot] = p


@rule("M011", "log types AWS offers in us-east-1 only (CloudFront) are sourced there")
def source_region(ix: Index) -> Iterator[Problem]:
    for p in ix.of(DeliverySourceDoc):
        assert isinstance(p.model, DeliverySourceDoc)
        spec = p.model.spec
        if catalog.us_east_1_only(spec.resourceArn, spec.logType) and p.region != "us-east-1":
            yield p.problem(("metadata", "region"), f"{spec.logType} sources must be in us-east-1")


# ---- destinations --------------------------------------------------------------------------------------------


@rule("M020", "the output format suits the destination type")
def destination_format(ix: Index) -> Iterator[Problem]:
    for p in ix.of(DeliveryDestinationDoc):
        assert isinstance(p.model, DeliveryDestinationDoc)
        spec = p.model.spec
        for path, message in delivery_rules.check_destination(spec.resolved_type, spec.outputFormat):
            yield p.problem(("spec", *path), message)


# ---- deliveries ----------------------------------------------------------------------------------------------


@rule("M030", "a delivery's source is a DeliverySource of its account and region")
def delivery_source_exists(ix: Index) -> Iterator[Problem]:
    for link in ix.links:
        p, name = link.p, link.spec.source
        if link.source is not None or (Kind.SOURCE.value, p.account, p.region, name) in ix.invalid:
            continue
        here = (p.account, p.region)
        nearby = [n for (a, r, n) in ix.sources if (a, r) == here] + [
            n for (k, a, r, n) in ix.invalid if k == Kind.SOURCE.value and (a, r) == here
        ]
        yield p.problem(
            ("spec", "source"),
            f"no DeliverySource named {name!r} in {p.account}/{p.region}" + hints.did_you_mean(name, nearby),
        )


@rule("M031", "a delivery's destination is a delivery-destination ARN, or the name of one destination")
def delivery_destination_resolves(ix: Index) -> Iterator[Problem]:
    for link in ix.links:
        if link.destination_problem is not None:
            yield link.p.problem(("spec", "destination"), link.destination_problem)


@rule("M032", "s3DeliveryConfiguration only on a delivery to S3")
def delivery_s3_configuration(ix: Index) -> Iterator[Problem]:
    for link in ix.links:
        dest = link.destination_doc
        if dest is None or link.spec.s3DeliveryConfiguration is None or dest.spec.resolved_type == "S3":
            continue
        yield link.p.problem(
            ("spec", "s3DeliveryConfiguration"),
            f"only for S3 destinations; {dest.metadata.name} is {dest.spec.resolved_type}",
        )


@rule("M033", "a delivery to another account's destination needs a policy on it")
def delivery_cross_account_policy(ix: Index) -> Iterator[Problem]:
    for link in ix.links:
        dest, p = link.destination_doc, link.p
        if dest is None or link.destination is None or dest.spec.policy is not None:
            continue
        if link.destination.account != p.account:
            yield p.problem(
                ("spec", "destination"),
                f"cross-account delivery to {link.destination.account} needs a policy on DeliveryDestination/"
                f"{dest.metadata.name} allowing account {p.account} logs:CreateDelivery",
            )


@rule("M034", "the source's log type can be delivered there, with these fields (the capability table)")
def delivery_capabilities(ix: Index) -> Iterator[Problem]:
    for link in ix.links:
        src = link.source_doc
        if src is None:
            continue
        dest = link.destination_doc
        target = delivery_rules.Target(
            label=f"DeliveryDestination/{dest.metadata.name}"
            if dest is not None
            else str(link.destination_arn),
            type=dest.spec.resolved_type if dest is not None else None,
            output_format=dest.spec.outputFormat if dest is not None else None,
            account=link.destination.account if link.destination is not None else None,
        )
        spec = link.spec
        s3 = spec.s3DeliveryConfiguration
        for path, message in delivery_rules.check_delivery(
            src.spec.resourceArn,
            src.spec.logType,
            link.p.account,
            target,
            spec.recordFields,
            spec.fieldDelimiter,
            s3.model_dump(exclude_none=True) if s3 is not None else None,
        ):
            yield link.p.problem(("spec", *path), message)


@rule("M035", "one delivery per (source, destination) pair")
def delivery_pair_unique(ix: Index) -> Iterator[Problem]:
    for link in ix.links:
        if link.duplicate_of is not None:
            yield link.p.problem(
                ("spec", "destination"),
                f"Delivery/{link.duplicate_of.model.metadata.name} already pairs {link.spec.source} with this "
                "destination",
            )
