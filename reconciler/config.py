"""The project file (reconciler.yaml): project name, accounts, default region, variables and environments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import ConfigError
from .models import ORG_KEY, AccountAccess, IgnoreRule, LockConfig, OrganizationAccounts, ProjectFile

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
    config_name: str = "reconciler.yaml"  # the project file's name, for messages
    grants: str = "unmanaged"  # "managed": DestinationGrant changes keep destination grants in place
    organization: OrganizationAccounts | None = None  # accounts.fromOrganization, resolved at plan time


def _read_yaml(path: Path, what: str) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
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
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{line}: invalid YAML: {problem}") from None


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


def load_project(
    config_path: Path,
    env: str | None = None,
    cli_vars: dict[str, Any] | None = None,
    var_files: list[Path] | None = None,
) -> Project:
    """Read reconciler.yaml, merge the ``--env`` overlay, then variable files, then ``--var``."""
    data = _read_yaml(config_path, "project file")
    if not isinstance(data, dict):
        raise ConfigError(f"{config_path}: the project file must be a mapping")
    try:
        pf = ProjectFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top)"
        loc = loc.replace("accountsFromOrganization", f"accounts.{ORG_KEY}", 1)
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{config_path}: {loc}: {msg}") from None

    region, account, regions = pf.region, pf.account, pf.regions
    accounts = dict(pf.accounts)
    default_tags = dict(pf.defaultTags)
    variables: dict[str, Any] = dict(pf.vars)
    manifests = pf.manifests
    if env is not None:
        if env not in pf.environments:
            known = ", ".join(sorted(pf.environments)) or "none"
            raise ConfigError(f"{config_path}: environment {env!r} is not defined (defined: {known})")
        overlay = pf.environments[env]
        region = overlay.region or region
        regions = overlay.regions if overlay.regions is not None else regions
        account = overlay.account or account
        accounts.update(overlay.accounts)
        default_tags.update(overlay.defaultTags)
        variables.update(overlay.vars)
        manifests = overlay.manifests or manifests
    for vf in var_files or []:
        variables.update(load_var_file(vf))
    variables.update(cli_vars or {})

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
        config_name=config_path.name,
        grants=pf.grants,
        organization=pf.accountsFromOrganization,
    )
