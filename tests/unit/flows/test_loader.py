"""Loader and validator: every error kind is reported with file, line and step id."""

from __future__ import annotations

import textwrap

import pytest

from flows.loader import check_paths, flow_files, load_flow, load_flows
from flows.problems import FlowError, Problem

from .conftest import marked_line

HEAD = """\
id: demo
title: Demo
version: "1"
steps:
"""
Q = """\
  - id: q
    type: text
    text: Frage?
"""


def y(*lines: str) -> str:
    """YAML text from lines."""
    return "".join(line + "\n" for line in lines)


# (case id, flow text with "# <-" on the expected line, step id, part of the message)
CASES = [
    ("yaml_syntax", HEAD + Q + '  - id: r\n    text: "unclosed  # <-\n', None, "YAML syntax error"),
    ("empty_file", "# <-\n", None, "empty"),
    ("not_a_mapping", "- a  # <-\n- b\n", None, "must be a mapping"),
    (
        "unknown_top_key",
        HEAD.replace("title:", "colour: red  # <-\ntitle:") + Q,
        None,
        "unknown top-level key 'colour'",
    ),
    (
        "missing_id",
        "title: Demo  # <-\nversion: '1'\nsteps:\n" + Q,
        None,
        "missing required key 'id'",
    ),
    (
        "missing_title",
        "id: demo  # <-\nversion: '1'\nsteps:\n" + Q,
        None,
        "missing required key 'title'",
    ),
    (
        "missing_version",
        "id: demo  # <-\ntitle: D\nsteps:\n" + Q,
        None,
        "missing required key 'version'",
    ),
    (
        "missing_steps",
        "id: demo  # <-\ntitle: D\nversion: '1'\n",
        None,
        "missing required key 'steps'",
    ),
    ("steps_not_list", HEAD.replace("steps:", "steps: many  # <-"), None, "steps must be a list"),
    (
        "bad_flow_id",
        HEAD.replace("id: demo", "id: Demo Flow  # <-") + Q,
        None,
        "flow id 'Demo Flow'",
    ),
    (
        "flow_id_too_long",
        HEAD.replace("id: demo", "id: " + "a" * 41 + "  # <-") + Q,
        None,
        "at most 40",
    ),
    ("bad_language", HEAD + "language: deutsch  # <-\n".replace("", "") + "", None, None),
    ("step_not_mapping", HEAD + Q + "  - just text  # <-\n", None, "each step must be a mapping"),
    (
        "missing_step_id",
        HEAD + Q + "  - type: text  # <-\n    text: x\n",
        None,
        "step without 'id'",
    ),
    (
        "bad_step_id",
        HEAD + Q + "  - id: 2nd  # <-\n    type: text\n    text: x\n",
        None,
        "step id '2nd'",
    ),
    (
        "reserved_step_id",
        HEAD + Q + "  - id: first_name  # <-\n    type: text\n    text: x\n",
        "first_name",
        "reserved",
    ),
    ("missing_type", HEAD + Q + "  - id: r  # <-\n    text: x\n", "r", "step without 'type'"),
    (
        "unknown_type",
        HEAD + Q + "  - id: r\n    type: essay  # <-\n    text: x\n",
        "r",
        "unknown step type 'essay'",
    ),
    ("missing_text", HEAD + Q + "  - id: r  # <-\n    type: text\n", "r", "step without 'text'"),
    (
        "empty_text",
        HEAD + Q + "  - id: r\n    type: text\n    text:  # <-\n",
        "r",
        "text must not be empty",
    ),
    (
        "unknown_field",
        HEAD + Q + y("  - id: r", "    type: text", "    text: x", "    colour: red  # <-"),
        "r",
        "unknown field 'colour'",
    ),
    (
        "field_not_for_type",
        HEAD
        + Q
        + y("  - id: r", "    type: text", "    text: x", "    options: {a: A, b: B}  # <-"),
        "r",
        "'options' is not allowed for a text step",
    ),
    (
        "message_not_optional",
        HEAD + Q + y("  - id: r", "    type: message", "    text: x", "    optional: true  # <-"),
        "r",
        "'optional' is not allowed for a message step",
    ),
    (
        "wrong_type_bool",
        HEAD + Q + y("  - id: r", "    type: text", "    text: x", "    optional: maybe  # <-"),
        "r",
        "optional must be true or false",
    ),
    (
        "wrong_type_int",
        HEAD + Q + y("  - id: r", "    type: text", "    text: x", "    max_length: lots  # <-"),
        "r",
        "max_length must be a whole number",
    ),
    (
        "wrong_type_text",
        HEAD + Q + "  - id: r\n    type: text\n    text: [a, b]  # <-\n",
        "r",
        "text must be text",
    ),
    (
        "max_length_too_big",
        HEAD + Q + y("  - id: r", "    type: text", "    text: x", "    max_length: 5000  # <-"),
        "r",
        "max_length must be between 1 and 4000",
    ),
    (
        "max_length_zero",
        HEAD + Q + y("  - id: r", "    type: text", "    text: x", "    max_length: 0  # <-"),
        "r",
        "max_length must be between 1 and 4000",
    ),
    (
        "scale_too_many_points",
        HEAD + y("  - id: r", "    type: scale", "    text: x", "    min: 0", "    max: 11  # <-"),
        "r",
        "at most 11 points",
    ),
    (
        "scale_min_not_below_max",
        HEAD + y("  - id: r", "    type: scale", "    text: x", "    min: 5  # <-", "    max: 5"),
        "r",
        "min < max",
    ),
    (
        "scale_without_bounds",
        HEAD + y("  - id: r  # <-", "    type: scale", "    text: x", "    max: 5"),
        "r",
        "a scale needs 'min'",
    ),
    (
        "number_min_above_max",
        HEAD + y("  - id: r", "    type: number", "    text: x", "    min: 9  # <-", "    max: 1"),
        "r",
        "min must not be greater than max",
    ),
    (
        "choice_without_options",
        HEAD + "  - id: r  # <-\n    type: single_choice\n    text: x\n",
        "r",
        "needs options",
    ),
    (
        "choice_with_one_option",
        HEAD
        + y(
            "  - id: r",
            "    type: single_choice",
            "    text: x",
            "    options:  # <-",
            "      a: A",
        ),
        "r",
        "at least two options",
    ),
    (
        "options_not_mapping",
        HEAD
        + y("  - id: r", "    type: single_choice", "    text: x", "    options: [a, b]  # <-"),
        "r",
        "options must be a mapping",
    ),
    (
        "bad_option_code",
        HEAD
        + y(
            "  - id: r",
            "    type: single_choice",
            "    text: x",
            "    options:",
            "      a: A",
            "      Not OK: B  # <-",
        ),
        "r",
        "option code 'Not OK'",
    ),
    (
        "duplicate_option_code",
        HEAD
        + y(
            "  - id: r",
            "    type: single_choice",
            "    text: x",
            "    options:",
            "      a: A",
            "      b: B",
            "      a: C  # <-",
        ),
        "r",
        "duplicate key 'a'",
    ),
    (
        "multi_min_above_max",
        HEAD
        + y(
            "  - id: r",
            "    type: multiple_choice",
            "    text: x",
            "    options: {a: A, b: B, c: C}",
            "    min: 3  # <-",
            "    max: 2",
        ),
        "r",
        "min (3) is greater than max (2)",
    ),
    (
        "multi_max_above_options",
        HEAD
        + y(
            "  - id: r",
            "    type: multiple_choice",
            "    text: x",
            "    options: {a: A, b: B}",
            "    max: 3  # <-",
        ),
        "r",
        "max (3) is more than the 2 options",
    ),
    (
        "multi_max_zero",
        HEAD
        + y(
            "  - id: r",
            "    type: multiple_choice",
            "    text: x",
            "    options: {a: A, b: B}",
            "    max: 0  # <-",
        ),
        "r",
        "max must be at least 1",
    ),
    # graph rules
    (
        "duplicate_step_id",
        HEAD + Q + "  - id: q  # <-\n    type: text\n    text: y\n",
        "q",
        "duplicate step id 'q' (first at line 5)",
    ),
    (
        "condition_unknown_step",
        HEAD + Q + y("  - id: r", "    type: text", "    when: nope == 1  # <-", "    text: x"),
        "r",
        "names unknown step 'nope'",
    ),
    (
        "condition_later_step",
        HEAD
        + Q
        + y(
            "  - id: r",
            "    type: text",
            "    when: s == 1  # <-",
            "    text: x",
            "  - id: s",
            "    type: text",
            "    text: y",
        ),
        "r",
        "names step 's', which comes later",
    ),
    (
        "condition_same_step",
        HEAD + Q + y("  - id: r", "    type: text", "    when: r == 1  # <-", "    text: x"),
        "r",
        "names this step itself",
    ),
    (
        "condition_on_message",
        HEAD
        + "  - id: m\n    type: message\n    text: Hi\n"
        + Q.replace("text: Frage?", "text: Frage?\n    when: m == 1  # <-"),
        "q",
        "is a message and has no answer",
    ),
    (
        "condition_syntax_error",
        HEAD + Q + y("  - id: r", "    type: text", "    when: q ==  # <-", "    text: x"),
        "r",
        "condition syntax error",
    ),
    (
        "condition_not_allowed",
        HEAD
        + Q
        + y("  - id: r", "    type: text", "    when: q.upper() == 'A'  # <-", "    text: x"),
        "r",
        "not allowed",
    ),
    (
        "next_unknown_step",
        HEAD + Q + y("  - id: r", "    type: text", "    text: x", "    next: nowhere  # <-"),
        "r",
        "next: unknown step 'nowhere'",
    ),
    (
        "next_earlier_step",
        HEAD + Q + y("  - id: r", "    type: text", "    text: x", "    next: q  # <-"),
        "r",
        "is not a later step",
    ),
    (
        "unreachable_step",
        HEAD
        + Q.replace("text: Frage?", "text: Frage?\n    next: end")
        + "  - id: r  # <-\n    type: text\n    text: x\n",
        "r",
        "can never be reached",
    ),
    (
        "placeholder_unknown",
        HEAD + Q + y("  - id: r", "    type: text", "    text: Hallo {nobody}  # <-"),
        "r",
        "placeholder {nobody} in text names unknown step 'nobody'",
    ),
    (
        "placeholder_later",
        HEAD + y("  - id: r", "    type: text", "    text: Du sagtest {q}  # <-") + Q,
        "r",
        "names step 'q', which comes later",
    ),
    (
        "placeholder_in_option",
        HEAD
        + Q
        + y(
            "  - id: r",
            "    type: single_choice",
            "    text: x",
            "    options:",
            "      a: '{zzz}'  # <-",
            "      b: B",
        ),
        "r",
        "placeholder {zzz} in option 'a'",
    ),
    (
        "placeholder_malformed",
        HEAD + Q + "  - id: r\n    type: text\n    text: 'Hallo {'  # <-\n",
        "r",
        "malformed placeholder",
    ),
    (
        "placeholder_format_spec",
        HEAD + Q + y("  - id: r", "    type: text", "    text: 'Hallo {q:>10}'  # <-"),
        "r",
        "is not allowed",
    ),
    (
        "placeholder_of_voice",
        HEAD
        + y(
            "  - id: v",
            "    type: voice",
            "    text: Sprich",
            "  - id: r",
            "    type: text",
            "    text: 'Du sagtest {v}'  # <-",
        ),
        "r",
        "is a voice note",
    ),
    (
        "no_question",
        HEAD.replace("steps:", "steps:  # <-") + "  - id: m\n    type: message\n    text: Hi\n",
        None,
        "asks no question",
    ),
]
CASES = [c for c in CASES if c[3] is not None]


@pytest.mark.parametrize(
    ("text", "step_id", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_error_kind_is_located(write_flow, text, step_id, message):
    path = write_flow(text)
    problems = check_paths([path])
    expected_line = marked_line(text)
    matching = [p for p in problems if message in p.message]
    assert matching, f"no problem containing {message!r} in:\n" + "\n".join(map(str, problems))
    problem = matching[0]
    assert problem.file == str(path)
    assert problem.line == expected_line, str(problem)
    assert problem.step_id == step_id, str(problem)
    with pytest.raises(FlowError) as raised:
        load_flow(path)
    assert problem in raised.value.problems


def test_bad_language_code(write_flow):
    text = HEAD.replace('version: "1"', 'version: "1"\nlanguage: Deutsch  # <-') + Q
    (problem,) = check_paths([write_flow(text)])
    assert problem.line == marked_line(text)
    assert "is not a locale code" in problem.message


def test_every_problem_is_reported_at_once(write_flow):
    text = textwrap.dedent(
        """\
        id: Bad Flow
        title: x
        colour: red
        steps:
          - id: a
            type: message
            text: Hi {nobody}
          - id: b
            type: single_choice
            text: pick
            options:
              only: One
          - id: c
            type: scale
            text: s
            min: 1
            max: 20
            when: b == "x" and d > 1
        """
    )
    problems = check_paths([write_flow(text)])
    rendered = [str(p).split(": ", 1)[1] for p in problems]
    assert len(problems) == 7, rendered
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_problem_str_format():
    assert str(Problem("f.yaml", 3, "plan", "bad")) == "f.yaml:3: [plan] bad"
    assert str(Problem("f.yaml", 1, None, "bad")) == "f.yaml:1: bad"


def test_texts_stay_as_written(load_yaml):
    # YAML 1.1 would turn `yes`, `no` and `12` into booleans and numbers; texts stay text
    flow = load_yaml(
        """\
        id: literal
        title: 2026
        version: 2026-1
        steps:
          - id: q
            type: single_choice
            text: yes
            options:
              yes: no
              no: on
        """
    )
    assert flow.title == "2026"
    assert flow.version == "2026-1"
    assert flow.steps[0].text == "yes"
    assert flow.steps[0].options == {"yes": "no", "no": "on"}
    assert flow.steps[0].line == 5


def test_block_texts_are_trimmed(load_yaml):
    flow = load_yaml(
        """\
        id: block
        title: B
        version: "1"
        steps:
          - id: q
            type: text
            text: |
              Zeile eins
              Zeile zwei
        """
    )
    assert flow.steps[0].text == "Zeile eins\nZeile zwei"
    assert flow.source_path is not None


def test_directories_skip_locales_and_duplicate_flow_ids_are_reported(tmp_path):
    body = 'title: T\nversion: "1"\nsteps:\n  - id: q\n    type: text\n    text: x\n'
    (tmp_path / "a.yaml").write_text("id: same\n" + body)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text("id: same\n" + body)
    (tmp_path / "locales" / "en").mkdir(parents=True)
    (tmp_path / "locales" / "en" / "junk.yaml").write_text("not: a flow\n")
    (tmp_path / "notes.txt").write_text("ignored")
    files = flow_files([tmp_path])
    assert [f.name for f in files] == ["a.yaml", "b.yml"]
    (problem,) = check_paths([tmp_path])
    assert problem.file.endswith("b.yml")
    assert "also used by" in problem.message
    with pytest.raises(FlowError):
        load_flows([tmp_path])


def test_missing_path_is_a_problem(tmp_path):
    (problem,) = check_paths([tmp_path / "nope.yaml"])
    assert "no such file" in problem.message


def test_load_flows_returns_flows_by_id(tmp_path):
    body = 'title: T\nversion: "1"\nsteps:\n  - id: q\n    type: text\n    text: x\n'
    (tmp_path / "a.yaml").write_text("id: one\n" + body)
    (tmp_path / "b.yaml").write_text("id: two\n" + body)
    assert sorted(load_flows([tmp_path])) == ["one", "two"]
