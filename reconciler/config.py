"""The project file (reconciler.yaml): project name, accounts, default region, variables and environments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import hints
from .aws import region_problem
from .errors import ConfigError
from .models import (
    ORG_KEY,
    AccountAccess,
    IgnoreRule,
    LockConfig,
    OrganizationAccounts,
    ProjectFile,
    Timeouts,
    model_at,
)

MAX_PROJECT_FILE_BYTES = 1 << 20


@dataclass
class Project:
    """The project file after ``--env`` and ``--var`` are applied."""

    name: str
    region: str
    regions: list[str]  # every region the project may own resources in; ``region`` first
    account: str | None
    accounts: dict[str, AccountAccess]
    default_tags: dict[str, str]
    vars: dict[str, Any]
    manifest_paths: list[Path]
    root: Path  # the directory of the project file; manifests must stay inside it
    ignore: list[IgnoreRule] = field(default_factory=list)
    lock: LockConfig | None = None
    env: str | None = None
    strict: bool = False  # error findings fail plan/apply/drift
    timeouts: Timeouts = field(default_factory=Timeouts)
    config_name: str = "reconciler.yaml"  # the project file's name, for messages
    grants: str = "unmanaged"  # "managed": DestinationGrant changes keep destination grants in place
    organization: OrganizationAccounts | None = None  # accounts.fromOrganization, resolved at plan time


def _read_yaml(path: Path, what: str) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if what == "project file":
            raise ConfigError(
                f"{path}: project file not found; create one with `reconciler init` (or pass --config FILE)"
            ) from None
        raise ConfigError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    if len(raw) > MAX_PROJECT_FILE_BYTES:
        raise ConfigError(f"{path}: {what} is larger than {MAX_PROJECT_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} is not UTF-8 (byte {exc.start})") from None
    try:
        data = yaml.safe_load(text)
        if what == "project file":
            _LINES[str(path)] = _yaml_lines(text)
        return data
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{line}: invalid YAML: {problem}") from None


_LINES: dict[str, dict[tuple[str, ...], int]] = {}  # project file → line of each key path


def _yaml_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line of every mapping key and sequence item of a YAML text, by path (indexes as strings)."""
    lines: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())] if root is not None else []
    while stack:
        node, path = stack.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines[sub] = key.start_mark.line + 1
                stack.append((value, sub))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, (*path, str(i))))
    return lines


def line_of(config_path: Path, path: tuple[str | int, ...]) -> int:
    """The line of a key path in the project file (its closest enclosing key when the path is not written)."""
    lines = _LINES.get(str(config_path), {})
    key = tuple(str(p) for p in path)
    while key:
        if key in lines:
            return lines[key]
        key = key[:-1]
    return 1


def _problem(config_path: Path, path: tuple[str | int, ...], message: str) -> str:
    field_ = ".".join(str(p) for p in path) or "(top)"
    return f"{config_path}:{line_of(config_path, path)}: {field_}: {message}"


def _line_key(text: str) -> tuple[int, str]:
    head = text.split(": ", 1)[0]
    line = head.rsplit(":", 1)[-1]
    return (int(line) if line.isdigit() else 0, text)


def _validation_lines(config_path: Path, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc: tuple[str | int, ...] = tuple(err["loc"])
        if loc and loc[0] == "accountsFromOrganization":
            loc = ("accounts", ORG_KEY, *loc[1:])
        elif loc[:1] == ("environments",) and loc[2:3] == ("accountsFromOrganization",):
            loc = (*loc[:2], "accounts", ORG_KEY, *loc[3:])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            holder = model_at(ProjectFile, loc[:-1])
            msg = "unknown field" + hints.did_you_mean(
                str(loc[-1]), holder.model_fields if holder is not None else [], quote=False
            )
        elif err["type"] == "missing":
            msg = "required field is missing"
        out.append(_problem(config_path, loc, msg))
    return out


def _check_regions(config_path: Path, pf: ProjectFile, data: dict[str, Any]) -> list[str]:
    """Every region the project file names must exist (botocore's partition data)."""
    named: list[tuple[tuple[str | int, ...], str]] = [(("region",), pf.region)]
    regions = data.get("regions")
    if isinstance(regions, list):
        named += [(("regions", i), r) for i, r in enumerate(regions) if isinstance(r, str)]
    for env_name, overlay in pf.environments.items():
        if overlay.region:
            named.append((("environments", env_name, "region"), overlay.region))
    if pf.lock is not None and pf.lock.region:
        named.append((("lock", "region"), pf.lock.region))
    out = []
    for path, region in named:
        why = region_problem(region)
        if why is not None:
            out.append(_problem(config_path, path, why))
    return out


_VAR_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_var_args(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _VAR_KEY.fullmatch(key):
            raise ConfigError(f"--var {pair!r}: expected KEY=VALUE with KEY a plain identifier")
        out[key] = value
    return out


def load_var_file(path: Path) -> dict[str, Any]:
    data = _read_yaml(path, "variable file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a variable file must be a mapping of names to values")
    return {str(k): v for k, v in data.items()}


def _project_file(config_path: Path) -> ProjectFile:
    """The project file, validated (every problem as FILE:LINE: field: message)."""
    data = _read_yaml(config_path, "project file")
    if not isinstance(data, dict):
        raise ConfigError(f"{config_path}:1: the project file must be a mapping")
    try:
        pf = ProjectFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(sorted(_validation_lines(config_path, exc), key=_line_key))) from None
    region_lines = _check_regions(config_path, pf, data)
    if region_lines:
        raise ConfigError("\n".join(region_lines))
    return pf


@dataclass
class _Overlaid:
    """The settings an ``--env`` overlay may change."""

    region: str
    account: str | None
    regions: list[str] | None
    accounts: dict[str, AccountAccess]
    default_tags: dict[str, str]
    variables: dict[str, Any]
    manifests: str | list[str]
    organization: OrganizationAccounts | None  # accounts.fromOrganization: an overlay's replaces the base one


def _overlay(o: _Overlaid, pf: ProjectFile, env: str, config_path: Path) -> None:
    if env not in pf.environments:
        known = ", ".join(sorted(pf.environments)) or "none"
        hint = hints.did_you_mean(env, pf.environments)
        raise ConfigError(
            f"{config_path}: --env: environment {env!r} is not defined (defined: {known}){hint}"
        )
    overlay = pf.environments[env]
    o.region = overlay.region or o.region
    o.regions = overlay.regions if overlay.regions is not None else o.regions
    o.account = overlay.account or o.account
    o.accounts.update(overlay.accounts)
    o.default_tags.update(overlay.defaultTags)
    o.variables.update(overlay.vars)
    o.manifests = overlay.manifests or o.manifests
    if overlay.accountsFromOrganization is not None:
        o.organization = overlay.accountsFromOrganization


def load_project(
    config_path: Path,
    env: str | None = None,
    cli_vars: dict[str, Any] | None = None,
    var_files: list[Path] | None = None,
) -> Project:
    """Read reconciler.yaml, merge the ``--env`` overlay, then variable files, then ``--var``."""
    pf = _project_file(config_path)
    o = _Overlaid(pf.region, pf.account, pf.regions, dict(pf.accounts), dict(pf.defaultTags), dict(pf.vars),
                  pf.manifests, pf.accountsFromOrganization)  # fmt: skip
    if env is not None:
        _overlay(o, pf, env, config_path)
    for vf in var_files or []:
        o.variables.update(load_var_file(vf))
    o.variables.update(cli_vars or {})
    region, account, regions, manifests = o.region, o.account, o.regions, o.manifests
    accounts, default_tags, variables = o.accounts, o.default_tags, o.variables

    root = config_path.resolve().parent
    paths = [manifests] if isinstance(manifests, str) else list(manifests)
    return Project(
        name=pf.project,
        region=region,
        regions=list(dict.fromkeys([region, *(regions or [])])),
        account=account,
        accounts=accounts,
        default_tags=default_tags,
        vars=variables,
        manifest_paths=[(root / p) for p in paths],
        root=root,
        ignore=list(pf.ignore),
        lock=pf.lock,
        env=env,
        strict=pf.strict,
        timeouts=pf.timeouts,
        config_name=config_path.name,
        grants=pf.grants,
        organization=o.organization,
    )
