"""Every ``--format`` choice comes from the output-format registry, and each registered format renders."""

from __future__ import annotations

import click

from reconciler import formats
from reconciler.cli import cli
from reconciler.plan import build

REGISTRIES = [v for v in vars(formats).values() if isinstance(v, formats.Formats)]


def test_every_format_option_is_a_registry_of_formats() -> None:
    seen = 0
    for name, command in cli.commands.items():
        for param in command.params:
            if param.name != "fmt":
                continue
            assert isinstance(param.type, click.Choice), name
            matches = [
                r for r in REGISTRIES if list(param.type.choices) == r.names and param.default == r.default
            ]
            assert matches, f"{name} --format {param.type.choices} is not a registry"
            seen += 1
    assert seen == 9  # render, plan, show, graph, apply, verify, drift, scopes, coverage


def test_each_plan_format_renders_an_empty_plan() -> None:
    plan = build([], "p")
    for fmt in formats.PLAN.names:
        assert formats.PLAN.render(fmt, plan).strip(), fmt
