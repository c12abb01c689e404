"""The manifest loader builds documents faster than PyYAML's SafeLoader, and to the same value."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import manifest

CASES = [
    "a: 1\nb: [x, 2, true, null, 1.5, -7, yes, off, ~, '0x1f']\n",
    "when: 2024-01-02\nat: 2024-01-02T03:04:05Z\n",
    "base: &b {x: 1, y: [1, 2]}\nother: *b\nlist: [*b, *b]\n",
    "x: !!str 12\ny: !!int '12'\nz: !!float '1'\n",
    "deep: {a: {b: {c: [{d: e}]}}}\n",
    "- a\n- {b: c}\n",
    "plain\n",
]


def both(text: str) -> tuple[Any, Any]:
    docs, problems = manifest.parse_yaml(text, "t.yaml")
    assert not problems, problems
    return docs[0].data, yaml.safe_load(text)


@pytest.mark.parametrize("text", CASES)
def test_same_value_as_safe_load(text: str) -> None:
    ours, theirs = both(text)
    assert ours == theirs


@pytest.mark.parametrize(
    "text",
    [
        "a: !custom {x: 1}\n",
        "a: !custom [1]\n",
        "a: !!python/object:os.system {}\n",
        "b: !!python/name:os.system ''\n",
        "? [a, b]\n: list-key\n",
    ],
)
def test_unknown_and_unsafe_tags_are_refused_as_before(text: str) -> None:
    _, problems = manifest.parse_yaml(text, "t.yaml")
    assert problems and "invalid YAML" in problems[0].message and problems[0].line == 1


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=5))
def test_any_document_reads_back_the_same(doc: dict[str, Any]) -> None:
    for style in (False, True, None):
        text = yaml.safe_dump(doc, default_flow_style=style)
        if not doc:
            continue
        ours, theirs = both(text)
        assert ours == theirs
