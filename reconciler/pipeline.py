"""One pipeline from the project to a plan: manifests rendered once, accounts resolved, scopes computed once, live
state read, diffed and built into a ``Plan`` (no printing: ``cli.py`` renders and exits).

    PlanOptions ─┐
    Project ─────┼─ load() ─ Loaded (project resolved, desired state, default account) ─ scopes()
    Api ─────────┘      └─ make_plan(): read live (+ templates, destinations' grants) → expand selectors →
                           AWS templates → diff → --target/--exclude → write-path findings → plan.build → Planned
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import accounts as accountsmod
from . import config as configmod
from . import diff as diffmod
from . import freshness, live_templates, planfile, writepath
from . import grants as grantsmod
from . import graph as graphmod
from . import manifest as manifestmod
from . import plan as planmod
from . import scopes as scopesmod
from . import selectors as selectorsmod
from . import verify as verifymod
from .aws import Api, LiveState
from .errors import ConfigError, PlanError, ReconcilerError, StalePlanError
from .findings import Finding
from .models import Resource

Scope = tuple[str, str]  # (account, region)


@dataclass(frozen=True)
class PlanOptions:
    """What the user asked of a plan (the plan options of ``plan``, ``apply``, ``drift``, ``graph``, ``verify``)."""

    paths: tuple[Path, ...] = ()
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    no_prune: bool = False
    prune: bool = False
    adopt: bool = False
    scopes: tuple[str, ...] = ()  # --scope values as given (ACCOUNT/REGION, or several in one value)
    ignore: tuple[diffmod.Ignore, ...] | None = None  # drift's active ignore rules
    allow_unreadable: bool = False  # drift, verify: an unreadable scope is reported, not raised
    strict: bool = True  # problems of the manifests against live state fail the plan
    write_path: bool = True  # read each destination's grant to the delivery service


@dataclass
class Planned:
    plan: planmod.Plan
    live: LiveState
    api: Api
    project: configmod.Project
    diff: diffmod.DiffResult
    desired: list[Resource] = field(default_factory=list)  # the manifests' resources in readable scopes


@dataclass
class Loaded:
    """The project with its accounts resolved, and its manifests placed in their accounts (validated)."""

    project: configmod.Project
    state: manifestmod.DesiredState
    default_account: str
    notes: list[str] = field(default_factory=list)

    def scopes(self, only: Iterable[Scope] = ()) -> list[Scope]:
        """Every declared (account, region), so that prune and drift see a scope whose last resource left the
        manifests; ``only`` narrows them (``--scope``)."""
        return scopesmod.project_scopes(self.project, self.default_account, only)


def parse_scopes(values: Iterable[str]) -> set[Scope]:
    """--scope values: each ACCOUNT/REGION, or several separated by commas or spaces (a job's list)."""
    found = set()
    for s in (one for value in values for one in value.replace(",", " ").split()):
        acct, sep, region = s.partition("/")
        if not sep or not acct or not region:
            raise ConfigError(f"--scope {s!r}: expected ACCOUNT/REGION")
        found.add((acct, region))
    return found


def resolve(project: configmod.Project, api: Api) -> tuple[configmod.Project, str, list[str]]:
    """The project with ``accounts.fromOrganization`` resolved, its default account, and a note about it."""
    project, resolution = accountsmod.resolve(project, api)
    notes = [resolution.note()] if resolution is not None else []
    return project, scopesmod.default_account(project, api.caller_account), notes


@dataclass
class Validated:
    """The manifests rendered once and validated before any AWS call (a bad manifest never costs a request)."""

    project: configmod.Project
    rendered: manifestmod.Rendered
    state: manifestmod.DesiredState

    def resolve(self, api: Api) -> Loaded:
        """Resolve the accounts, then place the manifests in them (without rendering them again)."""
        project, default_account, notes = resolve(self.project, api)
        state = self.state
        if project.account is None:
            state = manifestmod.place(self.rendered, project, default_account)
        elif project.organization is not None:
            manifestmod.check_accounts(state, project, default_account)
        return Loaded(project, state, default_account, notes)


def validate(project: configmod.Project, paths: Iterable[Path]) -> Validated:
    rendered = manifestmod.read(project, list(paths) or None)
    state = manifestmod.place(rendered, project, project.account, check_accounts=project.organization is None)
    return Validated(project, rendered, state)


def load(project: configmod.Project, paths: Iterable[Path], api: Api) -> Loaded:
    """The manifests validated, then placed in the resolved accounts."""
    return validate(project, paths).resolve(api)


@dataclass
class _Read:
    live: LiveState
    answers: dict[live_templates.Key, list[dict[str, Any]]]
    template_failures: dict[live_templates.Key, str]
    facts: dict[str, writepath.Facts]


def _read(api: Api, loaded: Loaded, scopes: list[Scope], write_path: bool) -> _Read:
    """Live state; AWS's own templates for the deliveries the manifests use, and the destinations the manifests
    name, are read while the listings page."""
    resources, selectors = loaded.state.resources, loaded.state.selectors
    in_scope = set(scopes)
    template_keys = [k for k in live_templates.keys_for(resources) if (k[0], k[1]) in in_scope]
    with ThreadPoolExecutor(2, thread_name_prefix="background-read") as background:
        templates = background.submit(api.read_templates, template_keys)
        early = writepath.destination_targets(resources) if write_path else []
        prefetch = background.submit(api.read_write_paths, early)
        live = api.read_live(scopes, selectorsmod.discovery_jobs(selectors, scopes))
        answers, template_failures = templates.result()
        facts = prefetch.result()
    return _Read(live, answers, template_failures, facts)


def partial_paths(
    project: configmod.Project, state: manifestmod.DesiredState, options: PlanOptions
) -> tuple[bool, list[str]]:
    """(no_prune, notes): PATH arguments that leave out some of the project's manifests turn prune off, unless
    ``--prune``, so a plan of one file never deletes what the others define."""
    if options.prune and options.no_prune:
        raise PlanError("--prune and --no-prune contradict each other; give one")
    if not options.paths or options.no_prune or options.prune:
        return options.no_prune, []
    every, _ = manifestmod.discover(project.manifest_paths, project.root)
    all_files = {manifestmod.display_path(f) for f in every}
    if all_files <= set(state.files):
        return options.no_prune, []
    n, total = len(set(state.files) & all_files), len(all_files)
    verb = "was" if n == 1 else "were"
    return True, [
        f"prune off: only {n} of {total} manifest files {verb} read; --prune to delete what they do not name"
    ]


def _discovered_templates(api: Api, read: _Read, expanded: list[Resource]) -> None:
    """AWS's templates for the deliveries selectors made, known only after discovery: once per region and key, and
    none for a key the manifests' deliveries already asked (their answers are added to ``read``)."""
    asked = {k[1:] for k in [*read.answers, *read.template_failures]}
    more = [k for k in live_templates.keys_for(expanded) if k[1:] not in asked]
    if more:
        answers, failures = api.read_templates(more)
        read.answers.update(answers)
        read.template_failures.update(failures)


def _desired(api: Api, loaded: Loaded, read: _Read, strict: bool, notes: list[str]) -> list[Resource]:
    """The manifests' resources (selectors expanded) in the scopes that could be read, checked against AWS's
    templates; notes are appended to ``notes``."""
    state, project = loaded.state, loaded.project
    readable = {s for s, st in read.live.scopes.items() if st.error is None}
    expansion = selectorsmod.expand(
        state.selectors,
        read.live.discovered,
        state.resources,
        project.default_tags,
        selectorsmod.live_names(read.live.resources),
    )
    if expansion.problems:
        raise PlanError("\n".join(expansion.problems))
    notes += expansion.notes() + selectorsmod.scope_notes(state.selectors, sorted(read.live.scopes))
    desired = [r for r in [*state.resources, *expansion.resources] if (r.account, r.region) in readable]
    _discovered_templates(api, read, [r for r in expansion.resources if (r.account, r.region) in readable])
    checked = live_templates.apply(desired, read.answers, read.template_failures)
    if checked.problems and strict:
        raise PlanError("\n".join(checked.problems))
    notes += checked.notes + checked.problems
    return desired


def _check_patterns(
    options: PlanOptions, resources: list[Resource], problems: list[diffmod.DiffProblem]
) -> None:
    """--target/--exclude patterns that match nothing, then (under strict) the diff's errors, fail the plan."""
    unmatched = planmod.unmatched_patterns("--target", list(options.targets), resources)
    unmatched += planmod.unmatched_patterns("--exclude", list(options.excludes), resources)
    if unmatched:
        raise PlanError("\n".join(unmatched))
    # an error about an address left out with --exclude does not block the rest of the plan
    excludes = list(options.excludes)
    blocking = [
        p.message for p in problems if not (excludes and planmod.address_matches(p.address, excludes))
    ]
    if blocking and options.strict:
        raise PlanError("\n".join(blocking))


def make_plan(options: PlanOptions, project: configmod.Project, api: Api) -> Planned:
    """The whole pipeline: load → scopes → read → diff → build."""
    loaded = load(project, options.paths, api)
    project, notes = loaded.project, list(loaded.notes)
    scopes = loaded.scopes(parse_scopes(options.scopes))
    read = _read(api, loaded, scopes, options.write_path)
    errors = read.live.errors()
    if errors and not options.allow_unreadable:
        raise errors[0]
    no_prune, partial = partial_paths(project, loaded.state, options)
    notes += partial
    desired = _desired(api, loaded, read, options.strict, notes)
    live = read.live
    ignore = list(options.ignore) if options.ignore is not None else None
    result = diffmod.diff(desired, live.resources, project.name, prune=not no_prune, adopt=options.adopt,
                          ignore=ignore)  # fmt: skip
    _check_patterns(options, [*desired, *live.resources], result.problems)
    selectorsmod.annotate(result.changes)
    findings, grant_changes = (
        write_path_findings(api, project, desired, live, result, read.facts)
        if options.write_path
        else ([], [])
    )
    changes = result.changes + grant_changes
    targets, excludes = list(options.targets), list(options.excludes)
    plan = planmod.build(
        changes,
        project.name,
        targets=targets,
        excludes=excludes,
        digest=loaded.state.digest,
        fingerprints=freshness.fingerprints(changes, live.resources),
        api_calls=dict(api.calls),
        scopes=sorted(scopes),
        unmanaged=result.unmanaged,
        options={"prune": not no_prune, "adopt": options.adopt, "targets": targets, "excludes": excludes,
                 "paths": [str(p) for p in options.paths]},
        findings=findings,
        notes=notes,
    )  # fmt: skip
    plan.context = graphmod.neighbours(plan.changes, live.resources)
    return Planned(plan, live, api, project, result, desired)


def write_path_findings(
    api: Api,
    project: configmod.Project,
    desired: list[Resource],
    live: LiveState,
    result: diffmod.DiffResult,
    facts: dict[str, writepath.Facts],
) -> tuple[list[Finding], list[diffmod.Change]]:
    """Each desired delivery's destination grant: findings, and (grants: managed) the grant changes.

    Destinations known only from live state are read now. Findings are judged on the grants as they will be after
    this plan's grant changes.
    """
    new = {
        c.address
        for c in result.changes
        if c.kind.value == "Delivery" and c.action in (diffmod.Action.CREATE, diffmod.Action.REPLACE)
    }
    items = writepath.targets(desired, live.resources, new)
    managed = grantsmod.managed_destinations(desired, project.grants)
    extra = grantsmod.extra_reads(desired, live.resources, managed, project.name, project.grants)
    missing = {r.key: r for r in [*writepath.reads(items), *extra] if r.key not in facts}
    facts = {**facts, **api.read_write_paths(list(missing.values()))}
    changes, refusals, after = grantsmod.plan_grants(items, managed, facts, extra)
    return sorted(writepath.evaluate_targets(items, after) + refusals), changes


# ---- saved plans ---------------------------------------------------------------------------------------------


def manifests_changed(project: configmod.Project, plan: planmod.Plan) -> bool:
    """Are the manifests no longer those the saved plan was made from?"""
    paths = [Path(p) for p in plan.options.get("paths", [])]
    try:
        now = manifestmod.load(project, paths or None, project.account, check_accounts=False).digest
    except ReconcilerError:
        now = "invalid"
    return bool(plan.digest) and now != plan.digest


def saved_plan(project: configmod.Project, api: Api, path: Path, note: Callable[[str], None]) -> planmod.Plan:
    """A saved plan, refused when it is another project's, stale against a fresh read, or touches what this
    project may not; ``note`` is told when the manifests changed since (the plan is applied as it was made)."""
    plan = planfile.read(path)
    if plan.project != project.name:
        raise StalePlanError(f"{path}: the plan is for project {plan.project!r}, not {project.name!r}")
    if manifests_changed(project, plan):
        note("note: the manifests changed since this plan was made; applying the saved plan as it was made "
             "(plan again to include the changes)")  # fmt: skip
    live = api.read_live(plan.scopes)
    unreadable = [s for s, st in live.scopes.items() if st.error is not None]
    freshness.check_fresh(plan, live.resources, unreadable)
    freshness.check_owned(plan, live.resources)
    return plan


# ---- verify --------------------------------------------------------------------------------------------------


def observations(planned: Planned) -> tuple[list[verifymod.Observation], list[str]]:
    """``verify``'s observations of the manifests' deliveries (one not in AWS is silent at once), and the scopes
    that could not be read."""
    live = planned.live
    unreadable = [f"{a}/{r}: {st.error}" for (a, r), st in sorted(live.scopes.items()) if st.error]
    live_keys = {r.key for r in live.resources if r.kind.value == "Delivery"}
    applied = [r for r in planned.desired if r.kind.value != "Delivery" or r.key in live_keys]
    missing = [r.address for r in planned.desired if r.kind.value == "Delivery" and r.key not in live_keys]
    items = verifymod.observations(writepath.targets(applied, live.resources, set()))
    for address in missing:
        obs = verifymod.Observation(f"{address} (not in AWS: apply it first)", "", "", "", "", "", [address])
        obs.status = verifymod.SILENT
        items.append(obs)
    return items, unreadable
