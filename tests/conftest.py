"""Shared fixtures: the sandbox (moto + fidelity fixes) over HTTP and in-process, and a CLI runner."""

from __future__ import annotations

import io
import os
import sys
import textwrap
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.sandbox import Sandbox, sandbox_env

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    box = Sandbox()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def sandbox(sandbox_server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """A clean sandbox (state, counters and faults reset) with this process's AWS environment pointed at it."""
    sandbox_server.reset()
    for key, value in sandbox_env(sandbox_server.url).items():
        if value:
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return sandbox_server


def client(box: Sandbox, service: str = "logs", account: str | None = None, region: str = "us-east-1") -> Any:
    """A boto3 client on the sandbox, in the default account or (via STS AssumeRole) another one."""
    base = dict(
        region_name=region, endpoint_url=box.url, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    if account is None or account == box.default_account:
        return boto3.client(service, **base)
    sts = boto3.client("sts", **base)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="tests")[
        "Credentials"
    ]
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=box.url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str, cwd: Path | None = None) -> Result:
    """Run the real CLI entry point in-process (exit code, stdout, stderr)."""
    from reconciler.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    code = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        os.chdir(old)
    return Result(code, out.getvalue(), err.getvalue())


PROJECT = """\
project: {project}
region: us-east-1
account: "111111111111"
accounts:
  "222222222222": {{roleArn: "arn:aws:iam::222222222222:role/log-admin"}}
defaultTags: {{team: platform}}
manifests: manifests/
"""


class Workspace:
    """A project directory with reconciler.yaml and manifests/ written by the test."""

    def __init__(self, root: Path, project: str = "tests") -> None:
        self.root = root
        (root / "manifests").mkdir(parents=True, exist_ok=True)
        (root / "reconciler.yaml").write_text(PROJECT.format(project=project))

    def write(self, name: str, text: str) -> Path:
        path = self.root / "manifests" / name
        path.write_text(textwrap.dedent(text))
        return path

    def remove(self, name: str) -> None:
        (self.root / "manifests" / name).unlink()

    def cli(self, *args: str) -> Result:
        return run_cli(*args, cwd=self.root)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def doc(kind: str, name: str, spec: str, **meta: str) -> str:
    """One manifest document."""
    meta_lines = "".join(f'\n  {k}: "{v}"' for k, v in meta.items())
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ")
    return f"apiVersion: reconciler/v1\nkind: {kind}\nmetadata:\n  name: {name}{meta_lines}\nspec:\n{body}\n"


def docs(*parts: str) -> str:
    return "---\n".join(parts)


sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The retry policy the CLI's Api gets, shortened for tests of permanent failures: 3 attempts a few
    milliseconds apart instead of 12 back-offs of up to 5 s each."""
    from reconciler.aws import RetryPolicy, transport

    policy = RetryPolicy(
        max_attempts=3, deadline_seconds=60.0, backoff_base_seconds=0.001, backoff_cap_seconds=0.01
    )
    monkeypatch.setattr(transport, "DEFAULT_RETRY", policy)
    return policy
