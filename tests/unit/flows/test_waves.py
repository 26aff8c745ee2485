"""A question can refer to the same person's answer in the previous wave of the flow."""

from __future__ import annotations

import textwrap

import pytest

from flows import engine
from flows.conditions import ConditionError, parse_condition
from flows.engine import Accepted, ButtonInput, RunState, TextInput
from flows.loader import parse_flow

from .conftest import EN, flow_from_yaml

FLOW = """
id: panel
title: Panel
version: "2"
language: en
steps:
  - id: follow_up
    type: text
    text: "Last time you wanted {previous.plans} — how is that going?"
    when: previous.plans == "training"
  - id: fresh
    type: text
    text: "What are you planning?"
    when: previous.plans == None
  - id: plans
    type: single_choice
    text: "And now?"
    options:
      training: an apprenticeship
      school: more school
"""


def _answer(flow, state, inp):
    result = engine.accept(flow, state, inp, EN)
    assert isinstance(result, Accepted), result
    return engine.submit(flow, state, result.value, EN)


def test_the_previous_waves_answer_is_quoted_and_tested():
    flow = flow_from_yaml(FLOW)
    turn = engine.start(flow, EN, previous={"plans": "training"})
    assert turn.state.current == "follow_up"
    assert turn.prompt.text == "Last time you wanted an apprenticeship — how is that going?"
    turn = _answer(flow, turn.state, TextInput("Going well."))
    assert turn.state.current == "plans"  # `fresh` is for people without a previous wave
    turn = _answer(flow, turn.state, ButtonInput("opt:school"))
    assert turn.state.answers == {"follow_up": "Going well.", "plans": "school"}
    assert turn.state.previous == {"plans": "training"}  # never mixed into this wave's answers


def test_a_first_wave_takes_the_other_path():
    flow = flow_from_yaml(FLOW)
    turn = engine.start(flow, EN)
    assert turn.state.current == "fresh"
    turn = engine.start(flow, EN, previous={"plans": "school"})
    assert turn.state.current == "plans"  # neither condition holds for "school"


def test_the_previous_wave_survives_the_stored_state():
    state = RunState(current="plans", previous={"plans": "training"})
    assert RunState.from_dict(state.to_dict()).previous == {"plans": "training"}
    assert "previous" not in RunState(current="plans").to_dict()  # first waves store nothing new


@pytest.mark.parametrize(
    ("text", "when", "problem"),
    [
        ("{previous.nope}", None, "unknown step 'nope'"),
        ("Hi", "previous.nope == 1", "unknown step 'nope'"),
        ("{previous.story}", None, "is a voice note"),
    ],
)
def test_flows_check_refuses_references_to_what_no_wave_answered(text, when, problem):
    flow = textwrap.dedent(f"""
        id: bad
        title: Bad
        version: "1"
        language: en
        steps:
          - id: story
            type: voice
            text: Tell me
          - id: ask
            type: text
            text: "{text}"
    """)
    if when:
        flow += f"    when: {when}\n"
    _flow, problems = parse_flow(flow, "bad.yaml")
    assert any(problem in p.message for p in problems), [p.message for p in problems]


@pytest.mark.parametrize(
    "source", ["other.plans == 1", "previous.plans.x == 1", "previous[0] == 1", "previous == 1"]
)
def test_only_previous_dot_a_name_is_allowed(source):
    if source == "previous == 1":  # a step may be called `previous`: a plain name
        assert parse_condition(source).names == ("previous",)
        return
    with pytest.raises(ConditionError):
        parse_condition(source)
