"""Commands, options and exit codes; the one place that prints, exits, and turns errors into one clean line.

Exit codes: 0 success (and, with ``--detailed-exitcode``, no changes); 1 error; 2 changes present (plan with
``--detailed-exitcode``) or drift found; 3 drift could not read part of its scope.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import getpass
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import yaml
from pydantic import ValidationError

from . import apply as applymod
from . import config as configmod
from . import coverage as coveragemod
from . import diff as diffmod
from . import drift as driftmod
from . import export as exportmod
from . import formats, pipeline, planfile, render
from . import grants as grantsmod
from . import graph as graphmod
from . import manifest as manifestmod
from . import notify as notifymod
from . import permissions as permissionsmod
from . import plan as planmod
from . import scopes as scopesmod
from . import selectors as selectorsmod
from . import verify as verifymod
from .aws import Api, Lease, ScopeState
from .errors import PlanError, ReconcilerError, Unreachable, mask_secrets
from .findings import Severity
from .kinds import Destination
from .models import json_schemas
from .pipeline import PlanOptions
from .results import ApplyResult, ChangeResult

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Common:
    config: Path
    env: str | None
    vars: tuple[str, ...]
    var_files: tuple[Path, ...]
    debug: bool
    no_color: bool
    endpoint_url: str | None = None

    def project(self) -> configmod.Project:
        return configmod.load_project(
            self.config, self.env, configmod.parse_var_args(self.vars), [Path(p) for p in self.var_files]
        )

    def color(self, stream: Any = None) -> bool:
        stream = stream or sys.stdout
        return not self.no_color and not os.environ.get("NO_COLOR") and stream.isatty()


def common_options(fn: F) -> F:
    opts = [
        click.option(
            "--config",
            "config",
            type=click.Path(path_type=Path),
            default=Path("reconciler.yaml"),
            show_default=True,
            help="Project file.",
        ),
        click.option("--env", "env", default=None, help="Environment overlay from the project file."),
        click.option(
            "--var",
            "vars",
            multiple=True,
            metavar="KEY=VALUE",
            help="Template variable; the value is always a string (repeatable). Typed values: --var-file.",
        ),
        click.option(
            "--var-file",
            "var_files",
            multiple=True,
            type=click.Path(path_type=Path),
            help="YAML file of typed template variables (numbers, lists, mappings; repeatable).",
        ),
        click.option("--debug", is_flag=True, help="Show tracebacks and API call counts."),
        click.option("--no-color", is_flag=True, help="Plain output."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def format_option(choices: formats.Formats[Any]) -> Callable[[F], F]:
    """``--format``: its choices and default come from the output-format registry."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices.names), default=choices.default, show_default=True
    )


def aws_options(fn: F) -> F:
    fn = click.option(
        "--endpoint-url",
        default=None,
        envvar="AWS_ENDPOINT_URL",
        help="AWS endpoint (the sandbox, LocalStack...); AWS_ENDPOINT_URL is honoured too.",
    )(fn)
    return fn


def plan_options(fn: F) -> F:
    opts = [
        click.option("--target", "targets", multiple=True, metavar="GLOB", help="Only matching addresses (and what they need)."),
        click.option("--exclude", "excludes", multiple=True, metavar="GLOB", help="Leave matching addresses out."),
        click.option("--no-prune", is_flag=True, help="Do not delete owned resources that left the manifests."),
        click.option("--prune", "prune", is_flag=True, help="Prune even when PATH names only part of the manifests."),
        click.option("--adopt", is_flag=True, help="Take over existing resources that lack the ownership tag."),
        click.option("--scope", "scopes", multiple=True, metavar="ACCOUNT/REGION", help="Only these scopes (repeatable)."),
        click.option("--strict", is_flag=True, default=None, help="Error findings fail the command (also `strict: true`)."),
        click.option("--no-write-path-check", "no_write_path", is_flag=True,
                     help="Skip the read-only check of each destination's grant to the delivery service."),
    ]  # fmt: skip
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def pop_plan_options(paths: tuple[Path, ...], kw: dict[str, Any]) -> PlanOptions:
    """The values of ``plan_options`` (taken out of the command's keywords), as the pipeline's options."""
    return PlanOptions(
        paths=paths,
        targets=kw.pop("targets"),
        excludes=kw.pop("excludes"),
        no_prune=kw.pop("no_prune"),
        prune=kw.pop("prune"),
        adopt=kw.pop("adopt"),
        scopes=kw.pop("scopes"),
        write_path=not kw.pop("no_write_path"),
    )


def _common(kw: dict[str, Any]) -> Common:
    return Common(
        config=kw.pop("config"),
        env=kw.pop("env"),
        vars=kw.pop("vars"),
        var_files=kw.pop("var_files"),
        debug=kw.pop("debug"),
        no_color=kw.pop("no_color"),
        endpoint_url=kw.pop("endpoint_url", None),
    )


def out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def err(text: str) -> None:
    text = mask_secrets(text)
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def fail(message: str) -> NoReturn:
    raise ReconcilerError(message)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vended-log-reconciler")
def cli() -> None:
    """Declarative reconciler for CloudWatch Logs vended-log delivery."""


# ---- validate / render / schema ------------------------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@common_options
def validate(paths: tuple[Path, ...], **kw: Any) -> None:
    """Validate manifests (no AWS call); print a one-line summary."""
    c = _common(kw)
    state = pipeline.validate(c.project(), paths).state
    counts: dict[str, int] = {}
    for r in state.resources:
        counts[r.kind.value] = counts.get(r.kind.value, 0) + 1
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no resources"
    scopes = ", ".join(f"{a}/{r}" for a, r in state.scopes()) or "none"
    out(f"OK: {len(state.files)} files, {kinds}; scopes: {scopes}\n")


@cli.command("render")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option(formats.DOCUMENTS)
@aws_options
@common_options
def render_cmd(paths: tuple[Path, ...], fmt: str, **kw: Any) -> None:
    """Print the fully rendered, defaulted desired state in a stable order."""
    c = _common(kw)
    project = c.project()
    validated = pipeline.validate(project, paths)
    state = validated.state
    if state.selectors:  # the expansion needs the live resources the selectors match
        api = make_api(c, project)
        loaded = validated.resolve(api)
        state, scopes = loaded.state, loaded.scopes()
        # the live sources too: a name a live source already has is kept, as plan keeps it
        live = api.read_live(scopes, selectorsmod.discovery_jobs(state.selectors, scopes))
        errors = live.errors()
        if errors:
            raise errors[0]
        expansion = selectorsmod.expand(state.selectors, live.discovered, state.resources,
                                        loaded.project.default_tags, selectorsmod.live_names(live.resources))  # fmt: skip
        if expansion.problems:
            raise PlanError("\n".join(expansion.problems))
        state.resources.extend(expansion.resources)
    docs = manifestmod.render_documents(state)
    out(formats.DOCUMENTS.render(fmt, docs))


@cli.command()
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Write the schemas here."
)
@click.option("--check", is_flag=True, help="Exit 1 when the files in --out differ from the models.")
def schema(out_dir: Path | None, check: bool) -> None:
    """JSON Schemas: one per manifest kind and one for the project file."""
    schemas = json_schemas()
    if out_dir is None:
        out(json.dumps(schemas, indent=2) + "\n")
        return
    stale = []
    for name, doc in schemas.items():
        path = out_dir / f"{name}.schema.json"
        text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        fail(f"schemas out of date: {', '.join(stale)} (run `reconciler schema --out {out_dir}`)")
    if not check:
        out(f"wrote {len(schemas)} schemas to {out_dir}\n")


# ---- init ----------------------------------------------------------------------------------------------------


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=Path("."))
@click.option("--project", "project_name", default=None, help="Project name (default: the directory's name).")
@click.option("--account", default=None, metavar="ID", help="Default 12-digit account id.")
@click.option("--region", default="us-east-1", show_default=True, help="Default region.")
@click.option("--github", is_flag=True, help="Also write the GitHub workflows (plan, apply, drift).")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def init(directory: Path, project_name: str | None, account: str | None, region: str, github: bool,
         force: bool) -> None:  # fmt: skip
    """Start a project: a commented reconciler.yaml, an example manifest, the schemas (and workflows)."""
    from . import scaffold
    from .aws import region_problem
    from .models import ProjectFile

    name = project_name or directory.resolve().name
    why = region_problem(region)
    if why is not None:
        fail(f"--region: {why}")
    try:
        ProjectFile.model_validate({"project": name, "region": region, "account": account})
    except ValidationError as exc:
        first = exc.errors()[0]
        option = "--project" if first["loc"][:1] == ("project",) else "--account"
        fail(f"{option}: {str(first['msg']).removeprefix('Value error, ')}")
    wanted = scaffold.files(name, region, account, github)
    existing = [rel for rel in wanted if (directory / rel).exists()]
    if existing and not force:
        fail(
            f"{directory / existing[0]} exists; nothing was written (--force overwrites"
            + (f"; {len(existing) - 1} more exist)" if len(existing) > 1 else ")")
        )
    for rel, text in wanted.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    out(f"wrote {len(wanted)} files in {directory}: " + ", ".join(sorted(wanted)) + "\n")
    out(f"next: cd {directory} && reconciler validate && reconciler plan\n")


# ---- plan ----------------------------------------------------------------------------------------------------


def make_api(c: Common, project: configmod.Project) -> Api:
    api = Api(
        project.accounts,
        project.region,
        c.endpoint_url,
        connect_timeout=project.timeouts.connectSeconds,
        unreachable_seconds=project.timeouts.unreachableSeconds,
    )
    api.expected_account = project.account
    api.on_scope = _ScopeProgress(c.color(sys.stderr))
    return api


class _ScopeProgress:
    """While live state is read: a status line on a terminal (scopes read, resources found); one line per scope
    otherwise (CI logs)."""

    def __init__(self, color: bool) -> None:
        self.tty = sys.stderr.isatty()
        self.color = color
        self.start = time.monotonic()
        self.found = 0

    def __call__(self, scope: ScopeState, done: int, total: int) -> None:
        self.found += len(scope.resources)
        took = time.monotonic() - self.start
        if self.tty:
            end = "\n" if done == total else ""
            sys.stderr.write(
                f"\r\033[Kreading live state: {done}/{total} scopes, {self.found} resources ({took:.1f} s){end}"
            )
            sys.stderr.flush()
            return
        what = f"{len(scope.resources)} resources" if scope.error is None else f"unreadable: {scope.error}"
        err(f"read {scope.account}/{scope.region} ({done}/{total}): {what} ({took:.1f} s)")


def strict_of(project: configmod.Project, flag: bool | None) -> bool:
    return bool(flag) if flag is not None else project.strict


def check_strict(plan: planmod.Plan, strict: bool, what: str) -> None:
    """Under --strict, error findings fail the command before anything is written."""
    errors = [f for f in plan.findings if f.severity is Severity.ERROR]
    if strict and errors:
        fail(
            f"--strict: {len(errors)} error finding(s) ({', '.join(sorted({f.code for f in errors}))}); {what}"
        )


def emit_plan(c: Common, plan: planmod.Plan, fmt: str) -> None:
    out(formats.PLAN.render(fmt, plan, c.color()))
    if c.debug:
        err(f"API requests: {sum(plan.api_calls.values())} {json.dumps(plan.api_calls, sort_keys=True)}")


@cli.command("plan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option(formats.PLAN)
@click.option(
    "--out", "out_file", type=click.Path(path_type=Path), default=None, help="Save the plan for `apply FILE`."
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 no changes, 2 changes, 1 error.")
@plan_options
@aws_options
@common_options
def plan_cmd(
    paths: tuple[Path, ...], fmt: str, out_file: Path | None, detailed_exitcode: bool, **kw: Any
) -> None:
    """Read live state, diff it against the manifests and print the ordered plan."""
    options, strict_flag = pop_plan_options(paths, kw), kw.pop("strict")
    c = _common(kw)
    project = c.project()
    planned = pipeline.make_plan(options, project, make_api(c, project))
    emit_plan(c, planned.plan, fmt)
    if out_file is not None:
        out_file.write_text(planmod.dumps(planned.plan))
        err(f"Saved the plan to {out_file}; apply it with `reconciler apply {out_file}`.")
    check_strict(planned.plan, strict_of(project, strict_flag), "the plan is not safe to apply")
    if detailed_exitcode and not planned.plan.empty:
        sys.exit(2)


@cli.command()
@click.argument("plan_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@format_option(formats.PLAN)
@click.option("--no-color", is_flag=True)
def show(plan_file: Path, fmt: str, no_color: bool) -> None:
    """Render a saved plan (no AWS call): for a pull-request comment from the plan that CI saved."""
    plan = planfile.read(plan_file)
    color = not no_color and sys.stdout.isatty()
    out(formats.PLAN.render(fmt, plan, color))


@cli.command("graph")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option(formats.GRAPH)
@click.option("--changes-only", is_flag=True, help="Only what the plan changes and its unchanged neighbours.")
@click.option(
    "--max-nodes", type=click.IntRange(2), default=None, help="Fold by service beyond this many nodes."
)
@plan_options
@aws_options
@common_options
def graph_cmd(
    paths: tuple[Path, ...], fmt: str, changes_only: bool, max_nodes: int | None, **kw: Any
) -> None:
    """Draw the estate (sources → destinations per account and region), styled by what the plan would change."""
    # graph draws with the defaults of --prune, --strict and the write-path check
    options = dataclasses.replace(pop_plan_options(paths, kw), prune=False, strict=False, write_path=True)
    c = _common(kw)
    project = c.project()
    planned = pipeline.make_plan(options, project, make_api(c, project))
    changed = {ch.resource.key for ch in planned.plan.changes} | {
        ch.before.key for ch in planned.plan.changes if ch.before is not None
    }
    if changes_only:
        context = planned.plan.context
    else:
        context = [r for r in planned.live.resources if r.key not in changed]
    g = graphmod.build(planned.plan.changes, context)
    if max_nodes is not None or changes_only:
        g = graphmod.cap(g, max_nodes or graphmod.MAX_NODES)
    out(formats.GRAPH.render(fmt, g))
    if g.folded:
        err(g.folded)


# ---- apply ---------------------------------------------------------------------------------------------------


class _Progress:
    """A live bar on a TTY; one line per finished change in CI."""

    def __init__(self, total: int, tty: bool, color: bool) -> None:
        self.tty = tty
        self.color = color
        self.bar: Any = None
        if tty and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("apply"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                TextColumn("{task.description}"), transient=True)  # fmt: skip
            self.task = self.bar.add_task("", total=total)
            self.bar.start()

    def __call__(self, event: str, res: ChangeResult) -> None:
        if event != "done":
            return
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=res.change.address)
        else:
            line = f"{res.status:>7} {res.change.action.value:<7} {res.change.address} ({res.seconds:.2f}s)"
            if res.error:
                line += f": {res.error}"
            err(line)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class _Terminated(BaseException):
    """SIGTERM outside the apply loop: unwinds like Ctrl-C (``finally`` blocks run, the lock is released)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


class _Interrupts:
    """While changes are applied: the first Ctrl-C or SIGTERM lets no new change start and lets the calls in flight
    finish (bounded by ``apply.INTERRUPT_GRACE_SECONDS``); a second Ctrl-C exits at once."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.stop.is_set():
            if signum == signal.SIGINT:
                err("interrupted again: exiting now; changes in flight may be incomplete (run apply again)")
                os._exit(130)
            return
        self.signum = signum
        self.stop.set()
        name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
        err(
            f"{name}: no new change will start; waiting up to {applymod.INTERRUPT_GRACE_SECONDS:g} s for the "
            "calls in flight (Ctrl-C again exits at once)"
        )

    @property
    def exit_code(self) -> int:
        return 143 if self.signum == signal.SIGTERM else 130


def run_apply(
    c: Common,
    plan: planmod.Plan,
    api: Api,
    parallelism: int,
    fmt: str,
    interrupts: _Interrupts | None = None,
) -> ApplyResult:
    progress = _Progress(len(plan.changes), sys.stderr.isatty(), c.color(sys.stderr))
    interrupts = interrupts or _Interrupts()
    try:
        with interrupts:
            result = applymod.run(plan, api, parallelism=parallelism, on_event=progress, stop=interrupts.stop)
    finally:
        progress.stop()
    out(formats.APPLY.render(fmt, result, c.color()))
    return result


@cli.command("apply")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Write without asking (required without a TTY).")
@click.option("--parallelism", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option(
    "--max-deletes", type=click.IntRange(0), default=None, help="Refuse plans with more deletes+replaces."
)
@format_option(formats.APPLY)
@click.option(
    "--expect-digest",
    default=None,
    metavar="DIGEST|PLANFILE",
    help="Write only if the plan's changes have this digest (from the reviewed plan, or its JSON file).",
)
@click.option(
    "--allow-plan-drift", is_flag=True, help="With --expect-digest: warn about a difference and apply anyway."
)
@click.option(
    "--verify", "verify_after", is_flag=True, help="Then wait for each delivery's first record (see verify)."
)
@click.option("--verify-timeout", default="15m", show_default=True, help="How long --verify waits.")
@plan_options
@aws_options
@common_options
def apply_cmd(paths: tuple[Path, ...], auto_approve: bool, parallelism: int, max_deletes: int | None, fmt: str,
              expect_digest: str | None, allow_plan_drift: bool, verify_after: bool, verify_timeout: str,
              **kw: Any) -> None:  # fmt: skip
    """Plan and apply, or apply a saved plan file exactly (refused when stale)."""
    started = datetime.datetime.now(datetime.UTC)
    options, strict_flag = pop_plan_options(paths, kw), kw.pop("strict")
    c = _common(kw)
    project = c.project()
    strict = strict_of(project, strict_flag)
    api = make_api(c, project)
    lease = _acquire_lock(project, api)
    interrupts = _Interrupts()
    result: ApplyResult | None = None
    try:
        plan = pipeline.saved_plan(project, api, paths[0], note=err) if planfile.is_plan_file(paths) else None
        plan = plan or pipeline.make_plan(options, project, api).plan
        if expect_digest is not None:
            _check_digest(plan, expect_digest, allow_plan_drift)
        _check_max_deletes(plan, max_deletes)
        _show_and_confirm(c, plan, strict, fmt, auto_approve)
        if not plan.empty:  # nothing to write (apply --verify still verifies)
            result = run_apply(c, plan, api, parallelism, fmt, interrupts)
    finally:
        if lease is not None:
            lease.release()
    if result is not None and result.interrupted:
        sys.exit(interrupts.exit_code)
    if result is not None and not result.ok:
        sys.exit(1)
    if verify_after:
        since = started - datetime.timedelta(seconds=2)  # S3 times have whole seconds
        code = run_verify(c, paths if not planfile.is_plan_file(paths) else (), project, since,
                          verifymod.parse_duration(verify_timeout), 5.0, "text")  # fmt: skip
        if code:
            sys.exit(code)


def _show_and_confirm(c: Common, plan: planmod.Plan, strict: bool, fmt: str, auto_approve: bool) -> None:
    """Print the plan (stdout in text, stderr beside JSON), refuse error findings under --strict, and ask."""
    if strict and any(f.severity is Severity.ERROR for f in plan.findings):
        err(render.plan_text(plan, False))
        check_strict(plan, strict, "nothing was written")
    if plan.empty:
        out("No changes.\n")
        return
    if fmt == "text":
        out(render.plan_text(plan, c.color()))
    else:
        err(render.plan_text(plan, False))
    if auto_approve:
        return
    if not sys.stdin.isatty():
        fail("refusing to write without --auto-approve: no terminal to confirm on; nothing was written")
    answer = click.prompt("Apply these changes? Only 'yes' is accepted", default="", show_default=False)
    if answer.strip() != "yes":
        fail("apply cancelled; nothing was written")


def _lock_of(project: configmod.Project, api: Api) -> Lease | None:
    cfg = project.lock
    if cfg is None:
        return None
    account = cfg.account or project.account or api.caller_account()
    return Lease(
        api, cfg.dynamodbTable, account, cfg.region or project.region, project.name, cfg.leaseSeconds
    )


def _acquire_lock(project: configmod.Project, api: Api) -> Lease | None:
    lease = _lock_of(project, api)
    if lease is not None:
        who = f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}"
        if os.environ.get("GITHUB_RUN_ID"):
            who += f" (GitHub run {os.environ['GITHUB_RUN_ID']})"
        lease.acquire(who)
    return lease


@cli.command()
@click.argument("lock_id")
@aws_options
@common_options
def unlock(lock_id: str, **kw: Any) -> None:
    """Release a stale apply lock by its id (printed by the apply that found it held)."""
    c = _common(kw)
    project = c.project()
    api = make_api(c, project)
    lease = _lock_of(project, api)
    if lease is None:
        fail(f"{c.config}: no lock is configured (lock: {{dynamodbTable: NAME}})")
    lease.force_release(lock_id)
    out(f"released lock {lock_id} of project {project.name}\n")


def _check_digest(plan: planmod.Plan, expected: str, allow_drift: bool) -> None:
    """Refuse (nothing written) when the plan's changes are not the reviewed ones; name what differs."""
    differs = planfile.digest_mismatch(plan, expected)
    if differs is None:
        return
    head, lines = differs
    if allow_drift:
        err(f"warning: {head}; applying anyway (--allow-plan-drift)")
        for line in lines:
            err(line)
        return
    fail("\n".join([f"{head}; nothing was written (re-plan and review, or pass --allow-plan-drift)", *lines]))


def _check_max_deletes(plan: planmod.Plan, max_deletes: int | None) -> None:
    if max_deletes is None:
        return
    n = sum(1 for ch in plan.changes if ch.action in (diffmod.Action.DELETE, diffmod.Action.REPLACE))
    if n > max_deletes:
        fail(
            f"the plan deletes or replaces {n} resources, more than --max-deletes {max_deletes}; nothing was written"
        )


# ---- verify --------------------------------------------------------------------------------------------------


def run_verify(c: Common, paths: tuple[Path, ...], project: configmod.Project, since: datetime.datetime | None,
               timeout: float, interval: float, fmt: str, scopes: tuple[str, ...] = ()) -> int:  # fmt: skip
    options = PlanOptions(paths=paths, scopes=scopes, allow_unreadable=True, strict=False)
    planned = pipeline.make_plan(options, project, make_api(c, project))
    items, unreadable = pipeline.observations(planned)
    for line in unreadable:
        err(f"  unreadable  {line}")
    result = verifymod.run(
        planned.api, items, planned.plan.findings, since=since, timeout=timeout, interval=interval,
        on_progress=lambda o, t: err(verifymod.progress_line(o, t)),
    )  # fmt: skip
    code = 3 if unreadable else result.exit_code
    out(formats.VERIFY.render(fmt, formats.Verified(result, code, unreadable)))
    return code


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--timeout", default="15m", show_default=True, help="How long to wait (90s, 15m, 1h).")
@click.option("--since", default=None, help="Only records after this time (ISO) or this long ago (30m).")
@click.option("--interval", default="5s", show_default=True, help="Time between polls.")
@format_option(formats.VERIFY)
@click.option(
    "--scope", "scopes", multiple=True, metavar="ACCOUNT/REGION", help="Only these scopes (repeatable)."
)
@aws_options
@common_options
def verify(paths: tuple[Path, ...], timeout: str, since: str | None, interval: str, fmt: str,
           scopes: tuple[str, ...], **kw: Any) -> None:  # fmt: skip
    """Wait until each delivery has delivered its first record. Exit 0 flowing, 2 some silent, 3 unreadable."""
    c = _common(kw)
    project = c.project()
    when = verifymod.parse_since(since, datetime.datetime.now(datetime.UTC))
    code = run_verify(c, paths, project, when, verifymod.parse_duration(timeout),
                      verifymod.parse_duration(interval), fmt, scopes)  # fmt: skip
    if code:
        sys.exit(code)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--for", "for_", type=click.Choice(["plan", "apply"]), default="apply", show_default=True,
              help="plan: reads only (plan, drift, verify); apply: also the writes.")  # fmt: skip
@common_options
def permissions(paths: tuple[Path, ...], for_: str, **kw: Any) -> None:
    """Print the least-privilege IAM policy (JSON) the CI role needs for these manifests; no AWS call."""
    c = _common(kw)
    project = c.project()
    state = manifestmod.load(project, list(paths) or None, project.account)
    lock = project.lock
    managed = grantsmod.managed_destinations(state.resources, project.grants)
    grant_targets = {
        target
        for r in state.resources
        if r.arn in managed and (target := Destination.typed(r).destinationResourceArn)
    }
    doc = permissionsmod.document(
        state.resources, project.accounts, for_apply=for_ == "apply", lock=lock,
        lock_account=(lock.account if lock and lock.account else project.account) or "*",
        lock_region=(lock.region if lock and lock.region else project.region),
        managed_grants=grant_targets,
    )  # fmt: skip
    out(json.dumps(doc, indent=2) + "\n")


# ---- drift / scopes / export --------------------------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option(formats.DRIFT)
@click.option(
    "--scope", "scopes", multiple=True, metavar="ACCOUNT/REGION", help="Only these scopes (repeatable)."
)
@click.option(
    "--notify",
    "notify_target",
    default=None,
    metavar="FILE|URL",
    envvar="RECONCILER_NOTIFY",
    help="On a status change, write (FILE) or POST (URL) a JSON payload with a Slack-compatible text.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The previous run's status (read, then rewritten) so --notify sends only changes.",
)
@click.option("--strict", is_flag=True, default=None, help="Error findings count as drift (exit 2).")
@click.option(
    "--no-write-path-check", "no_write_path", is_flag=True, help="Skip the destination grant check."
)
@aws_options
@common_options
def drift(paths: tuple[Path, ...], fmt: str, scopes: tuple[str, ...], notify_target: str | None,
          state_file: Path | None, strict: bool | None, no_write_path: bool, **kw: Any) -> None:  # fmt: skip
    """Read-only: report what changed out of band. Exit 0 in sync, 2 drift, 3 part of the scope unreadable."""
    c = _common(kw)
    project = c.project()
    active, expired = driftmod.active_rules(project.ignore, datetime.date.today())
    try:
        options = PlanOptions(paths=paths, scopes=scopes, ignore=tuple(active), allow_unreadable=True, strict=False,
                              write_path=not no_write_path)  # fmt: skip
        planned = pipeline.make_plan(options, project, make_api(c, project))
    except (
        Unreachable
    ) as exc:  # nothing could be read: drift never says "in sync" about what it could not read
        err(f"error: {exc}")
        sys.exit(3)
    unreadable = {
        f"{a}/{r}": str(st.error) for (a, r), st in planned.live.scopes.items() if st.error is not None
    }
    rep = driftmod.report(planned.diff, unreadable, expired, planned.live.resources, project.name)
    rep.findings = list(planned.plan.findings)
    rep.strict = strict_of(project, strict)
    out(formats.DRIFT.render(fmt, rep, c.color()))
    if notify_target is not None or state_file is not None:
        _notify_drift(rep, project.name, scopes, notify_target, state_file)
    if rep.exit_code:
        sys.exit(rep.exit_code)


def _notify_drift(rep: driftmod.DriftReport, project: str, scopes: tuple[str, ...], target: str | None,
                  state_file: Path | None) -> None:  # fmt: skip
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    prev = notifymod.load_state(state_file) if state_file is not None else None
    event, state = notifymod.transition(prev, rep, now)
    if event is not None and target:
        run = ""
        if os.environ.get("GITHUB_RUN_ID") and os.environ.get("GITHUB_REPOSITORY"):
            server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
            run = f"{server}/{os.environ['GITHUB_REPOSITORY']}/actions/runs/{os.environ['GITHUB_RUN_ID']}"
        where = notifymod.send(target, notifymod.payload(event, state, rep, project, sorted(scopes), run))
        err(f"notified {event} to {where}")
    elif target:
        err(f"no notification: status {state.status}, unchanged since the last one")
    if state_file is not None:
        notifymod.save_state(state_file, state)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option(formats.SCOPES)
@click.option(
    "--max-jobs",
    type=click.IntRange(1),
    default=None,
    help="Group the scopes into at most this many jobs (json: default 256, GitHub's matrix limit).",
)
@click.option(
    "--scope", "only", multiple=True, metavar="ACCOUNT/REGION", help="Only these scopes (repeatable)."
)
@aws_options
@common_options
def scopes(paths: tuple[Path, ...], fmt: str, max_jobs: int | None, only: tuple[str, ...], **kw: Any) -> None:
    """List the (account, region) scopes; --format json gives a GitHub Actions strategy.matrix of jobs."""
    c = _common(kw)
    project = c.project()
    # a manifest outside the scopes is an error; accounts.fromOrganization is resolved live
    loaded = pipeline.load(project, paths, make_api(c, project))
    found = loaded.scopes(pipeline.parse_scopes(only))
    jobs = scopesmod.group_scopes(found, max_jobs or (256 if fmt == "json" else len(found) or 1))
    out(formats.SCOPES.render(fmt, formats.ScopeJobs(found, jobs, grouped=max_jobs is not None)))


@cli.command()
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="ACCOUNT/REGION",
    help="Scopes to export (default: the project's).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write ACCOUNT-REGION.yaml files here.",
)
@aws_options
@common_options
def export(scopes: tuple[str, ...], out_dir: Path | None, **kw: Any) -> None:
    """Write manifests for the live resources in scope (then `apply --adopt` takes them over)."""
    c = _common(kw)
    project = c.project()
    api = make_api(c, project)
    project, default_account, _ = pipeline.resolve(project, api)
    live = api.read_live(scopesmod.project_scopes(project, default_account, pipeline.parse_scopes(scopes)))
    errors = live.errors()
    if errors:
        raise errors[0]
    docs = exportmod.documents(live.resources)
    header = "# yaml-language-server: $schema=../schemas/manifest.schema.json\n# Exported by `reconciler export`.\n"
    for (account, region), items in sorted(docs.items()):
        text = header + yaml.safe_dump_all(items, sort_keys=False, allow_unicode=True)
        if out_dir is None:
            out(text)
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{account}-{region}.yaml"
        path.write_text(text)
        err(f"wrote {len(items)} resources to {path}")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option(formats.COVERAGE)
@click.option(
    "--service",
    default=None,
    metavar="SERVICE",
    help="Only this service, as in ARNs (e.g. elasticloadbalancing).",
)
@click.option(
    "--scope", "scopes", multiple=True, metavar="ACCOUNT/REGION", help="Only these scopes (repeatable)."
)
@aws_options
@common_options
def coverage(
    paths: tuple[Path, ...], fmt: str, service: str | None, scopes: tuple[str, ...], **kw: Any
) -> None:
    """Which resources of supported services deliver each log type they should.

    Exit 0; 2 when a selector's resources are not all covered; 3 when part of the scope could not be read.
    """
    c = _common(kw)
    project = c.project()
    validated = pipeline.validate(project, paths)
    services = coveragemod.services()
    if service is not None and service not in services:
        fail(f"--service {service!r}: not a service that can be a delivery source ({', '.join(services)})")
    api = make_api(c, project)
    loaded = validated.resolve(api)
    state, all_scopes = loaded.state, loaded.scopes(pipeline.parse_scopes(scopes))
    wanted = [service] if service else services
    live = api.read_live(all_scopes, [(("", a, r), wanted, []) for a, r in all_scopes])
    unreadable = {f"{a}/{r}": str(st.error) for (a, r), st in live.scopes.items() if st.error is not None}
    found = {(a, r): items for (_, a, r), items in live.discovered.items()}
    report = coveragemod.compute(
        project.name, all_scopes, found, live.resources, state.selectors, service, unreadable
    )
    out(formats.COVERAGE.render(fmt, report))
    if report.exit_code:
        sys.exit(report.exit_code)


# ---- sandbox -------------------------------------------------------------------------------------------------


@cli.command()
@click.option("--port", type=int, default=4566, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--account", default="111111111111", show_default=True, help="Account of the test credentials.")
@click.option("--latency-ms", type=float, default=0.0)
@click.option("--jitter-ms", type=float, default=0.0)
@click.option(
    "--throttle",
    multiple=True,
    metavar="OPERATION=RPS",
    help="Requests per second per operation ('*' = all).",
)
@click.option("--fail-rate", type=float, default=0.0, help="Share of requests answered with HTTP 500.")
@click.option(
    "--conflict-rate", type=float, default=0.0, help="Share of writes answered with a transient conflict."
)
@click.option("--drop-rate", type=float, default=0.0, help="Share of connections dropped.")
@click.option("--seed", type=int, default=0)
def sandbox(port: int, host: str, account: str, latency_ms: float, jitter_ms: float, throttle: tuple[str, ...],
            fail_rate: float, conflict_rate: float, drop_rate: float, seed: int) -> None:  # fmt: skip
    """Run the local AWS emulator in the foreground (moto + fidelity fixes + fault injection)."""
    try:
        from .sandbox.__main__ import parse_throttle
        from .sandbox.server import Faults, SandboxServer
    except ImportError as exc:
        fail(f"the sandbox needs moto[server]: pip install 'vended-log-reconciler[sandbox]' ({exc})")
    faults = Faults(seed=seed, latency_ms=latency_ms, jitter_ms=jitter_ms, throttle=parse_throttle(list(throttle)),
                    fail_rate=fail_rate, conflict_rate=conflict_rate, drop_rate=drop_rate)  # fmt: skip
    try:
        server = SandboxServer(host, port, account, faults)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        fail(f"sandbox: cannot listen on {host}:{port}: {reason}; choose another --port (0 picks a free one)")
    out(f"sandbox listening on {server.url} (account {account}); in another shell:\n")
    out(f"  export AWS_ENDPOINT_URL={server.url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
        "AWS_DEFAULT_REGION=us-east-1\n")  # fmt: skip
    out(f"control: {server.url}/_sandbox/counters, POST /_sandbox/faults, POST /_sandbox/reset\n")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


# ---- entry point and the error boundary ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(args=args, prog_name="reconciler", standalone_mode=False)
    except click.exceptions.Abort:
        err("aborted")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1 if exc.exit_code == 2 else exc.exit_code)
    except ReconcilerError as exc:
        _error_lines(exc, debug)
        sys.exit(1)
    except (KeyboardInterrupt, _Terminated) as exc:
        _interrupted(isinstance(exc, _Terminated))
    except Exception as exc:  # an unexpected bug: still one line, the traceback under --debug
        if debug:
            err(traceback.format_exc())
        err(f"error: internal error: {type(exc).__name__}: {exc} (re-run with --debug for the traceback)")
        sys.exit(1)


def _error_lines(exc: ReconcilerError, debug: bool) -> None:
    """A user-caused error: one line per problem (indented lines kept as they are); the traceback with --debug."""
    if debug:
        err(traceback.format_exc())
    for line in str(exc).splitlines() or [type(exc).__name__]:
        err(f"error: {line}" if not line.startswith("  ") else line)


def _interrupted(terminated: bool) -> NoReturn:
    if threading.current_thread() is threading.main_thread():  # a second signal while exiting: no traceback
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    err("terminated" if terminated else "interrupted")
    sys.exit(143 if terminated else 130)
