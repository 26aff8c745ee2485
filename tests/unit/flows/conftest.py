"""Helpers for the flow tests: build flows from YAML text, answer them, find marked lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flows.engine import Context
from flows.loader import load_flow, parse_flow
from flows.model import Flow

DE = Context(locale="de", first_name="Mia")
EN = Context(locale="en", first_name="Mia")


def flow_from_yaml(text: str) -> Flow:
    """Parse a flow from YAML text, failing the test with all problems if it is invalid."""
    flow, problems = parse_flow(textwrap.dedent(text), "test.yaml")
    assert not problems, "\n".join(str(p) for p in problems)
    assert flow is not None
    return flow


def marked_line(text: str, marker: str = "# <-") -> int:
    """1-based number of the line carrying `marker` in (dedented) YAML text."""
    for number, line in enumerate(textwrap.dedent(text).splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"no {marker!r} in text")


@pytest.fixture
def write_flow(tmp_path: Path):
    """Write YAML text to a flow file in a temporary directory; returns its path."""

    def write(text: str, name: str = "flow.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def load_yaml(write_flow):
    """Write and load a flow file (with translations beside it)."""

    def load(text: str, name: str = "flow.yaml") -> Flow:
        return load_flow(write_flow(text, name))

    return load
