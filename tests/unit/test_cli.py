"""The `backbone` command line as staff use it: settings errors, flows check, try."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BROKEN_FLOW = """
id: broken
title: Broken
version: "1"
steps:
  - id: a
    type: single_choice
    text: Pick
  - id: a
    type: teleport
    text: Again
"""


def backbone(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, cwd=None):
    """Run `python -m bot …` (the same entry point as the console script)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or REPO_ROOT,
        timeout=60,
    )


def test_run_without_token_prints_one_line_and_exits_2(tmp_path: Path):
    result = backbone("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "BACKBONE_TELEGRAM_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BACKBONE_ADMIN_IDS", "12,abc"),
        ("BACKBONE_TIMEZONE", "Mars/Olympus"),
        ("BACKBONE_DATABASE_URL", "mysql://x"),
        ("BACKBONE_TEXT_MERGE_SECONDS", "soon"),
    ],
)
def test_malformed_setting_is_one_clear_line(tmp_path: Path, name: str, value: str):
    result = backbone("run", env={"BACKBONE_TELEGRAM_TOKEN": "1:x", name: value}, cwd=tmp_path)
    assert result.returncode == 2
    assert name in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_flows_check_reports_every_problem_with_file_line_and_step(tmp_path: Path):
    flow = tmp_path / "broken.yaml"
    flow.write_text(BROKEN_FLOW, encoding="utf-8")
    result = backbone("flows", "check", str(flow))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) >= 3
    assert all(line.startswith(f"{flow}:") for line in lines)
    assert any("[a]" in line and "option" in line for line in lines)
    assert any("teleport" in line for line in lines)
    assert any("duplicate" in line.lower() for line in lines)


def test_flows_check_passes_the_shipped_flows():
    result = backbone("flows", "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_try_previews_a_flow_in_the_terminal():
    answers = "\n".join(["Ich mag Musik", "4", "1", "Tischler", "2", "1", "7", ""]) + "\n"
    result = backbone("try", "reporter-interview", stdin=answers)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Wie würdest du dich" in out
    assert "[1] Ausbildung" in out
    assert '"self_image": "Ich mag Musik"' in out


def test_try_in_english():
    result = backbone("try", "school-survey", "--locale", "en", stdin="/quit\n")
    assert result.returncode == 0, result.stderr
    assert "Which grade" in result.stdout or "grade" in result.stdout.lower()


def test_import_layers_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint) if lint.exists() else "lint-imports"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
