"""Hostile templates and variables: each ends in one line naming the file, quickly, in bounded memory.

The CLI runs as a child process; its peak RSS and CPU time come from ``os.wait4`` (the kernel's accounting of that
process), so a template that allocates gigabytes or spins fails these tests however the error is reported.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, Workspace

MAX_RSS_MB = 300
MAX_CPU_SECONDS = 2.0


@dataclass
class Measured:
    code: int
    out: str
    err: str
    wall: float
    cpu: float
    rss_mb: float


# The CLI is forked by this small launcher, not by the test process: a child of a large process starts its peak RSS
# at its parent's (Linux carries the high-water mark across fork and exec), so the test worker's own size would count.
LAUNCHER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "reconciler", *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
"""


def run_measured(cwd: Path, *args: str, timeout: float = 60) -> Measured:
    """The real CLI in a child process; exit code, output, wall and CPU seconds, peak RSS (MB) of that process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        report = Path(tmp) / "usage"
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(report), *args],
            cwd=cwd,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        wall = time.monotonic() - start
        code, cpu, rss_kb = report.read_text().split() if report.exists() else (str(-9), "inf", "0")
        out.seek(0)
        err.seek(0)
        return Measured(
            int(code), out.read().decode(), err.read().decode(), wall, float(cpu), int(rss_kb) / 1024
        )


# name → (template, the message after "error: manifests/<name>.yaml:1: template: ")
HOSTILE = {
    "range-list": ("{{ range(10**9)|list|length }}", "OverflowError: Range too big"),
    "namespace-doubling": (
        "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
        "{{ ns.s|length }}",
        "a '~' result would be 4,194,304 characters long, over 2,097,152; refused",
    ),
    "empty-loop": ("{% for i in range(10**9) %}{% endfor %}", "OverflowError: Range too big"),
    "string-times": ("{{ 'a' * 10**9 }}", "a '*' result would be 1,000,000,000 characters long"),
    "percent-format-filter": ("{{ '%999999999s'|format('a') }}", "a %-format width of 999,999,999 is over"),
    "percent-operator": ("{{ '%999999999s' % 'a' }}", "a %-format width of 999,999,999 is over"),
    "str-format": ("{{ '{:>999999999}'.format('a') }}", "a format width of 999,999,999 is over"),
    "indent": ("{{ ('a\\n' * 10**5)|indent(10**4) }}", "|indent would be 1,000,210,000 characters long"),
    "center": ("{{ 'a'|center(10**9) }}", "the width of |center of 1,000,000,000 is over"),
    "center-method": ("{{ 'a'.center(10**9) }}", "the width of center() of 1,000,000,000 is over"),
    "replace-method": (
        "{% set s = 'a' * 1000000 %}{{ s.replace('a', s) }}",
        "replace() would be 1,000,000,000,000 characters long",
    ),
    "join-doubling": (
        "{% set ns = namespace(l=['a' * 1000]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}"
        "{% endfor %}{{ ns.l|join }}",
        "a '+' result would have 4,194,304 items",
    ),
    "block-set-doubling": (
        "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s %}{{ ns.s }}{{ ns.s }}{% endset %}"
        "{% endfor %}",
        "a block's output would be 4,194,304 characters long",
    ),
    "macro-doubling": (
        "{% macro m(n) %}{% if n %}{{ m(n-1) }}{{ m(n-1) }}{% else %}{{ 'a' * 1000 }}{% endif %}{% endmacro %}"
        "{{ m(40) }}",
        "the template builds more than 67,108,864 characters in all; refused",
    ),
    "list-growth": ("{% set l = [1] %}{% for i in range(40) %}{{ l.extend(l) }}{% endfor %}", "unsafe"),
    "big-power": ("{{ 7 ** (10**9) }}", "a '**' result over 100,000 bits; refused"),
    "output-budget": (
        "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
        "rendered output is larger than 2,097,152 bytes; stopped",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_template_is_bounded(name: str, ws: Workspace) -> None:
    template, message = HOSTILE[name]
    ws.write(f"{name}.yaml", template + "\n")
    m = run_measured(ws.root, "validate")
    assert m.code == 1, m
    lines = m.err.strip().splitlines()
    assert len(lines) == 1, m.err
    assert lines[0].startswith(f"error: manifests/{name}.yaml:1: template: "), lines[0]
    assert message in lines[0], lines[0]
    assert m.out == ""
    assert m.rss_mb < MAX_RSS_MB, f"peak RSS {m.rss_mb:.0f} MB"
    assert m.cpu < MAX_CPU_SECONDS, f"{m.cpu:.2f} s of CPU"


def test_render_time_is_bounded_by_the_setting(ws: Workspace) -> None:
    """Nested loops do no amplifying operation at all: the per-file time budget stops them."""
    (ws.root / "reconciler.yaml").write_text(
        (ws.root / "reconciler.yaml").read_text() + "timeouts: {renderSeconds: 1}\n"
    )
    ws.write(
        "spin.yaml",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n",
    )
    m = run_measured(ws.root, "validate")
    assert m.code == 1
    assert m.err.strip() == "error: manifests/spin.yaml:1: template: rendering took longer than 1 s; stopped"
    assert m.cpu < 1 + MAX_CPU_SECONDS  # the budget plus start-up, not the 10^10 iterations
    assert m.rss_mb < MAX_RSS_MB


def test_ordinary_templates_still_render(ws: Workspace) -> None:
    """The limits leave room for real use: loops over hundreds of resources, format, join, indent."""
    ws.write(
        "many.yaml",
        """\
        {% for i in range(300) %}
        ---
        apiVersion: reconciler/v1
        kind: DeliverySource
        metadata: {name: {{ 'src-%03d' | format(i) }}}
        spec:
          logType: APPLICATION_LOGS
          resourceArn: arn:aws:bedrock:us-east-1:111111111111:knowledge-base/{{ 'KB{:05d}'.format(i) }}
          tags: {team: {{ ['plat', 'form'] | join('') }}, n: "{{ i * 2 }}"}
        {% endfor %}
        """,
    )
    m = run_measured(ws.root, "validate")
    assert m.code == 0, m.err
    assert "300 DeliverySource" in m.out


SOURCE = """\
apiVersion: reconciler/v1
kind: DeliverySource
metadata:
  name: {{ name }}
spec:
  logType: APPLICATION_LOGS
  resourceArn: arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB1
  tags: {team: {{ team }}, count: "{{ count }}"}
"""


def test_var_values_are_strings_and_cannot_inject_yaml(ws: Workspace) -> None:
    ws.write("s.yaml", SOURCE)
    ok = ws.cli("render", "--format", "json", "--var", "name=s1", "--var", "team=a b", "--var", "count=007")
    assert ok.code == 0, ok.err
    assert '"team": "a b"' in ok.out and '"count": "007"' in ok.out  # a string, never the number 7
    evil = ws.cli(
        "render",
        "--var",
        'name=s1\n  account: "222222222222"',
        "--var",
        "team=a, evil: x",
        "--var",
        "count=1",
    )
    assert evil.code == 1
    lines = evil.err.strip().splitlines()
    # the value stays one string (refused as a name), never a new key; each problem is one line
    assert lines == [
        'error: manifests/s.yaml:4: DeliverySource/s1\\n  account: "222222222222": metadata.name: may contain '
        "only ASCII letters, digits, '_' and '-'",
        "error: manifests/s.yaml:8: DeliverySource/s1\\n  account: \"222222222222\": spec.tags: tag 'team': value "
        "has characters outside letters, digits, spaces and _.:/=+-@",
    ]
    assert (
        "222222222222" not in ws.cli("render", "--var", "name=s1", "--var", "team=x", "--var", "count=1").out
    )
    ws.write("s.yaml", SOURCE.replace("name: {{ name }}", "name: {{ name[1:] }}"))  # a slice is still data
    sliced = ws.cli("render", "--var", 'name=xs1\n  account: "2"', "--var", "team=x", "--var", "count=1")
    assert sliced.code == 1 and "metadata.name: may contain only" in sliced.err, sliced


def test_tojson_of_a_var_is_quoted_once(ws: Workspace) -> None:
    ws.write("s.yaml", SOURCE.replace("{team: {{ team }},", "{team: {{ team|tojson }},"))
    result = ws.cli(
        "render", "--format", "json", "--var", "name=s1", "--var", "team=a: b", "--var", "count=1"
    )
    assert result.code == 0, result.err
    assert '"team": "a: b"' in result.out  # exactly the string, quoted once
    ok = ws.cli("render", "--format", "json", "--var", "name=s1", "--var", "team=a b", "--var", "count=1")
    assert ok.code == 0, ok.err
    assert '"team": "a b"' in ok.out


def test_var_file_values_are_typed(ws: Workspace) -> None:
    ws.write(
        "s.yaml",
        """\
        {% for n in names %}
        ---
        apiVersion: reconciler/v1
        kind: DeliverySource
        metadata: {name: {{ n }}}
        spec:
          logType: APPLICATION_LOGS
          resourceArn: arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB{{ loop.index * size }}
        {% endfor %}
        """,
    )
    (ws.root / "vars.yaml").write_text("names: [a, b]\nsize: 10\n")
    result = ws.cli("validate", "--var-file", "vars.yaml")
    assert result.code == 0, result.err
    assert "2 DeliverySource" in result.out


def test_help_says_var_values_are_strings() -> None:
    m = run_measured(ROOT, "validate", "--help")
    assert "always a string" in " ".join(m.out.split())
    assert "--var-file" in m.out
