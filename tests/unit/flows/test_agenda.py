"""Agendas for live polls: every problem with file, line and poll id; quick polls in chat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows import SHIPPED_DIR
from flows.agenda import (
    Agenda,
    AgendaError,
    PollSpec,
    PollType,
    check_agenda_file,
    is_agenda_file,
    load_agenda,
    parse_agenda,
    parse_quick_poll,
)
from flows.loader import agenda_files, check_paths, flow_files
from flows.problems import FlowError

from .conftest import marked_line

SHIPPED_AGENDA = SHIPPED_DIR / "agendas" / "steering-circle.yaml"

HEAD = """\
agenda: demo
title: Demo
polls:
"""
P = """\
  - id: p
    type: single_choice
    question: Frage?
    options:
      a: A
      b: B
"""


def y(*lines: str) -> str:
    """YAML text from lines."""
    return "".join(line + "\n" for line in lines)


def poll(*lines: str, poll_id: str = "q", poll_type: str = "single_choice") -> str:
    """An agenda with a valid first poll and a second poll made of `lines`."""
    return HEAD + P + y(f"  - id: {poll_id}", f"    type: {poll_type}", *lines)


CHOICE = ("    question: Frage?", "    options:", "      a: A", "      b: B")
SCALE = ("    question: Wie?", "    min: 1", "    max: 5")
OPTIONS_13 = tuple(f"      o{i}: Option {i}" for i in range(13))

# (case id, agenda text with "# <-" on the expected line, poll id, part of the message)
CASES = [
    ("yaml_syntax", HEAD + P + '  - id: r\n    question: "unclosed  # <-\n', None, "YAML syntax"),
    ("empty_file", "# <-\n", None, "the file is empty"),
    ("not_a_mapping", "- a  # <-\n- b\n", None, "must be a mapping"),
    (
        "unknown_top_key",
        HEAD.replace("title:", "colour: red  # <-\ntitle:") + P,
        None,
        "unknown top-level key 'colour'",
    ),
    ("missing_agenda", "title: Demo  # <-\npolls:\n" + P, None, "missing required key 'agenda'"),
    ("missing_title", "agenda: demo  # <-\npolls:\n" + P, None, "missing required key 'title'"),
    ("missing_polls", "agenda: demo  # <-\ntitle: Demo\n", None, "missing required key 'polls'"),
    ("polls_not_list", HEAD.replace("polls:", "polls: many  # <-"), None, "polls must be a list"),
    ("polls_empty", HEAD.replace("polls:", "polls: []  # <-"), None, "polls must not be empty"),
    (
        "bad_agenda_id",
        HEAD.replace("agenda: demo", "agenda: Steuerkreis November  # <-") + P,
        None,
        "agenda id 'Steuerkreis November'",
    ),
    (
        "agenda_id_too_long",
        HEAD.replace("agenda: demo", "agenda: " + "a" * 41 + "  # <-") + P,
        None,
        "at most 40",
    ),
    (
        "bad_language",
        HEAD.replace("polls:", "language: deutsch  # <-\npolls:") + P,
        None,
        "language 'deutsch' is not a locale code",
    ),
    (
        "title_too_long",
        HEAD.replace("title: Demo", "title: " + "T" * 201 + "  # <-") + P,
        None,
        "title is too long",
    ),
    ("empty_title", HEAD.replace("title: Demo", "title:  # <-") + P, None, "title must not be"),
    ("duplicate_top_key", HEAD + P + "title: Again  # <-\n", None, "duplicate key 'title'"),
    ("poll_not_mapping", HEAD + P + "  - just text  # <-\n", None, "each poll must be a mapping"),
    (
        "missing_poll_id",
        HEAD + P + y("  - type: words  # <-", "    question: x"),
        None,
        "poll without 'id'",
    ),
    (
        "bad_poll_id",
        HEAD + P + y("  - id: 2nd  # <-", "    type: words", "    question: x"),
        None,
        "poll id '2nd'",
    ),
    (
        "poll_id_with_dash",
        HEAD + P + y("  - id: role-clarity  # <-", "    type: words", "    question: x"),
        None,
        "poll id 'role-clarity'",
    ),
    (
        "duplicate_poll_id",
        HEAD + P + y("  - id: p  # <-", "    type: words", "    question: x"),
        "p",
        "poll id 'p' is used twice (first at line 4)",
    ),
    ("missing_type", HEAD + P + y("  - id: q  # <-", "    question: x"), "q", "without 'type'"),
    (
        "unknown_type",
        HEAD + P + y("  - id: q", "    type: essay  # <-", "    question: x"),
        "q",
        "unknown poll type 'essay'",
    ),
    (
        "missing_question",
        HEAD + P + y("  - id: q  # <-", "    type: words"),
        "q",
        "poll without 'question'",
    ),
    ("empty_question", poll("    question:  # <-", poll_type="words"), "q", "must not be empty"),
    (
        "question_too_long",
        poll("    question: " + "W" * 301 + "  # <-", poll_type="words"),
        "q",
        "question is too long (301 characters, at most 300)",
    ),
    (
        "question_not_text",
        poll("    question: [a, b]  # <-", poll_type="words"),
        "q",
        "question must be text",
    ),
    (
        "unknown_field",
        poll(*CHOICE, "    colour: red  # <-"),
        "q",
        "unknown field 'colour'",
    ),
    (
        "unknown_field_without_type",
        HEAD + P + y("  - id: q", "    question: x", "    colour: red  # <-"),
        "q",
        "unknown field 'colour'",
    ),
    (
        "duplicate_field",
        poll(*CHOICE, "    question: Noch einmal?  # <-"),
        "q",
        "duplicate key 'question'",
    ),
    (
        "choice_without_options",
        HEAD + P + y("  - id: q  # <-", "    type: single_choice", "    question: x"),
        "q",
        "a single_choice poll needs options",
    ),
    (
        "multiple_choice_without_options",
        HEAD + P + y("  - id: q  # <-", "    type: multiple_choice", "    question: x"),
        "q",
        "a multiple_choice poll needs options",
    ),
    (
        "options_not_mapping",
        poll("    question: x", "    options: [A, B]  # <-"),
        "q",
        "options must be a mapping",
    ),
    (
        "one_option",
        poll("    question: x", "    options:  # <-", "      a: A"),
        "q",
        "2 to 12 options (found 1)",
    ),
    (
        "thirteen_options",
        poll("    question: x", "    options:  # <-", *OPTIONS_13),
        "q",
        "2 to 12 options (found 13)",
    ),
    (
        "option_label_too_long",
        poll("    question: x", "    options:", "      a: A", "      b: " + "B" * 101 + "  # <-"),
        "q",
        "label of option 'b' is too long (101 characters, at most 100)",
    ),
    (
        "empty_option_label",
        poll("    question: x", "    options:", "      a: A", "      b:  # <-", "      c: C"),
        "q",
        "label of option 'b' must not be empty",
    ),
    (
        "bad_option_code",
        poll("    question: x", "    options:", "      a: A", "      Bad Code: B  # <-"),
        "q",
        "option code 'Bad Code'",
    ),
    (
        "duplicate_option_code",
        poll(*CHOICE, "      a: Again  # <-"),
        "q",
        "duplicate key 'a'",
    ),
    (
        "options_on_scale",
        poll(*SCALE, "    options:  # <-", "      a: A", "      b: B", poll_type="scale"),
        "q",
        "field 'options' is not allowed for a scale poll",
    ),
    (
        "options_on_words",
        poll("    question: x", "    options:  # <-", "      a: A", poll_type="words"),
        "q",
        "field 'options' is not allowed for a words poll",
    ),
    (
        "max_on_single_choice",
        poll(*CHOICE, "    max: 1  # <-"),
        "q",
        "field 'max' is not allowed for a single_choice poll",
    ),
    (
        "min_on_multiple_choice",
        poll(*CHOICE, "    min: 1  # <-", poll_type="multiple_choice"),
        "q",
        "field 'min' is not allowed for a multiple_choice poll",
    ),
    (
        "max_words_on_scale",
        poll(*SCALE, "    max_words: 2  # <-", poll_type="scale"),
        "q",
        "field 'max_words' is not allowed for a scale poll",
    ),
    (
        "anonymous_not_bool",
        poll(*CHOICE, "    anonymous: maybe  # <-"),
        "q",
        "anonymous must be true or false",
    ),
    (
        "show_results_not_bool",
        poll(*CHOICE, "    show_results: 1  # <-"),
        "q",
        "show_results must be true or false",
    ),
    ("timer_too_short", poll(*CHOICE, "    timer: 5  # <-"), "q", "timer must be between 10"),
    ("timer_too_long", poll(*CHOICE, "    timer: 3601  # <-"), "q", "and 3600 seconds"),
    ("timer_not_number", poll(*CHOICE, "    timer: 1 min  # <-"), "q", "timer must be a whole"),
    (
        "multi_max_beyond_options",
        poll(*CHOICE, "    max: 3  # <-", poll_type="multiple_choice"),
        "q",
        "max (3) is more than the 2 options",
    ),
    (
        "multi_max_zero",
        poll(*CHOICE, "    max: 0  # <-", poll_type="multiple_choice"),
        "q",
        "max must be at least 1",
    ),
    (
        "scale_missing_min",
        poll("    question: Wie?", "    max: 5", poll_type="scale").replace(
            "  - id: q", "  - id: q  # <-"
        ),
        "q",
        "a scale needs 'min'",
    ),
    (
        "scale_missing_max",
        poll("    question: Wie?", "    min: 1", poll_type="scale").replace(
            "  - id: q", "  - id: q  # <-"
        ),
        "q",
        "a scale needs 'max'",
    ),
    (
        "scale_min_negative",
        poll("    question: Wie?", "    min: -1  # <-", "    max: 5", poll_type="scale"),
        "q",
        "scale min must be between 0 and 10",
    ),
    (
        "scale_max_above_ten",
        poll("    question: Wie?", "    min: 0", "    max: 11  # <-", poll_type="scale"),
        "q",
        "scale max must be between 0 and 10",
    ),
    (
        "scale_min_not_below_max",
        poll("    question: Wie?", "    min: 5  # <-", "    max: 5", poll_type="scale"),
        "q",
        "a scale needs min < max",
    ),
    (
        "scale_min_not_number",
        poll("    question: Wie?", "    min: eins  # <-", "    max: 5", poll_type="scale"),
        "q",
        "min must be a whole number",
    ),
    (
        "scale_label_too_long",
        poll(*SCALE, "    max_label: " + "L" * 101 + "  # <-", poll_type="scale"),
        "q",
        "max_label is too long",
    ),
    (
        "max_words_zero",
        poll("    question: x", "    max_words: 0  # <-", poll_type="words"),
        "q",
        "max_words must be between 1 and 3",
    ),
    (
        "max_words_four",
        poll("    question: x", "    max_words: 4  # <-", poll_type="words"),
        "q",
        "max_words must be between 1 and 3 (not 4)",
    ),
]


@pytest.mark.parametrize(
    ("text", "poll_id", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_problem_is_reported_with_line_and_poll(text, poll_id, message):
    agenda, problems = parse_agenda(text, "demo.yaml")
    assert agenda is None
    line = marked_line(text)
    matching = [p for p in problems if message in p.message]
    assert matching, "\n".join(str(p) for p in problems)
    assert [(p.file, p.line, p.step_id) for p in matching][:1] == [("demo.yaml", line, poll_id)], (
        "\n".join(str(p) for p in problems)
    )


def test_every_problem_is_reported_at_once_in_line_order():
    text = y(
        "agenda: Demo Agenda",
        "title: Demo",
        "polls:",
        "  - id: a",
        "    type: single_choice",
        "    question: x",
        "    options:",
        "      only: Eine",
        "  - id: b",
        "    type: scale",
        "    question: x",
        "    min: 3",
        "    max: 2",
        "  - id: a",
        "    type: poll",
        "    question: x",
    )
    agenda, problems = parse_agenda(text, "demo.yaml")
    assert agenda is None
    found = [(p.line, p.step_id) for p in problems]
    assert found == [(1, None), (7, "a"), (12, "b"), (14, "a"), (15, "a")]
    assert str(problems[1]).startswith("demo.yaml:7: [a] a poll needs 2 to 12 options")


def test_yaml_syntax_error_points_at_the_broken_line():
    text = HEAD + P + y("  - id: q", "    type: words", "    question: [unclosed  # <-")
    _agenda, problems = parse_agenda(text, "demo.yaml")
    assert len(problems) == 1
    assert problems[0].message.startswith("YAML syntax error")
    assert problems[0].line == marked_line(text)


# ---------------------------------------------------------------------- valid agendas


def test_defaults_and_effective_values():
    text = (
        HEAD
        + P
        + y(
            "  - id: roles",
            "    type: multiple_choice",
            *CHOICE[1:],
            "    question: Welche?",
            "  - id: feeling",
            "    type: words",
            "    question: Ein Wort",
            "  - id: clarity",
            "    type: scale",
            *SCALE,
            "    min_label: gar nicht",
            "    timer: 60",
            "    anonymous: false",
            "    show_results: true",
        )
    )
    agenda, problems = parse_agenda(text, "demo.yaml")
    assert problems == []
    assert agenda is not None
    assert agenda.id == "demo" and agenda.title == "Demo" and agenda.language == "de"
    first, roles, feeling, clarity = agenda.polls
    assert first.anonymous is True and first.show_results is False and first.timer is None
    assert first.options == {"a": "A", "b": "B"} and first.max_choices() == 1
    assert first.line == 4
    assert roles.max == 2 and roles.max_choices() == 2 and roles.is_choice
    assert feeling.max_words == 3 and feeling.words_limit() == 3 and not feeling.options
    assert clarity.scale_values() == [1, 2, 3, 4, 5]
    assert (clarity.min_label, clarity.max_label) == ("gar nicht", None)
    assert (clarity.timer, clarity.anonymous, clarity.show_results) == (60, False, True)
    assert agenda.poll("clarity") is clarity
    with pytest.raises(KeyError):
        agenda.poll("nope")


def test_texts_stay_as_written():
    text = HEAD + y(
        "  - id: q",
        "    type: single_choice",
        "    question: 'Ja oder nein?'",
        "    options:",
        "      yes_: yes",
        "      no_: no",
        "      n12: 12",
    )
    agenda, problems = parse_agenda(text)
    assert problems == []
    assert agenda is not None
    assert agenda.polls[0].options == {"yes_": "yes", "no_": "no", "n12": "12"}


def test_model_dump_round_trips():
    agenda = load_agenda(SHIPPED_AGENDA)
    data = agenda.model_dump(mode="json")
    assert Agenda.model_validate(data) == agenda
    assert Agenda.model_validate(json.loads(json.dumps(data))) == agenda
    spec = agenda.polls[0]
    assert PollSpec.model_validate(spec.model_dump(mode="json")) == spec
    assert data["polls"][0]["type"] == spec.type.value


def test_load_agenda_raises_with_every_problem(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text(poll("    question: x", "    timer: 1", "    max_words: 9", poll_type="words"))
    with pytest.raises(AgendaError) as caught:
        load_agenda(path)
    assert isinstance(caught.value, FlowError)
    assert [(p.file, p.line, p.step_id) for p in caught.value.problems] == [
        (str(path), 13, "q"),
        (str(path), 14, "q"),
    ]
    assert f"{path}:13: [q] timer" in str(caught.value)


def test_load_agenda_sets_source_path_and_reports_unreadable(tmp_path: Path):
    assert load_agenda(SHIPPED_AGENDA).source_path == str(SHIPPED_AGENDA)
    agenda, problems = check_agenda_file(tmp_path / "missing.yaml")
    assert agenda is None and "cannot read file" in problems[0].message


def test_is_agenda_file(tmp_path: Path):
    assert is_agenda_file(SHIPPED_AGENDA)
    assert not is_agenda_file(SHIPPED_DIR / "reporter-interview.yaml")
    assert not is_agenda_file(tmp_path / "missing.yaml")
    assert not is_agenda_file(tmp_path)
    broken = tmp_path / "broken.yaml"
    broken.write_text('agenda: x\ntitle: "unclosed\n')
    assert is_agenda_file(broken)  # so its syntax error is reported as an agenda problem
    nested = tmp_path / "nested.yaml"
    nested.write_text("id: f\nsteps:\n  - agenda: x\n")
    assert not is_agenda_file(nested)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe agenda: x")
    assert not is_agenda_file(binary)


# ---------------------------------------------------------------------- the shipped agenda


def test_shipped_agenda_covers_every_poll_type():
    agenda = load_agenda(SHIPPED_AGENDA)
    assert agenda.language == "de"
    assert {p.type for p in agenda.polls} == set(PollType)
    assert any(not p.anonymous for p in agenda.polls)
    assert any(p.timer for p in agenda.polls)
    assert any(p.show_results for p in agenda.polls)


# ---------------------------------------------------------------------- check_paths


def test_check_paths_on_the_shipped_dir_includes_agendas():
    assert [str(p) for p in check_paths([SHIPPED_DIR])] == []
    found = agenda_files([SHIPPED_DIR])
    assert SHIPPED_AGENDA in found
    # beside it its translations (steering-circle-<lang>.yaml), nothing else
    translated = [f"steering-circle-{lang}" for lang in ("ar", "ru", "tr", "uk")]
    assert sorted(p.stem for p in found) == ["steering-circle", *translated]
    assert SHIPPED_AGENDA not in flow_files([SHIPPED_DIR])


def _flows_dir(tmp_path: Path) -> Path:
    (tmp_path / "agendas").mkdir()
    (tmp_path / "demo.yaml").write_text(
        'id: demo\ntitle: Demo\nversion: "1"\nsteps:\n  - id: q\n    type: text\n    text: Hi\n'
    )
    return tmp_path


def test_check_paths_reports_a_broken_agenda(tmp_path: Path):
    flows_dir = _flows_dir(tmp_path)
    broken = flows_dir / "agendas" / "broken.yaml"
    text = poll("    question: x", "    max_words: 7  # <-", poll_type="words")
    broken.write_text(text)
    problems = check_paths([flows_dir])
    assert [(p.file, p.line, p.step_id) for p in problems] == [
        (str(broken), marked_line(text), "q")
    ]
    assert "max_words" in problems[0].message
    # the agenda is not a flow, and the flow next to it is still checked as one
    assert flow_files([flows_dir]) == [flows_dir / "demo.yaml"]
    assert check_paths([broken]) == problems


def test_check_paths_reports_agenda_syntax_errors_and_ids_used_twice(tmp_path: Path):
    flows_dir = _flows_dir(tmp_path)
    (flows_dir / "agendas" / "a.yaml").write_text(HEAD + P)
    (flows_dir / "agendas" / "b.yaml").write_text(HEAD + P)
    (flows_dir / "agendas" / "c.yaml").write_text('agenda: c\ntitle: "unclosed\npolls: []\n')
    # an agenda may share its id with a flow: they are looked up separately
    (flows_dir / "agendas" / "d.yaml").write_text(HEAD.replace("agenda: demo", "agenda: x") + P)
    found = [str(p) for p in check_paths([flows_dir])]
    assert found[
        0
    ] == f"{flows_dir / 'agendas' / 'b.yaml'}:1: agenda id 'demo' is also used by " + str(
        flows_dir / "agendas" / "a.yaml"
    )
    assert found[1].startswith(f"{flows_dir / 'agendas' / 'c.yaml'}:2: YAML syntax error")
    assert len(found) == 2


def test_check_paths_explicit_agenda_file():
    assert check_paths([SHIPPED_AGENDA]) == []


# ---------------------------------------------------------------------- quick polls


def quick(text: str) -> PollSpec:
    result = parse_quick_poll(text)
    assert isinstance(result, PollSpec), result
    return result


def test_quick_poll_single_choice():
    spec = quick("/poll Was zuerst angehen? | Information | Passung | Begleitung")
    assert spec.type is PollType.SINGLE_CHOICE
    assert spec.question == "Was zuerst angehen?"
    assert spec.options == {"a": "Information", "b": "Passung", "c": "Begleitung"}
    assert spec.anonymous is True and spec.show_results is False and spec.timer is None
    assert spec.id == "poll" and spec.line == 0


def test_quick_poll_command_with_bot_name_and_without_command():
    assert quick("/poll@backbone_bot Ja? | Ja | Nein").options == {"a": "Ja", "b": "Nein"}
    assert quick("Ja? | Ja | Nein").question == "Ja?"


def test_quick_poll_options_one_per_line():
    spec = quick("/poll Welcher Termin passt?\n\nMontag\n  Dienstag  \nMittwoch\n")
    assert spec.question == "Welcher Termin passt?"
    assert list(spec.options.values()) == ["Montag", "Dienstag", "Mittwoch"]


def test_quick_poll_multi():
    spec = quick("/poll --multi Wo mehr Klarheit? | Aufgaben | Entscheidungen | Daten")
    assert spec.type is PollType.MULTIPLE_CHOICE
    assert spec.max == 3 and spec.max_choices() == 3


def test_quick_poll_scale():
    spec = quick("/poll --scale 1-5 Wie klar ist Ihre Rolle?")
    assert spec.type is PollType.SCALE
    assert (spec.min, spec.max) == (1, 5) and spec.scale_values() == [1, 2, 3, 4, 5]
    assert spec.options == {} and spec.min_label is None
    labelled = quick("/poll --scale 0..10 Wie zufrieden? | gar nicht | sehr")
    assert (labelled.min, labelled.max) == (0, 10)
    assert (labelled.min_label, labelled.max_label) == ("gar nicht", "sehr")


def test_quick_poll_words():
    spec = quick("/poll --words Ein Wort für die Zusammenarbeit")
    assert spec.type is PollType.WORDS and spec.max_words == 3
    assert spec.question == "Ein Wort für die Zusammenarbeit"


def test_quick_poll_named_timer_show_results():
    spec = quick("/poll --named --timer 60 --show-results Kommen Sie? | Ja | Nein")
    assert (spec.anonymous, spec.timer, spec.show_results) == (False, 60, True)
    assert quick("/poll --timer 2m Ja? | Ja | Nein").timer == 120
    assert quick("/poll --timer 90s Ja? | Ja | Nein").timer == 90


def test_quick_poll_dash_typed_by_a_phone():
    spec = quick("/poll —multi —timer 30 Was? | A | B")
    assert spec.type is PollType.MULTIPLE_CHOICE and spec.timer == 30
    # a dash that does not start a known flag belongs to the question
    assert quick("/poll –Wer kommt? | A | B").question == "–Wer kommt?"


def test_quick_poll_trailing_bar_is_forgiven():
    assert quick("/poll Was? | A | B |").options == {"a": "A", "b": "B"}


def test_quick_poll_twelve_options_get_codes_a_to_l():
    spec = quick("/poll Was? | " + " | ".join(f"Option {i}" for i in range(12)))
    assert list(spec.options) == list("abcdefghijkl")


QUICK_PROBLEMS = [
    ("no_options", "/poll Was zuerst?", "at least 2 options"),
    ("one_option", "/poll Was zuerst? | Nur eins", "at least 2 options"),
    ("no_question", "/poll", "no question"),
    ("empty_question", "/poll | A | B", "no question"),
    ("question_too_long", "/poll " + "W" * 301 + " | A | B", "question is too long (301"),
    ("too_many_options", "/poll Was? | " + " | ".join("ABCDEFGHIJKLM"), "at most 12 options"),
    ("option_too_long", "/poll Was? | A | " + "B" * 101, "option 2 is too long"),
    ("empty_option", "/poll Was? | A | | C", "option 2 is empty"),
    ("duplicate_option", "/poll Was? | Ja | ja", "given twice"),
    ("unknown_flag", "/poll --secret Was? | A | B", "unknown flag --secret"),
    ("timer_without_seconds", "/poll --timer Was? | A | B", "--timer needs seconds"),
    ("timer_too_short", "/poll --timer 5 Was? | A | B", "between 10 and 3600"),
    ("timer_too_long", "/poll --timer 2h Was? | A | B", "--timer needs seconds"),
    ("scale_without_range", "/poll --scale Wie?", "--scale needs a range"),
    ("scale_too_wide", "/poll --scale 0-11 Wie?", "from 0 to 10"),
    ("scale_reversed", "/poll --scale 5-1 Wie?", "low < high"),
    ("scale_one_label", "/poll --scale 1-5 Wie? | schlecht", "two labels"),
    ("scale_three_labels", "/poll --scale 1-5 Wie? | a | b | c", "two labels"),
    ("two_types", "/poll --multi --words Was?", "only one of"),
    ("words_with_options", "/poll --words Was? | A | B", "takes no options"),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in QUICK_PROBLEMS], ids=[c[0] for c in QUICK_PROBLEMS]
)
def test_quick_poll_problems(text, message):
    result = parse_quick_poll(text)
    assert isinstance(result, list), result
    assert any(message in problem for problem in result), result


def test_quick_poll_reports_every_problem():
    result = parse_quick_poll("/poll --timer 1 --bogus " + "W" * 301 + " | A")
    assert isinstance(result, list)
    assert len(result) == 4, result


def test_quick_poll_round_trips():
    spec = quick("/poll --named --timer 60 Was? | A | B")
    assert PollSpec.model_validate(spec.model_dump(mode="json")) == spec


@pytest.mark.parametrize("text", ["", "   ", "/poll   \n  "])
def test_quick_poll_blank(text):
    result = parse_quick_poll(text)
    assert isinstance(result, list) and result
