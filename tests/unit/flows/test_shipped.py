"""The flows shipped with the bot: valid, complete in English, and runnable to the end."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from flows import SHIPPED_DIR, engine
from flows.engine import Accepted, ButtonInput, PhotoInput, TextInput, VoiceInput
from flows.loader import check_paths, flow_files, load_flow
from flows.model import Flow, StepType
from flows.placeholders import placeholder_names
from flows.translations import pot_path, translation_report

from .conftest import DE, EN

SHIPPED = sorted(path.stem for path in flow_files([SHIPPED_DIR]))


def test_expected_flows_are_shipped():
    assert SHIPPED == ["partner-checkup", "reporter-interview", "school-survey"]


def test_shipped_flows_have_no_problems():
    assert [str(p) for p in check_paths([SHIPPED_DIR])] == []


@pytest.mark.parametrize("name", SHIPPED)
def test_english_translation_is_complete(name):
    flow = load_flow(SHIPPED_DIR / f"{name}.yaml")
    assert flow.language == "de"
    empty = {"missing": [], "fuzzy": [], "stale": [], "invalid": []}
    assert translation_report(flow, ["en"]) == {"en": empty}
    assert "en" in flow.locales()


@pytest.mark.parametrize("name", SHIPPED)
def test_template_matches_the_flow(name):
    # staff regenerate the .pot with `backbone flows extract` after editing a flow
    flow = load_flow(SHIPPED_DIR / f"{name}.yaml")
    with pot_path(SHIPPED_DIR, flow.id).open("rb") as fh:
        template = read_po(fh)
    found = {m.context: m.id for m in template if m.id}
    assert found == flow.source_texts()


def test_reporter_interview_touches_every_feature():
    flow = load_flow(SHIPPED_DIR / "reporter-interview.yaml")
    assert {step.type for step in flow.steps} == set(StepType)
    assert any(step.when for step in flow.steps)
    step_ids = {step.id for step in flow.steps}
    assert any(set(placeholder_names(step.text)) & step_ids for step in flow.steps), (
        "no placeholder of an earlier answer"
    )
    photo = next(step for step in flow.steps if step.type is StepType.PHOTO)
    assert photo.optional
    assert next(step for step in flow.steps if step.type is StepType.VOICE).optional


def _auto_input(flow: Flow, state: engine.RunState, ctx: engine.Context):
    """A plausible answer for whatever the current step is."""
    step = flow.step(state.current)
    match step.type:
        case StepType.TEXT:
            return TextInput("Antwort")
        case StepType.SINGLE_CHOICE:
            return ButtonInput("opt:" + next(iter(step.options)))
        case StepType.SCALE:
            return ButtonInput(f"opt:{step.max}")
        case StepType.NUMBER:
            return TextInput(str(step.max if step.max is not None else 1))
        case StepType.YES_NO:
            return ButtonInput("opt:yes")
        case StepType.DATE:
            return TextInput("15.03.2026")
        case StepType.VOICE:
            return VoiceInput("v", "uv", 3, "audio/ogg")
        case StepType.PHOTO:
            return PhotoInput("p", "up", 10, 10)
    raise AssertionError(step.type)


@pytest.mark.parametrize("ctx", [DE, EN], ids=["de", "en"])
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_flow_runs_to_the_end(name, ctx):
    flow = load_flow(SHIPPED_DIR / f"{name}.yaml")
    turn = engine.start(flow, ctx)
    answered = 0
    while not turn.finished:
        state = turn.state
        if flow.step(state.current).type is StepType.MULTIPLE_CHOICE:
            state = engine.toggle(flow, state, next(iter(flow.step(state.current).options)))
            result = engine.accept(flow, state, ButtonInput("done"), ctx)
        else:
            result = engine.accept(flow, state, _auto_input(flow, state, ctx), ctx)
        assert isinstance(result, Accepted), (state.current, result)
        assert "{" not in turn.prompt.text
        turn = engine.submit(flow, state, result.value, ctx)
        answered += 1
        assert answered < 50
    assert answered >= 5
    if ctx is EN:
        assert "Thank" in turn.messages[-1]
