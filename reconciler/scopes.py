"""The scopes of a project: every account it may own resources in x every region it declares (one home).

plan, apply, drift, export and ``reconciler scopes`` all read exactly these (or the ``--scope`` slice of them), and
manifest validation refuses an account or region outside them, so prune and drift never miss a resource the project
may own. The default account is the project file's ``account``, else the caller's (``sts:GetCallerIdentity``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .config import Project
from .errors import AwsError, ConfigError

Scope = tuple[str, str]  # (account, region)


def default_account(project: Project, caller: Callable[[], str]) -> str:
    """The project's default account: ``account`` from the project file, else the caller's own."""
    if project.account:
        return project.account
    try:
        return caller()
    except AwsError as exc:
        raise ConfigError(
            f"{project.config_name}: no account is set and sts:GetCallerIdentity failed ({exc.code}: "
            f"{exc.message}); set account in {project.config_name}"
        ) from exc


def project_accounts(project: Project, default: str | None) -> list[str]:
    """Every account the project may own resources in: the default account, then those under ``accounts:``."""
    return list(dict.fromkeys([*([default] if default else []), *project.accounts]))


def project_scopes(project: Project, default: str, only: Iterable[Scope] = ()) -> list[Scope]:
    """Every (account, region) of the project, sorted; with ``only`` (``--scope``), that slice of them."""
    declared = sorted({(a, r) for a in project_accounts(project, default) for r in project.regions})
    wanted = set(only)
    if not wanted:
        return declared
    outside = sorted(wanted - set(declared))
    if outside:
        names = ", ".join(f"{a}/{r}" for a, r in outside)
        known = ", ".join(f"{a}/{r}" for a, r in declared)
        raise ConfigError(
            f"--scope {names} is not one of the project's scopes ({known}); "
            f"declare the account under accounts and the region under regions in {project.config_name}"
        )
    return sorted(wanted)


def group_scopes(scopes: list[Scope], max_jobs: int) -> list[list[Scope]]:
    """The scopes (in their sorted order) cut into at most ``max_jobs`` contiguous groups whose sizes differ by at
    most one, so a fleet fits GitHub's 256-job matrix; neighbours stay together (an account's regions)."""
    if not scopes:
        return []
    jobs = min(max_jobs, len(scopes))
    size, extra = divmod(len(scopes), jobs)
    out, start = [], 0
    for i in range(jobs):
        end = start + size + (1 if i < extra else 0)
        out.append(scopes[start:end])
        start = end
    return out


def matrix_entry(number: int, job: list[Scope]) -> dict[str, object]:
    """One job of a ``strategy.matrix``: its scopes, the ``--scope`` arguments, and (for the credentials step) the
    first scope's account and region; ``scope`` too when the job has one scope."""
    names = [f"{a}/{r}" for a, r in job]
    entry: dict[str, object] = {
        "job": number,
        "name": names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}",
        "scopes": names,
        "args": " ".join(f"--scope {n}" for n in names),
        "account": job[0][0],
        "region": job[0][1],
    }
    if len(job) == 1:
        entry["scope"] = names[0]
    return entry
