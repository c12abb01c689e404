"""Topology pictures of a plan or of an estate: Mermaid flowchart and Graphviz DOT (pure; no AWS import).

Nodes are delivery sources and delivery destinations, inside one subgraph per account with one per region in it;
edges are deliveries, labelled with the delivery's name, and "cross-account" when they leave their account. A
destination policy is drawn on its destination (a changed policy marks its destination as updated). Each element is
styled by what the plan does to it: created, updated, replaced, deleted, or unchanged (faded; shown only as the
neighbour of a change, or with ``--format`` over the whole estate).

Readable size: beyond ``max_nodes``, unchanged nodes are folded first into one node per (account, region, kind,
service); if that is still too many, changed nodes are folded the same way (their edges are counted), and then
accounts and regions are merged. ``Graph.folded`` says what was folded, for a line under the picture.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from . import catalog
from .diff import Action, Change
from .kinds import Delivery, Destination, Source
from .models import Kind, Resource, destination_arn, parse_destination_arn

UNCHANGED = "unchanged"
STATUSES = ("create", "update", "replace", "delete", UNCHANGED)
MAX_NODES = 40

# GitHub's light palette: green created, yellow updated, purple replaced, red dashed deleted, grey unchanged
MERMAID_CLASSES = {
    "create": "fill:#dafbe1,stroke:#1a7f37,color:#116329",
    "update": "fill:#fff8c5,stroke:#9a6700,color:#7d4e00",
    "replace": "fill:#fbefff,stroke:#8250df,color:#6639ba,stroke-width:3px",
    "delete": "fill:#ffebe9,stroke:#cf222e,color:#a40e26,stroke-dasharray:5 3",
    UNCHANGED: "fill:#f6f8fa,stroke:#d0d7de,color:#8c959f",
}
EDGE_STYLE = {
    "create": "stroke:#1a7f37,stroke-width:2px",
    "update": "stroke:#9a6700,stroke-width:2px",
    "replace": "stroke:#8250df,stroke-width:3px",
    "delete": "stroke:#cf222e,stroke-width:2px,stroke-dasharray:5 3",
    UNCHANGED: "stroke:#d0d7de",
}
DOT_STYLE = {
    "create": 'color="#1a7f37", fillcolor="#dafbe1", style="filled"',
    "update": 'color="#9a6700", fillcolor="#fff8c5", style="filled"',
    "replace": 'color="#8250df", fillcolor="#fbefff", style="filled,bold"',
    "delete": 'color="#cf222e", fillcolor="#ffebe9", style="filled,dashed"',
    UNCHANGED: 'color="#d0d7de", fontcolor="#8c959f", style="filled", fillcolor="#f6f8fa"',
}
PAST = {
    "create": "created",
    "update": "updated",
    "replace": "replaced",
    "delete": "deleted",
    UNCHANGED: UNCHANGED,
}
LEGEND = (
    "green: created · yellow: updated · purple: replaced · red dashed: deleted · grey: unchanged neighbour"
)


@dataclass
class Node:
    key: str
    kind: str  # "source" | "destination"
    account: str
    region: str
    name: str
    service: str
    detail: str
    status: str
    count: int = 1  # > 1 for a folded group


@dataclass
class Edge:
    src: str
    dst: str
    label: str
    status: str
    cross_account: bool
    count: int = 1


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    folded: str = ""  # what was folded to stay readable, for humans

    @property
    def empty(self) -> bool:
        return not self.nodes


# ---- building ------------------------------------------------------------------------------------------------


def _service_of_arn(arn: str) -> str:
    parsed = catalog.split_arn(arn)
    return parsed[1] if parsed else "?"


def _source_key(account: str, region: str, name: str) -> str:
    return f"src|{account}|{region}|{name}"


def _dest_key(arn: str) -> str:
    return f"dst|{arn}"


def _status(action: Action) -> str:
    return UNCHANGED if action is Action.NOOP else action.value


def _node_of(r: Resource, status: str) -> tuple[str, Node]:
    if r.kind is Kind.SOURCE:
        src = Source.typed(r)
        service = _service_of_arn(src.resourceArn or "")
        detail = f"{service} · {src.logType or '?'}"
        return _source_key(r.account, r.region, r.name), Node(
            "", "source", r.account, r.region, r.name, service, detail, status
        )
    arn = r.arn or destination_arn(r.account, r.region, r.name)
    dst = Destination.typed(r)
    target = dst.destinationResourceArn
    service = dst.deliveryDestinationType or (
        catalog.destination_type_for_arn(target) or "?" if target else "?"
    )
    detail = service + (f" · {dst.outputFormat}" if dst.outputFormat else "")
    return _dest_key(arn), Node("", "destination", r.account, r.region, r.name, service, detail, status)


def _endpoints(d: Resource) -> tuple[tuple[str, Node], tuple[str, Node]]:
    """A delivery's source and destination nodes, from the delivery alone (used when they are not known)."""
    a = Delivery.typed(d)
    src_name, arn = a.deliverySourceName, a.deliveryDestinationArn
    service = (a.target.sourceService if a.target is not None else None) or "?"
    src = (
        _source_key(d.account, d.region, src_name),
        Node("", "source", d.account, d.region, src_name, service, service, UNCHANGED),
    )
    parts = parse_destination_arn(arn)
    region, account, name = parts if parts else (d.region, d.account, arn)
    dtype = a.deliveryDestinationType or "?"
    dst = _dest_key(arn), Node("", "destination", account, region, name, dtype, dtype, UNCHANGED)
    return src, dst


RANK = {s: i for i, s in enumerate(("replace", "delete", "create", "update", UNCHANGED))}


def build(changes: list[Change], context: list[Resource]) -> Graph:
    """The picture of ``changes`` with the unchanged ``context`` resources (neighbours, or the whole estate)."""
    nodes = _Nodes()
    deliveries: list[tuple[Resource, str]] = []
    for r in context:
        if r.kind in (Kind.SOURCE, Kind.DESTINATION):
            nodes.put(*_node_of(r, UNCHANGED))
        elif r.kind is Kind.DELIVERY:
            deliveries.append((r, UNCHANGED))
    for c in changes:
        deliveries += _add_change(nodes, c)
    edges: list[Edge] = []
    for d, status in deliveries:
        (sk, sn), (dk, dn) = _endpoints(d)
        if sk not in nodes.nodes:
            nodes.put(sk, sn)
        if dk not in nodes.nodes:
            nodes.put(dk, dn)
        cross = nodes.nodes[sk].account != nodes.nodes[dk].account
        edges.append(Edge(sk, dk, d.name, status, cross))
    edges.sort(key=lambda e: (e.src, e.dst, e.label, RANK[e.status]))
    return Graph(dict(sorted(nodes.nodes.items())), edges)


class _Nodes:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}

    def put(self, key: str, node: Node) -> None:
        have = self.nodes.get(key)
        if have is None:
            node.key = key
            self.nodes[key] = node
        elif RANK[node.status] < RANK[have.status]:
            have.status = node.status  # a node keeps the most consequential status it is given
        if have is not None and have.service == "?" and node.service != "?":
            have.service, have.detail = node.service, node.detail


def _add_change(nodes: _Nodes, c: Change) -> list[tuple[Resource, str]]:
    """A changed source, destination or policy as a node; a changed delivery as the edges it draws."""
    status = _status(c.action)
    if c.kind in (Kind.SOURCE, Kind.DESTINATION):
        nodes.put(*_node_of(c.resource, status))
    elif c.kind is Kind.POLICY:
        r = c.resource
        key = _dest_key(r.arn or destination_arn(r.account, r.region, r.name))
        nodes.put(key, Node("", "destination", r.account, r.region, r.name, "?", "?", "update"))
    elif c.kind is Kind.DELIVERY:
        before, after = c.before, c.after
        if c.action is Action.REPLACE and before and after and before.key != after.key:
            return [
                (before, "delete"),
                (after, "create"),
            ]  # moved to another pair: the old edge goes, the new comes
        return [(c.resource, status)]
    return []


class _Estate:
    """The live resources indexed for ``neighbours``: sources, destinations, deliveries by source and destination."""

    def __init__(self, resources: list[Resource]) -> None:
        self.sources = {(r.account, r.region, r.name): r for r in resources if r.kind is Kind.SOURCE}
        self.dests = {_dest_arn(r): r for r in resources if r.kind is Kind.DESTINATION}
        self.by_source: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
        self.by_dest: dict[str, list[Resource]] = defaultdict(list)
        for r in resources:
            if r.kind is Kind.DELIVERY:
                self.by_source[Delivery.source_of(r)].append(r)
                self.by_dest[Delivery.endpoints(r)[1]].append(r)

    def ends(self, d: Resource) -> list[Resource]:
        """A delivery's source and destination, those that exist."""
        found = (
            self.sources.get(Delivery.source_of(d)),
            self.dests.get(Delivery.endpoints(d)[1]),
        )
        return [end for end in found if end is not None]

    def attached(self, r: Resource) -> list[Resource]:
        """The deliveries of a source or destination."""
        if r.kind is Kind.SOURCE:
            return self.by_source.get((r.account, r.region, r.name), [])
        return self.by_dest.get(_dest_arn(r), [])

    def around(self, r: Resource) -> list[Resource]:
        """A delivery's ends; a source's or destination's deliveries and their ends."""
        if r.kind is Kind.DELIVERY:
            return self.ends(r)
        return [x for d in self.attached(r) for x in (d, *self.ends(d))]


def _dest_arn(r: Resource) -> str:
    return r.arn or destination_arn(r.account, r.region, r.name)


def neighbours(changes: list[Change], resources: list[Resource]) -> list[Resource]:
    """The unchanged resources next to a change: the source and destination of a changed delivery, the deliveries
    of a changed source or destination (and their other end). Sorted by address."""
    changed = {c.resource.key for c in changes} | {c.before.key for c in changes if c.before is not None}
    estate = _Estate(resources)
    out: dict[str, Resource] = {}
    for c in changes:
        for one in (c.before, c.after):
            if one is not None:
                out.update((r.key, r) for r in estate.around(one))
    return sorted((r for k, r in out.items() if k not in changed), key=lambda r: r.address)


# ---- folding -------------------------------------------------------------------------------------------------


def _fold(g: Graph, group_of: dict[str, str], make: dict[str, Node]) -> Graph:
    nodes: dict[str, Node] = {}
    for key, node in g.nodes.items():
        gk = group_of.get(key, key)
        if gk == key:
            nodes[key] = node
        elif gk not in nodes:
            nodes[gk] = make[gk]
    merged: dict[tuple[str, str, str, bool], Edge] = {}
    for e in g.edges:
        s, d = group_of.get(e.src, e.src), group_of.get(e.dst, e.dst)
        k = (s, d, e.status, e.cross_account)
        if k in merged:
            merged[k].count += e.count
        else:
            merged[k] = Edge(s, d, e.label, e.status, e.cross_account, e.count)
    for e in merged.values():
        if e.count > 1:
            e.label = f"{e.count} deliveries"
    edges = sorted(merged.values(), key=lambda e: (e.src, e.dst, RANK[e.status]))
    return Graph(dict(sorted(nodes.items())), edges, g.folded)


def _fold_by(g: Graph, which: set[str], scope: bool) -> Graph:
    """Fold the nodes whose status is in ``which`` into one per kind, service and status, and per account and
    region when ``scope`` (then a group of one stays itself)."""
    members: dict[str, list[str]] = defaultdict(list)
    for key, n in g.nodes.items():
        if n.status in which:
            where = (n.account, n.region) if scope else ("*", "*")
            members[f"grp|{where[0]}|{where[1]}|{n.kind}|{n.service}|{n.status}"].append(key)
    group_of: dict[str, str] = {}
    make: dict[str, Node] = {}
    for gk, keys in members.items():
        size = sum(g.nodes[k].count for k in keys)
        if len(keys) == 1 and scope:
            continue  # a group of one stays itself
        _, account, region, kind, service, status = gk.split("|")
        plural = ("source" if kind == "source" else "destination") + ("" if size == 1 else "s")
        make[gk] = Node(gk, kind, account, region, f"{size} {service} {plural}", service, PAST[status], status,
                        size)  # fmt: skip
        group_of.update((k, gk) for k in keys)
    return _fold(g, group_of, make)


def cap(g: Graph, max_nodes: int = MAX_NODES) -> Graph:
    """Fold the graph to at most ``max_nodes`` nodes where possible (see the module docstring)."""
    if len(g.nodes) <= max_nodes:
        return g
    total = len(g.nodes)
    steps = [({UNCHANGED}, True), (set(STATUSES), True), (set(STATUSES), False)]
    out = g
    for which, scope in steps:
        out = _fold_by(g, which, scope)
        if len(out.nodes) <= max_nodes:
            break
    grouped = sum(1 for n in out.nodes.values() if n.key.startswith("grp|"))
    whole = ", accounts and regions merged" if any(n.account == "*" for n in out.nodes.values()) else ""
    out.folded = (
        f"{total} sources and destinations are more than {max_nodes}: folded by service into {grouped} groups"
        f"{whole} ({len(out.nodes)} nodes shown)"
    )
    return out


# ---- rendering -----------------------------------------------------------------------------------------------


def _m(text: str) -> str:
    """Text inside a quoted Mermaid label."""
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _ident(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def _scopes(g: Graph) -> dict[str, dict[str, list[Node]]]:
    out: dict[str, dict[str, list[Node]]] = defaultdict(lambda: defaultdict(list))
    for n in g.nodes.values():
        out[n.account][n.region].append(n)
    return out


def mermaid(g: Graph) -> str:
    """A Mermaid ``flowchart LR`` (GitHub renders it in comments and markdown files)."""
    ids = {key: f"n{i}" for i, key in enumerate(g.nodes)}
    lines = ["flowchart LR"]
    for account, regions in sorted(_scopes(g).items()):
        lines += _mermaid_account(account, regions, ids)
    for e in g.edges:
        label = _m(e.label + (" · cross-account" if e.cross_account else ""))
        arrow = "-.->" if e.status in ("delete", UNCHANGED) else "-->"
        lines.append(f'  {ids[e.src]} {arrow}|"{label}"| {ids[e.dst]}')
    for status in STATUSES:
        lines.append(f"  classDef {status} {MERMAID_CLASSES[status]}")
    by_status: dict[str, list[str]] = defaultdict(list)
    for key, n in g.nodes.items():
        by_status[n.status].append(ids[key])
    for status in STATUSES:
        if by_status[status]:
            lines.append(f"  class {','.join(by_status[status])} {status}")
    for i, e in enumerate(g.edges):
        lines.append(f"  linkStyle {i} {EDGE_STYLE[e.status]}")
    return "\n".join(lines) + "\n"


def _mermaid_account(account: str, regions: dict[str, list[Node]], ids: dict[str, str]) -> list[str]:
    """One account's subgraph (none for the folded ``*``), with a subgraph per region."""
    inner = "    " if account != "*" else "  "
    lines = [f'  subgraph acct_{_ident(account)}["account {_m(account)}"]'] if account != "*" else []
    for region, nodes in sorted(regions.items()):
        if region != "*":
            lines.append(f'{inner}subgraph reg_{_ident(account)}_{_ident(region)}["{_m(region)}"]')
        for n in nodes:
            label = f"{_m(n.name)}<br/>{_m(n.detail)}"
            shape = f'["{label}"]' if n.kind == "source" else f'[("{label}")]'
            lines.append(f"{inner}  {ids[n.key]}{shape}")
        if region != "*":
            lines.append(f"{inner}end")
    if account != "*":
        lines.append("  end")
    return lines


def _d(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(g: Graph) -> str:
    """A Graphviz ``digraph`` with one cluster per account and region."""
    ids = {key: f"n{i}" for i, key in enumerate(g.nodes)}
    lines = ["digraph reconciler {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    for account, regions in sorted(_scopes(g).items()):
        lines.append(f'  subgraph "cluster_{_d(account)}" {{')
        lines.append(f'    label="account {_d(account)}";')
        for region, nodes in sorted(regions.items()):
            lines.append(f'    subgraph "cluster_{_d(account)}_{_d(region)}" {{')
            lines.append(f'      label="{_d(region)}";')
            for n in nodes:
                shape = "box" if n.kind == "source" else "cylinder"
                lines.append(
                    f'      {ids[n.key]} [label="{_d(n.name)}\\n{_d(n.detail)}", shape={shape}, '
                    f"{DOT_STYLE[n.status]}];"
                )
            lines.append("    }")
        lines.append("  }")
    for e in g.edges:
        label = e.label + (" (cross-account)" if e.cross_account else "")
        style = {"delete": ', style="dashed"', UNCHANGED: ', color="#d0d7de"'}.get(e.status, "")
        color = {"create": "#1a7f37", "update": "#9a6700", "replace": "#8250df", "delete": "#cf222e"}.get(
            e.status
        )
        colored = f', color="{color}"' if color else ""
        lines.append(f'  {ids[e.src]} -> {ids[e.dst]} [label="{_d(label)}"{colored}{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"
