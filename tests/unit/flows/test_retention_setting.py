"""A flow's retain_identity_months: read from the file, checked by `flows check`, not content."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bot.services.retention import flow_rules
from flows.loader import check_paths, load_flow
from tests.unit.flows.conftest import marked_line

FLOW = """\
id: kurz
title: Kurz
version: "1"
{line}
steps:
  - id: q
    type: text
    text: Frage?
"""


def test_a_period_in_months_is_read(write_flow):
    flow = load_flow(write_flow(FLOW.format(line="retain_identity_months: 24")))
    assert flow.retain_identity_months == 24
    assert flow_rules([flow]) == {"kurz": 24}
    plain = load_flow(write_flow(FLOW.format(line=""), "plain.yaml"))
    assert plain.retain_identity_months is None and flow_rules([plain]) == {}
    # Not content: a changed period makes no new flow version (runs stay on theirs).
    assert flow.content_hash() == plain.content_hash()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "between 1 and 600"),
        ("-3", "between 1 and 600"),
        ("601", "between 1 and 600"),
        ("zwei Jahre", "must be a whole number"),
        ("2.5", "must be a whole number"),
        ("true", "must be a whole number"),
        ("[24]", "must be a whole number"),
    ],
)
def test_flows_check_rejects_a_bad_period(write_flow, value, message):
    text = FLOW.format(line=f"retain_identity_months: {value}  # <-")
    (problem,) = check_paths([write_flow(text)])
    assert message in problem.message and "retain_identity_months" in problem.message
    assert problem.line == marked_line(text)


def test_the_command_says_so(write_flow):
    path = write_flow(FLOW.format(line="retain_identity_months: 0"))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "flows", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"{path}:4: retain_identity_months must be between 1 and 600" in textwrap.dedent(
        done.stdout
    )
