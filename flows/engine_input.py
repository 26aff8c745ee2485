"""Accepting input for the engine: whether what a person sent answers the current step."""

from __future__ import annotations

from flows.answers import parse_date_text, parse_number, parse_yes_no
from flows.engine_prompts import locale_for, scale_points
from flows.engine_types import (
    DONE,
    EMPTY,
    EXPECTS,
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_OPTIONAL,
    OPT,
    OUT_OF_RANGE,
    SKIP,
    TOG,
    TOO_FEW,
    TOO_LONG,
    TOO_MANY,
    UNKNOWN_OPTION,
    USE_BUTTONS,
    WRONG_KIND,
    Accepted,
    ButtonInput,
    Context,
    Input,
    OtherInput,
    PhotoInput,
    Rejected,
    RunState,
    TextInput,
    VoiceInput,
)
from flows.model import Flow, Step, StepType


def _kind(inp: Input) -> str:
    if isinstance(inp, TextInput):
        return "text"
    if isinstance(inp, ButtonInput):
        return "button"
    if isinstance(inp, VoiceInput):
        return "voice"
    if isinstance(inp, PhotoInput):
        return "photo"
    return inp.kind


def check_input(
    flow: Flow, step: Step, state: RunState, inp: Input, ctx: Context
) -> Accepted | Rejected:
    """Whether `inp` answers `step`: the value to record, or why not."""
    if isinstance(inp, ButtonInput) and inp.action == SKIP:
        return Accepted(None) if step.optional else Rejected(NOT_OPTIONAL, {})
    if isinstance(inp, VoiceInput | PhotoInput | OtherInput):
        return _accept_media(step, inp)
    if step.type is StepType.MULTIPLE_CHOICE:
        return _accept_multi(step, state, inp)
    if isinstance(inp, ButtonInput):
        return _accept_button(step, inp.action)
    return _accept_text(flow, step, inp.text.strip(), ctx)


def _accept_media(step: Step, inp: VoiceInput | PhotoInput | OtherInput) -> Accepted | Rejected:
    if step.type is StepType.VOICE and isinstance(inp, VoiceInput):
        return Accepted(
            {
                "file_id": inp.file_id,
                "file_unique_id": inp.file_unique_id,
                "duration": inp.duration,
                "mime_type": inp.mime_type,
            }
        )
    if step.type is StepType.PHOTO and isinstance(inp, PhotoInput):
        return Accepted(
            {
                "file_id": inp.file_id,
                "file_unique_id": inp.file_unique_id,
                "width": inp.width,
                "height": inp.height,
            }
        )
    return Rejected(WRONG_KIND, {"expected": EXPECTS[step.type], "got": _kind(inp)})


def _accept_text(flow: Flow, step: Step, text: str, ctx: Context) -> Accepted | Rejected:
    if step.type in (StepType.VOICE, StepType.PHOTO):
        return Rejected(WRONG_KIND, {"expected": EXPECTS[step.type], "got": "text"})
    if not text:
        return Rejected(EMPTY, {})
    if step.type is StepType.TEXT:
        limit = step.effective_max_length()
        if len(text) > limit:
            return Rejected(TOO_LONG, {"max": limit, "length": len(text)})
        return Accepted(text)
    if step.type is StepType.SINGLE_CHOICE:
        return _choice_from_text(flow, step, text, ctx)
    if step.type is StepType.SCALE:
        number = parse_number(text, integer=True)
        if number is None:
            return Rejected(USE_BUTTONS, {})
        return _in_range(number, step.min, step.max)
    if step.type is StepType.NUMBER:
        number = parse_number(text, integer=step.integer)
        if number is None:
            return Rejected(
                NOT_A_NUMBER, {"integer": step.integer, "min": step.min, "max": step.max}
            )
        return _in_range(number, step.min, step.max)
    if step.type is StepType.YES_NO:
        answer = parse_yes_no(text)
        return Accepted(answer) if answer else Rejected(USE_BUTTONS, {})
    if step.type is StepType.DATE:
        parsed = parse_date_text(text, locale_for(flow, ctx))
        return Accepted(parsed.isoformat()) if parsed else Rejected(NOT_A_DATE, {})
    raise AssertionError(f"unhandled step type {step.type}")  # pragma: no cover


def _accept_button(step: Step, action: str) -> Accepted | Rejected:
    code = action.removeprefix(OPT) if action.startswith(OPT) else None
    if code is None:
        return Rejected(UNKNOWN_OPTION, {"action": action})
    if step.type is StepType.SINGLE_CHOICE and code in step.options:
        return Accepted(code)
    if step.type is StepType.YES_NO and code in ("yes", "no"):
        return Accepted(code)
    if step.type is StepType.SCALE:
        number = parse_number(code, integer=True)
        if number is not None and isinstance(number, int) and number in scale_points(step):
            return Accepted(number)
    return Rejected(UNKNOWN_OPTION, {"action": action})


def _accept_multi(step: Step, state: RunState, inp: TextInput | ButtonInput) -> Accepted | Rejected:
    if isinstance(inp, TextInput):
        return Rejected(USE_BUTTONS, {})
    low, high = step.choice_bounds()
    action = inp.action
    if action == DONE:
        count = len(state.selection)
        if count < low:
            return Rejected(TOO_FEW, {"min": low})
        if count > high:
            return Rejected(TOO_MANY, {"max": high})
        return Accepted([c for c in step.options if c in state.selection])
    if action.startswith(TOG) and action.removeprefix(TOG) in step.options:
        code = action.removeprefix(TOG)
        if code not in state.selection and len(state.selection) >= high:
            return Rejected(TOO_MANY, {"max": high})
        chosen = set(state.selection) ^ {code}
        return Accepted([c for c in step.options if c in chosen])
    return Rejected(UNKNOWN_OPTION, {"action": action})


def _choice_from_text(flow: Flow, step: Step, text: str, ctx: Context) -> Accepted | Rejected:
    # Typing the label instead of pressing the button is fine (old clients, screen readers).
    wanted = text.casefold()
    locale = locale_for(flow, ctx)
    for code, label in step.options.items():
        localized = flow.text(f"{step.id}.option.{code}", locale)
        if wanted in (label.casefold(), localized.casefold()):
            return Accepted(code)
    return Rejected(USE_BUTTONS, {})


def _in_range(
    number: int | float, low: int | float | None, high: int | float | None
) -> Accepted | Rejected:
    if (low is not None and number < low) or (high is not None and number > high):
        return Rejected(OUT_OF_RANGE, {"min": low, "max": high})
    return Accepted(number)
