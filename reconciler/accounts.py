"""The project's accounts: the explicit ``accounts:`` entries plus ``accounts.fromOrganization`` resolved live.

``fromOrganization`` names organisational units (read recursively) or roots; their ACTIVE member accounts, less
``exclude`` and filtered by account ``tags`` (the forms of a selector's tag filters), become accounts reached by
assuming ``roleName`` in each. An explicit entry under ``accounts:`` wins over the resolved one; the caller's own
account (the management or delegated administrator account, which has no such role) is used with the caller's
credentials.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .aws import Api
from .config import Project
from .errors import AccessDenied, AwsError, NotFound
from .models import AccountAccess, TagFilter


@dataclass
class Resolution:
    parents: list[str]  # the roots and OUs read
    accounts: list[str]  # resolved and kept, sorted
    excluded: list[str]  # resolved but excluded by the project file
    seconds: float
    overridden: list[str] = dataclasses.field(
        default_factory=list
    )  # excluded, yet listed under accounts: (read)

    def note(self) -> str:
        """One line for the plan."""
        line = f"accounts from AWS Organizations ({', '.join(self.parents)}): {len(self.accounts)}" + (
            f": {', '.join(self.accounts)}" if self.accounts else ""
        )
        if self.excluded:
            line += f"; excluded: {', '.join(self.excluded)}"
        if self.overridden:
            line += f"; excluded, but an explicit accounts: entry wins: {', '.join(self.overridden)}"
        return line


_NOT_MANAGEMENT = (
    "; reconciler.yaml accounts.fromOrganization is read with the caller's credentials, which must be the "
    "organisation's management account or a delegated administrator allowed organizations:ListAccountsForParent, "
    "ListChildren and ListTagsForResource"
)
_NO_PARENT = "; reconciler.yaml accounts.fromOrganization names a root or OU this organisation does not have"


def _organization_accounts(api: Api, parents: list[str], tags: TagFilter) -> list[dict[str, str]]:
    """``api.organization_accounts``, its refusals ending in what the user can do about them."""
    try:
        return api.organization_accounts(parents, tags)
    except AwsError as exc:
        if isinstance(exc, NotFound) and exc.code == "ParentNotFoundException":
            hint = _NO_PARENT
        elif isinstance(exc, AccessDenied) or exc.code == "AWSOrganizationsNotInUseException":
            hint = _NOT_MANAGEMENT
        else:
            raise
        raise type(exc)(exc.operation, exc.resource, exc.code, exc.message + hint) from exc


def resolve(project: Project, api: Api) -> tuple[Project, Resolution | None]:
    """The project with its organisation accounts added (and ``api`` told how to reach them)."""
    org = project.organization
    if org is None:
        return project, None
    started = time.perf_counter()
    parents = [*org.roots, *org.ous]
    with ThreadPoolExecutor(1, thread_name_prefix="caller") as pool:
        asked = pool.submit(api.caller_account)  # while the organisation is read
        found = [a["Id"] for a in _organization_accounts(api, parents, dict(org.tags))]
        caller = asked.result()
    excluded = sorted(set(found) & set(org.exclude) - set(project.accounts))
    overridden = sorted(set(found) & set(org.exclude) & set(project.accounts))  # explicit entries win
    accounts: dict[str, AccountAccess] = {}
    for account in found:
        if account in org.exclude:
            continue
        if account == caller:
            accounts[account] = AccountAccess()  # the caller's own credentials
        else:
            role = f"arn:aws:iam::{account}:role/{org.roleName}"
            accounts[account] = AccountAccess(roleArn=role, externalId=org.externalId)
    kept = sorted(accounts)
    accounts.update(project.accounts)  # explicit entries win
    resolved = dataclasses.replace(project, accounts=accounts)
    api.accounts = resolved.accounts
    return resolved, Resolution(parents, kept, excluded, time.perf_counter() - started, overridden)
