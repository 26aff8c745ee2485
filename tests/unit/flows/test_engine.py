"""The engine: every step type, conditions, placeholders, back, skip, toggles, pinning."""

from __future__ import annotations

import json

import pytest

from flows import engine
from flows.engine import (
    Accepted,
    Button,
    ButtonInput,
    Context,
    OtherInput,
    PhotoInput,
    Rejected,
    RunState,
    TextInput,
    VoiceInput,
)
from flows.model import Flow, Step

from .conftest import DE, EN, flow_from_yaml

ALL_TYPES = """
id: all-types
title: Alle Typen
version: "1"
steps:
  - id: welcome
    type: message
    text: Hallo {first_name}!
  - id: self_image
    type: text
    text: Wer bist du?
    max_length: 10
  - id: plan
    type: single_choice
    text: Was hast du vor?
    options:
      training: Ausbildung
      school: Schule
  - id: plan_detail
    type: text
    when: plan == "training"
    text: Welche Ausbildung? Du hast "{plan}" gewählt.
    optional: true
  - id: support
    type: multiple_choice
    text: Wobei Hilfe?
    options:
      a: Bewerbung
      b: Praktikum
      c: Noten
    max: 2
  - id: confidence
    type: scale
    text: Wie sicher?
    min: 1
    max: 5
    min_label: gar nicht
    max_label: sehr
  - id: hours
    type: number
    text: Wie viele Stunden?
    min: 0
    max: 40
    integer: false
  - id: has_job
    type: yes_no
    text: Job?
  - id: start_date
    type: date
    text: Wann?
  - id: story
    type: voice
    text: Erzähl!
    optional: true
  - id: picture
    type: photo
    text: Foto?
    optional: true
  - id: bye
    type: message
    text: "Danke {first_name}: {support}, {hours}, {start_date}, {has_job}, {plan_detail}."
"""


@pytest.fixture
def flow() -> Flow:
    return flow_from_yaml(ALL_TYPES)


def answer(flow: Flow, state: RunState, inp, ctx: Context = DE) -> engine.Turn:
    """Accept an input (must be valid) and submit it."""
    result = engine.accept(flow, state, inp, ctx)
    assert isinstance(result, Accepted), result
    return engine.submit(flow, state, result.value, ctx)


def run_to(flow: Flow, step_id: str, ctx: Context = DE) -> RunState:
    """Answer the ALL_TYPES flow with defaults until `step_id` is current."""
    defaults = {
        "self_image": TextInput("neugierig"),
        "plan": ButtonInput("opt:training"),
        "plan_detail": TextInput("Mechatronik"),
        "confidence": ButtonInput("opt:4"),
        "hours": TextInput("2,5"),
        "has_job": ButtonInput("opt:yes"),
        "start_date": TextInput("1.3.2026"),
        "story": VoiceInput("f1", "u1", 12, "audio/ogg"),
        "picture": PhotoInput("p1", "pu1", 640, 480),
    }
    turn = engine.start(flow, ctx)
    state = turn.state
    while state.current != step_id:
        if state.current == "support":
            state = engine.toggle(flow, state, "a")
            state = engine.toggle(flow, state, "c")
            turn = answer(flow, state, ButtonInput("done"), ctx)
        else:
            turn = answer(flow, state, defaults[state.current], ctx)
        state = turn.state
    return state


# --------------------------------------------------------------------- a whole run


def test_start_sends_messages_then_first_question(flow):
    turn = engine.start(flow, DE)
    assert turn.messages == ["Hallo Mia!"]
    assert turn.prompt is not None
    assert turn.prompt.step_id == "self_image"
    assert turn.prompt.step_index == 1
    assert turn.prompt.expects == "text"
    assert turn.prompt.buttons == []
    assert turn.recorded == []
    assert not turn.finished
    assert turn.state.current == "self_image"


def test_full_run_records_every_type(flow):
    state = run_to(flow, "picture")
    turn = answer(flow, state, PhotoInput("p1", "pu1", 640, 480))
    assert turn.finished
    assert turn.prompt is None
    assert turn.state.current is None
    assert turn.messages == ["Danke Mia: Bewerbung, Noten, 2,5, 01.03.2026, Ja, Mechatronik."]
    assert turn.recorded[0].step_id == "picture"
    assert turn.state.answers == {
        "self_image": "neugierig",
        "plan": "training",
        "plan_detail": "Mechatronik",
        "support": ["a", "c"],
        "confidence": 4,
        "hours": 2.5,
        "has_job": "yes",
        "start_date": "2026-03-01",
        "story": {
            "file_id": "f1",
            "file_unique_id": "u1",
            "duration": 12,
            "mime_type": "audio/ogg",
        },
        "picture": {"file_id": "p1", "file_unique_id": "pu1", "width": 640, "height": 480},
    }
    assert turn.state.history == [
        "self_image",
        "plan",
        "plan_detail",
        "support",
        "confidence",
        "hours",
        "has_job",
        "start_date",
        "story",
        "picture",
    ]
    # the whole state survives JSON (the bot stores it in the database)
    again = RunState.from_dict(json.loads(json.dumps(turn.state.to_dict())))
    assert again == turn.state


def test_engine_functions_never_change_the_callers_state(flow):
    state = run_to(flow, "support")
    before = state.to_dict()
    engine.toggle(flow, state, "a")
    engine.accept(flow, state, ButtonInput("tog:b"), DE)
    engine.submit(flow, state, ["a"], DE)
    engine.back(flow, state, DE)
    assert state.to_dict() == before


def test_recorded_carries_the_exact_wording_shown(flow):
    state = run_to(flow, "plan_detail")
    shown = engine.prompt(flow, state, DE).text
    assert shown == 'Welche Ausbildung? Du hast "Ausbildung" gewählt.'
    turn = answer(flow, state, TextInput("  Tischler  "))
    (rec,) = turn.recorded
    assert rec == engine.Recorded("plan_detail", "Tischler", False, shown)


# --------------------------------------------------------------------- text


def test_text_rejects_empty_and_too_long(flow):
    state = run_to(flow, "self_image")
    assert engine.accept(flow, state, TextInput("   "), DE) == Rejected("empty", {})
    assert engine.accept(flow, state, TextInput("x" * 11), DE) == Rejected(
        "too_long", {"max": 10, "length": 11}
    )
    assert engine.accept(flow, state, TextInput(" ok "), DE) == Accepted("ok")


@pytest.mark.parametrize(
    ("inp", "got"),
    [
        (VoiceInput("f", "u", 3), "voice"),
        (PhotoInput("f", "u", 1, 1), "photo"),
        (OtherInput("sticker"), "sticker"),
    ],
)
def test_text_rejects_other_kinds(flow, inp, got):
    state = run_to(flow, "self_image")
    assert engine.accept(flow, state, inp, DE) == Rejected(
        "wrong_kind", {"expected": "text", "got": got}
    )


def test_stray_button_on_text_question_is_unknown_option(flow):
    state = run_to(flow, "self_image")
    result = engine.accept(flow, state, ButtonInput("opt:school"), DE)
    assert isinstance(result, Rejected)
    assert result.reason == "unknown_option"


# --------------------------------------------------------------------- single choice


def test_single_choice_buttons_and_typed_labels(flow):
    state = run_to(flow, "plan")
    p = engine.prompt(flow, state, DE)
    assert p.expects == "choice"
    assert p.buttons == [
        [Button("Ausbildung", "opt:training")],
        [Button("Schule", "opt:school")],
    ]
    assert engine.accept(flow, state, ButtonInput("opt:school"), DE) == Accepted("school")
    assert engine.accept(flow, state, TextInput("schule"), DE) == Accepted("school")
    assert engine.accept(flow, state, TextInput("vielleicht"), DE) == Rejected("use_buttons", {})
    assert engine.accept(flow, state, ButtonInput("opt:nope"), DE).reason == "unknown_option"
    assert engine.accept(flow, state, ButtonInput("skip"), DE) == Rejected("not_optional", {})
    assert engine.accept(flow, state, VoiceInput("f", "u"), DE).reason == "wrong_kind"


# --------------------------------------------------------------------- conditions


def test_condition_false_skips_step_without_recording(flow):
    state = run_to(flow, "plan")
    turn = answer(flow, state, ButtonInput("opt:school"))
    assert turn.state.current == "support"
    assert "plan_detail" not in turn.state.answers
    assert [r.step_id for r in turn.recorded] == ["plan"]


def test_going_back_and_changing_clears_answers_now_off_the_path(flow):
    state = run_to(flow, "support")
    assert state.answers["plan_detail"] == "Mechatronik"
    back1 = engine.back(flow, state, DE)  # -> plan_detail
    back2 = engine.back(flow, back1.state, DE)  # -> plan
    assert back2.prompt.step_id == "plan"
    assert back2.state.answers["plan"] == "training"  # old answer stays until replaced
    turn = answer(flow, back2.state, ButtonInput("opt:school"))
    assert turn.cleared == ["plan_detail"]
    assert "plan_detail" not in turn.state.answers
    assert turn.state.history == ["self_image", "plan"]


# --------------------------------------------------------------------- multiple choice


def test_multiple_choice_toggles_and_done(flow):
    state = run_to(flow, "support")
    p = engine.prompt(flow, state, DE)
    assert p.expects == "multi"
    assert [row[0].label for row in p.buttons] == [
        "▫️ Bewerbung",
        "▫️ Praktikum",
        "▫️ Noten",
        "✔ Fertig",
    ]
    assert engine.accept(flow, state, ButtonInput("done"), DE) == Rejected("too_few", {"min": 1})
    result = engine.accept(flow, state, ButtonInput("tog:c"), DE)
    assert result == Accepted(["c"])
    state = engine.toggle(flow, state, "c")
    state = engine.toggle(flow, state, "a")
    assert state.selection == ["a", "c"]  # kept in option order
    p = engine.prompt(flow, state, DE)
    assert [row[0].label for row in p.buttons][:3] == ["✅ Bewerbung", "▫️ Praktikum", "✅ Noten"]
    # max 2: a third selection is refused right away
    assert engine.accept(flow, state, ButtonInput("tog:b"), DE) == Rejected("too_many", {"max": 2})
    # untoggling is always fine
    assert engine.accept(flow, state, ButtonInput("tog:a"), DE) == Accepted(["c"])
    assert engine.accept(flow, state, ButtonInput("done"), DE) == Accepted(["a", "c"])
    assert engine.accept(flow, state, TextInput("Bewerbung"), DE) == Rejected("use_buttons", {})
    assert engine.accept(flow, state, ButtonInput("tog:zz"), DE).reason == "unknown_option"


def test_done_rejects_too_many_selections():
    flow = flow_from_yaml(
        """
        id: m
        title: M
        version: "1"
        steps:
          - id: pick
            type: multiple_choice
            text: Pick
            options: {a: A, b: B, c: C}
            min: 2
            max: 2
        """
    )
    state = engine.start(flow, EN).state
    state.selection = ["a", "b", "c"]  # e.g. a state stored before the flow changed
    assert engine.accept(flow, state, ButtonInput("done"), EN) == Rejected("too_many", {"max": 2})
    state.selection = ["a"]
    assert engine.accept(flow, state, ButtonInput("done"), EN) == Rejected("too_few", {"min": 2})


def test_back_to_multiple_choice_preselects_the_old_answer(flow):
    state = run_to(flow, "confidence")
    turn = engine.back(flow, state, DE)
    assert turn.prompt.step_id == "support"
    assert turn.state.selection == ["a", "c"]
    assert turn.prompt.buttons[0][0].label == "✅ Bewerbung"


def test_toggle_refuses_unknown_codes(flow):
    state = run_to(flow, "support")
    with pytest.raises(engine.FlowStateError):
        engine.toggle(flow, state, "zz")


# --------------------------------------------------------------------- scale


def test_scale_buttons_legend_and_typed_numbers(flow):
    state = run_to(flow, "confidence")
    p = engine.prompt(flow, state, DE)
    assert p.expects == "scale"
    assert p.text == "Wie sicher?\n\n1 = gar nicht … 5 = sehr"
    assert p.buttons == [[Button(str(n), f"opt:{n}") for n in range(1, 6)]]
    assert engine.accept(flow, state, ButtonInput("opt:5"), DE) == Accepted(5)
    assert engine.accept(flow, state, ButtonInput("opt:6"), DE).reason == "unknown_option"
    assert engine.accept(flow, state, TextInput("3"), DE) == Accepted(3)
    assert engine.accept(flow, state, TextInput("9"), DE) == Rejected(
        "out_of_range", {"min": 1, "max": 5}
    )
    assert engine.accept(flow, state, TextInput("gut"), DE) == Rejected("use_buttons", {})


def test_scale_with_more_than_six_points_uses_two_rows():
    flow = flow_from_yaml(
        """
        id: s
        title: S
        version: "1"
        steps:
          - id: nps
            type: scale
            text: Wie wahrscheinlich?
            min: 0
            max: 10
            optional: true
        """
    )
    p = engine.start(flow, EN).prompt
    assert [len(row) for row in p.buttons] == [6, 5, 1]
    assert p.buttons[0][0] == Button("0", "opt:0")
    # the flow is only offered in German, so its buttons are German too
    assert p.buttons[-1] == [Button("Überspringen", "skip")]
    assert p.text == "Wie wahrscheinlich?"  # no labels, no legend


# --------------------------------------------------------------------- number


def test_number_parsing_and_range(flow):
    state = run_to(flow, "hours")
    assert engine.accept(flow, state, TextInput("2,5"), DE) == Accepted(2.5)
    assert engine.accept(flow, state, TextInput("2.5"), DE) == Accepted(2.5)
    assert engine.accept(flow, state, TextInput("12"), DE) == Accepted(12)
    assert engine.accept(flow, state, TextInput("41"), DE) == Rejected(
        "out_of_range", {"min": 0, "max": 40}
    )
    rejected = engine.accept(flow, state, TextInput("zehn"), DE)
    assert rejected.reason == "not_a_number"


def test_integer_number_refuses_decimals():
    flow = flow_from_yaml(
        """
        id: n
        title: N
        version: "1"
        steps:
          - id: age
            type: number
            text: Alter?
            min: 10
            max: 30
        """
    )
    state = engine.start(flow, DE).state
    assert engine.accept(flow, state, TextInput("15"), DE) == Accepted(15)
    assert engine.accept(flow, state, TextInput("15,5"), DE) == Rejected(
        "not_a_number", {"integer": True, "min": 10, "max": 30}
    )
    assert engine.accept(flow, state, TextInput("9"), DE).reason == "out_of_range"


# --------------------------------------------------------------------- yes / no


def test_yes_no_buttons_and_typed_words(flow):
    state = run_to(flow, "has_job")
    p = engine.prompt(flow, state, DE)
    assert p.expects == "yes_no"
    assert p.buttons == [[Button("Ja", "opt:yes"), Button("Nein", "opt:no")]]
    assert engine.accept(flow, state, ButtonInput("opt:no"), DE) == Accepted("no")
    for typed, value in [("ja", "yes"), ("Yes!", "yes"), ("nein", "no"), ("No", "no")]:
        assert engine.accept(flow, state, TextInput(typed), DE) == Accepted(value)
    assert engine.accept(flow, state, TextInput("vielleicht"), DE) == Rejected("use_buttons", {})


def test_yes_no_buttons_in_english(flow):
    flow = flow.model_copy(update={"languages": ["de", "en"]})
    state = run_to(flow, "has_job", EN)
    assert engine.prompt(flow, state, EN).buttons == [
        [Button("Yes", "opt:yes"), Button("No", "opt:no")]
    ]


# --------------------------------------------------------------------- date


@pytest.mark.parametrize("typed", ["2026-03-01", "1.3.2026", "01.03.2026", "1/3/2026", "1.3.26"])
def test_date_formats(flow, typed):
    state = run_to(flow, "start_date")
    assert engine.accept(flow, state, TextInput(typed), DE) == Accepted("2026-03-01")


@pytest.mark.parametrize("typed", ["morgen", "31.02.2026", "13/13/2026"])
def test_date_rejects_non_dates(flow, typed):
    state = run_to(flow, "start_date")
    assert engine.accept(flow, state, TextInput(typed), DE) == Rejected("not_a_date", {})


# --------------------------------------------------------------------- voice / photo / skip


def test_voice_and_skip(flow):
    state = run_to(flow, "story")
    p = engine.prompt(flow, state, DE)
    assert p.expects == "voice"
    assert p.buttons == [[Button("Überspringen", "skip")]]
    assert engine.accept(flow, state, TextInput("hallo"), DE) == Rejected(
        "wrong_kind", {"expected": "voice", "got": "text"}
    )
    assert engine.accept(flow, state, PhotoInput("f", "u"), DE).reason == "wrong_kind"
    assert engine.accept(flow, state, ButtonInput("skip"), DE) == Accepted(None)
    turn = engine.submit(flow, state, None, DE)
    assert turn.recorded[0].skipped is True
    assert turn.recorded[0].value is None
    assert turn.state.answers["story"] is None
    assert turn.prompt.expects == "photo"


def test_photo_accepts_only_photos(flow):
    state = run_to(flow, "picture")
    assert engine.accept(flow, state, VoiceInput("f", "u"), DE).reason == "wrong_kind"
    assert engine.accept(flow, state, OtherInput("document"), DE) == Rejected(
        "wrong_kind", {"expected": "photo", "got": "document"}
    )
    assert engine.accept(flow, state, PhotoInput("f", "u", 10, 20), DE) == Accepted(
        {"file_id": "f", "file_unique_id": "u", "width": 10, "height": 20}
    )


def test_unanswered_and_skipped_steps_render_as_empty_placeholders(flow):
    state = run_to(flow, "plan")
    state = answer(flow, state, ButtonInput("opt:school")).state  # plan_detail never asked
    state = engine.toggle(flow, state, "b")
    for inp in [
        ButtonInput("done"),
        ButtonInput("opt:1"),
        TextInput("0"),
        ButtonInput("opt:no"),
        TextInput("2026-12-24"),
        ButtonInput("skip"),
    ]:
        state = answer(flow, state, inp).state
    turn = answer(flow, state, ButtonInput("skip"))
    assert turn.finished
    assert turn.messages == ["Danke Mia: Praktikum, 0, 24.12.2026, Nein, ."]


def test_placeholders_in_english_use_translated_labels_and_formats(flow):
    flow = flow.model_copy(
        update={
            "translations": {
                "en": {
                    "support.option.a": "Applications",
                    "bye.text": "{hours} {start_date} {support} {has_job}",
                }
            }
        },
        deep=True,
    )
    state = run_to(flow, "picture", EN)
    turn = engine.submit(flow, state, None, EN)
    assert turn.messages == ["2.5 Mar 1, 2026 Applications, Noten Yes"]


# --------------------------------------------------------------------- back / finished


def test_back_at_first_question_stays(flow):
    state = engine.start(flow, DE).state
    turn = engine.back(flow, state, DE)
    assert turn.state == state
    assert turn.prompt.step_id == "self_image"
    assert turn.messages == []


def test_back_returns_to_previous_answered_question(flow):
    state = run_to(flow, "has_job")
    turn = engine.back(flow, state, DE)
    assert turn.prompt.step_id == "hours"
    assert turn.state.answers["hours"] == 2.5
    assert turn.state.history[-1] == "confidence"
    # answering again replaces the old answer and goes on
    turn = answer(flow, turn.state, TextInput("3"))
    assert turn.state.answers["hours"] == 3
    assert turn.prompt.step_id == "has_job"


def test_finished_run_rejects_input_and_submit(flow):
    state = run_to(flow, "picture")
    state = engine.submit(flow, state, None, DE).state
    assert state.finished
    assert engine.accept(flow, state, TextInput("x"), DE) == Rejected("finished", {})
    assert engine.prompt(flow, state, DE) is None
    with pytest.raises(engine.FlowStateError):
        engine.submit(flow, state, "x", DE)
    turn = engine.back(flow, state, DE)
    assert turn.finished and turn.prompt is None


# --------------------------------------------------------------------- next jumps


def test_next_jumps_forward_and_to_end():
    flow = flow_from_yaml(
        """
        id: j
        title: J
        version: "1"
        steps:
          - id: q1
            type: yes_no
            text: Weiter?
          - id: stop
            type: message
            when: q1 == "no"
            text: Schade.
            next: end
          - id: q2
            type: text
            when: q1 == "yes"
            text: Warum?
            next: q4
          - id: q3
            type: text
            text: Nur wenn q2 übersprungen wurde
          - id: q4
            type: text
            text: Und sonst?
        """
    )
    state = engine.start(flow, DE).state
    turn = answer(flow, state, ButtonInput("opt:no"), DE)
    assert turn.messages == ["Schade."]
    assert turn.finished
    turn = answer(flow, state, ButtonInput("opt:yes"), DE)
    assert turn.prompt.step_id == "q2"
    turn = answer(flow, turn.state, TextInput("weil"), DE)
    assert turn.prompt.step_id == "q4"


def test_step_cap_stops_a_looping_definition():
    # the validator forbids backward jumps; a hand-built definition must still not hang
    flow = Flow(
        id="loop",
        title="Loop",
        version="1",
        steps=[
            Step(id="a", type="message", text="a", next="b"),
            Step(id="b", type="message", text="b", next="a"),
            Step(id="q", type="text", text="q"),
        ],
    )
    with pytest.raises(engine.StepLimitExceeded):
        engine.start(flow, DE)


def test_flow_without_questions_finishes_at_once():
    flow = Flow(id="m", title="M", version="1", steps=[Step(id="a", type="message", text="Hi")])
    turn = engine.start(flow, DE)
    assert turn.finished and turn.messages == ["Hi"] and turn.prompt is None


# --------------------------------------------------------------------- pinning / locales


def test_model_dump_round_trip_pins_the_definition(flow):
    flow = flow.model_copy(update={"translations": {"en": {"plan.text": "What is your plan?"}}})
    stored = json.loads(json.dumps(flow.model_dump(mode="json")))
    pinned = Flow.model_validate(stored)
    assert pinned == flow
    assert pinned.content_hash() == flow.content_hash()
    # a run started on the original continues on the pinned copy
    state = run_to(flow, "plan", EN)
    assert engine.prompt(pinned, RunState.from_dict(state.to_dict()), EN).text == (
        "What is your plan?"
    )


def test_content_hash_changes_with_texts_and_translations_not_with_lines(flow):
    base = flow.content_hash()
    moved = flow.model_copy(
        update={"steps": [s.model_copy(update={"line": s.line + 3}) for s in flow.steps]}
    )
    assert moved.content_hash() == base
    assert flow.model_copy(update={"source_path": "/x.yaml"}).content_hash() == base
    assert flow.model_copy(update={"translations": {"en": {"title": "All"}}}).content_hash() != base
    changed = flow.model_copy(deep=True)
    changed.steps[1].text = "Wer bist du eigentlich?"
    assert changed.content_hash() != base


def test_unknown_locale_falls_back_to_source_language(flow):
    ctx = Context(locale="fr", first_name="Mia")
    state = run_to(flow, "has_job", ctx)
    p = engine.prompt(flow, state, ctx)
    assert p.text == "Job?"
    assert p.buttons[0][0].label == "Ja"  # engine words follow the language shown


def test_reprompt_is_rendered_into_rejections():
    flow = flow_from_yaml(
        """
        id: r
        title: R
        version: "1"
        steps:
          - id: name
            type: text
            text: Name?
          - id: why
            type: text
            text: Warum?
            reprompt: Bitte ein paar Worte, {first_name}, zu {name}.
        """
    )
    state = answer(flow, engine.start(flow, DE).state, TextInput("Kim"), DE).state
    result = engine.accept(flow, state, TextInput(" "), DE)
    assert result == Rejected("empty", {"reprompt": "Bitte ein paar Worte, Mia, zu Kim."})
