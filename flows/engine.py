"""The flow engine: pure functions from (flow, state, input) to the next turn.

The bot stores `RunState` (as JSON) and calls `start`, `accept`, `toggle`, `submit`, `back`
and `prompt`; everything is rendered into plain objects (texts, buttons) so the Telegram side
only has to send them. Nothing here does I/O.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from flows.answers import (
    format_iso_date,
    format_number,
    parse_date_text,
    parse_number,
    parse_yes_no,
)
from flows.conditions import parse_condition
from flows.model import END, Flow, Step, StepType
from flows.placeholders import FIRST_NAME, placeholder_names, render
from flows.words import word

# Against loops: a validated flow only jumps forward, but a pinned or hand-built definition
# must never make the engine spin.
STEP_CAP = 1000

# Rejection reasons (the bot turns them into localized hints).
WRONG_KIND = "wrong_kind"
TOO_LONG = "too_long"
EMPTY = "empty"
NOT_A_NUMBER = "not_a_number"
OUT_OF_RANGE = "out_of_range"
NOT_A_DATE = "not_a_date"
UNKNOWN_OPTION = "unknown_option"
TOO_FEW = "too_few"
TOO_MANY = "too_many"
USE_BUTTONS = "use_buttons"
NOT_OPTIONAL = "not_optional"
FINISHED = "finished"

# Button actions.
OPT = "opt:"
TOG = "tog:"
DONE = "done"
SKIP = "skip"

EXPECTS: dict[StepType, str] = {
    StepType.TEXT: "text",
    StepType.SINGLE_CHOICE: "choice",
    StepType.MULTIPLE_CHOICE: "multi",
    StepType.SCALE: "scale",
    StepType.NUMBER: "number",
    StepType.YES_NO: "yes_no",
    StepType.DATE: "date",
    StepType.VOICE: "voice",
    StepType.PHOTO: "photo",
}

SELECTED_MARK = "✅"
UNSELECTED_MARK = "▫️"


class FlowStateError(RuntimeError):
    """The engine was called in a way the run's state does not allow."""


class StepLimitExceeded(RuntimeError):
    """More than STEP_CAP steps were passed in one turn (a loop in the definition)."""


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class Context:
    """Who the engine is rendering for."""

    locale: str
    first_name: str = ""
    timezone: str = "Europe/Berlin"


@dataclass
class RunState:
    """Where a run stands; JSON-able via to_dict()/from_dict(), stored by the bot."""

    current: str | None = None  # step id awaiting input, None when finished
    answers: dict[str, Any] = field(default_factory=dict)  # step id -> value (None = skipped)
    history: list[str] = field(default_factory=list)  # input steps answered, in order (for back)
    selection: list[str] = field(default_factory=list)  # pending multiple-choice selection
    finished: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {
            "current": self.current,
            "answers": copy.deepcopy(self.answers),
            "history": list(self.history),
            "selection": list(self.selection),
            "finished": self.finished,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        """Rebuild from to_dict() output."""
        return cls(
            current=data.get("current"),
            answers=copy.deepcopy(dict(data.get("answers") or {})),
            history=list(data.get("history") or []),
            selection=list(data.get("selection") or []),
            finished=bool(data.get("finished", False)),
        )

    def copy(self) -> RunState:
        """Deep copy, so engine functions never change the caller's state."""
        return RunState.from_dict(self.to_dict())


# --------------------------------------------------------------------------- output


@dataclass(frozen=True)
class Button:
    """An inline button: label to show, action to send back ("opt:x", "tog:x", "done", "skip")."""

    label: str
    action: str


@dataclass(frozen=True)
class Prompt:
    """A rendered question. step_index is the step's 0-based position in flow.steps."""

    step_id: str
    step_index: int
    text: str
    buttons: list[list[Button]]
    expects: str  # text | choice | multi | scale | number | yes_no | date | voice | photo


@dataclass(frozen=True)
class Recorded:
    """An answer to persist, with the exact wording the person saw."""

    step_id: str
    value: Any
    skipped: bool
    shown_text: str


@dataclass(frozen=True)
class Turn:
    """Result of start/submit/back: what to send and what to persist."""

    state: RunState
    messages: list[str]  # rendered message steps passed on the way (send before the prompt)
    prompt: Prompt | None  # next question, None when finished
    recorded: list[Recorded]  # only the submitted answer; condition-skipped steps are absent
    finished: bool
    # Steps whose earlier answers are no longer on the path (e.g. after going back and
    # choosing differently, a `when` is now false); they were dropped from state.answers.
    cleared: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class TextInput:
    """A typed message."""

    text: str


@dataclass(frozen=True)
class ButtonInput:
    """A pressed inline button (its action string)."""

    action: str


@dataclass(frozen=True)
class VoiceInput:
    """A voice note."""

    file_id: str
    file_unique_id: str
    duration: int = 0
    mime_type: str | None = None


@dataclass(frozen=True)
class PhotoInput:
    """A photo (the size the bot chose to keep)."""

    file_id: str
    file_unique_id: str
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class OtherInput:
    """Anything else: sticker, document, location, ..."""

    kind: str


Input = TextInput | ButtonInput | VoiceInput | PhotoInput | OtherInput


@dataclass(frozen=True)
class Accepted:
    """A valid answer (or, for multiple choice toggles, the new selection)."""

    value: Any


@dataclass(frozen=True)
class Rejected:
    """An invalid input: a reason code plus parameters for the hint.

    When the step has a `reprompt`, params["reprompt"] carries it rendered for the locale.
    """

    reason: str
    params: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- public API


def start(flow: Flow, ctx: Context) -> Turn:
    """Begin a run: pass message steps and condition-skipped steps up to the first question."""
    state = RunState()
    messages: list[str] = []
    cleared: list[str] = []
    _advance(flow, state, 0, ctx, messages, cleared)
    return _turn(flow, state, ctx, messages, [], cleared)


def prompt(flow: Flow, state: RunState, ctx: Context) -> Prompt | None:
    """Render the current question again (on resume or after a hint); None when finished."""
    if state.finished or state.current is None:
        return None
    return _prompt(flow, flow.step(state.current), state, ctx)


def accept(flow: Flow, state: RunState, inp: Input, ctx: Context) -> Accepted | Rejected:
    """Validate an input for the current step without changing anything."""
    if state.finished or state.current is None:
        return Rejected(FINISHED, {})
    step = flow.step(state.current)
    result = _accept(flow, step, state, inp, ctx)
    if isinstance(result, Rejected) and step.reprompt:
        params = dict(result.params)
        params["reprompt"] = _render(flow, step, f"{step.id}.reprompt", state, ctx)
        return Rejected(result.reason, params)
    return result


def toggle(flow: Flow, state: RunState, code: str) -> RunState:
    """New state with `code` toggled in the pending multiple-choice selection."""
    if state.current is None:
        raise FlowStateError("run is finished")
    step = flow.step(state.current)
    if step.type is not StepType.MULTIPLE_CHOICE or code not in step.options:
        raise FlowStateError(f"cannot toggle {code!r} on step {step.id!r}")
    new = state.copy()
    chosen = set(new.selection) ^ {code}
    new.selection = [c for c in step.options if c in chosen]
    return new


def submit(flow: Flow, state: RunState, value: Any, ctx: Context) -> Turn:
    """Record `value` (None = skipped) for the current step and advance to the next question."""
    if state.finished or state.current is None:
        raise FlowStateError("run is finished")
    step = flow.step(state.current)
    shown = _prompt(flow, step, state, ctx).text  # exact wording, before the answer changes it
    if step.type is StepType.MULTIPLE_CHOICE and isinstance(value, list):
        value = [c for c in step.options if c in set(value)]
    new = state.copy()
    new.answers[step.id] = value
    new.history.append(step.id)
    new.selection = []
    recorded = [Recorded(step.id, copy.deepcopy(value), value is None, shown)]
    messages: list[str] = []
    cleared: list[str] = []
    index = flow.index(step.id)
    _advance(flow, new, _next_index(flow, step, index, new, cleared), ctx, messages, cleared)
    return _turn(flow, new, ctx, messages, recorded, cleared)


def back(flow: Flow, state: RunState, ctx: Context) -> Turn:
    """Go to the previously answered question (its answer stays until replaced)."""
    new = state.copy()
    if new.finished or new.current is None:
        return _turn(flow, new, ctx, [], [], [])
    if new.history:
        previous = new.history.pop()
        new.current = previous
        new.selection = _preselection(flow.step(previous), new)
    return _turn(flow, new, ctx, [], [], [])


def render_answer(flow: Flow, step: Step, value: Any, locale: str | None) -> str:
    """An answer as text for the locale: option labels, formatted numbers and dates."""
    if value is None:
        return ""
    if step.type is StepType.SINGLE_CHOICE:
        return _option_label(flow, step, str(value), locale)
    if step.type is StepType.MULTIPLE_CHOICE:
        codes = value if isinstance(value, list) else [value]
        return ", ".join(_option_label(flow, step, str(c), locale) for c in codes)
    if step.type in (StepType.NUMBER, StepType.SCALE) and isinstance(value, int | float):
        return format_number(value, locale)
    if step.type is StepType.DATE:
        return format_iso_date(value, locale)
    if step.type is StepType.YES_NO:
        return word(str(value), locale) if value in ("yes", "no") else str(value)
    if isinstance(value, dict):  # voice / photo: nothing sensible to quote
        return ""
    return str(value)


# --------------------------------------------------------------------------- internals


def _advance(
    flow: Flow,
    state: RunState,
    index: int | None,
    ctx: Context,
    messages: list[str],
    cleared: list[str],
) -> None:
    """Move forward from `index` until a question waits for input or the flow ends."""
    passed = 0
    while index is not None and index < len(flow.steps):
        passed += 1
        if passed > STEP_CAP:
            raise StepLimitExceeded(f"flow {flow.id!r}: more than {STEP_CAP} steps in one turn")
        step = flow.steps[index]
        if step.when and not parse_condition(step.when).evaluate(state.answers):
            _clear(state, step.id, cleared)
            index += 1
            continue
        if step.type is StepType.MESSAGE:
            messages.append(_render(flow, step, f"{step.id}.text", state, ctx))
            index = _next_index(flow, step, index, state, cleared)
            continue
        state.current = step.id
        state.selection = _preselection(step, state)
        state.finished = False
        return
    state.current = None
    state.selection = []
    state.finished = True


def _next_index(
    flow: Flow, step: Step, index: int, state: RunState, cleared: list[str]
) -> int | None:
    """Index after `step`, following `next`; steps jumped over lose stale answers."""
    if not step.next:
        return index + 1
    target = len(flow.steps) if step.next == END else flow.index(step.next)
    for skipped in flow.steps[index + 1 : target]:
        _clear(state, skipped.id, cleared)
    return None if step.next == END else target


def _clear(state: RunState, step_id: str, cleared: list[str]) -> None:
    if step_id in state.answers:
        del state.answers[step_id]
        cleared.append(step_id)
    if step_id in state.history:
        state.history = [s for s in state.history if s != step_id]


def _preselection(step: Step, state: RunState) -> list[str]:
    old = state.answers.get(step.id)
    if step.type is StepType.MULTIPLE_CHOICE and isinstance(old, list):
        return [c for c in step.options if c in old]
    return []


def _turn(
    flow: Flow,
    state: RunState,
    ctx: Context,
    messages: list[str],
    recorded: list[Recorded],
    cleared: list[str],
) -> Turn:
    return Turn(
        state=state,
        messages=messages,
        prompt=prompt(flow, state, ctx),
        recorded=recorded,
        finished=state.finished,
        cleared=cleared,
    )


def _locale(flow: Flow, ctx: Context) -> str:
    # Texts, engine words and formats all follow the language the flow is shown in, so a
    # person never sees a German question with Turkish buttons.
    return flow.resolve_locale(ctx.locale)


def _render(flow: Flow, step: Step, key: str, state: RunState, ctx: Context) -> str:
    locale = _locale(flow, ctx)
    text = flow.text(key, locale)
    values: dict[str, str] = {}
    try:
        names = placeholder_names(text)
    except ValueError:
        # a broken translation must not break the run: fall back to the checked source text
        text = flow.source_text(key)
        names = placeholder_names(text)
    for name in names:
        if name == FIRST_NAME:
            values[name] = ctx.first_name
        elif flow.has_step(name) and name in state.answers:
            values[name] = render_answer(flow, flow.step(name), state.answers[name], locale)
    return render(text, values)


def _option_label(flow: Flow, step: Step, code: str, locale: str | None) -> str:
    if code not in step.options:
        return code
    return flow.text(f"{step.id}.option.{code}", locale)


def _prompt(flow: Flow, step: Step, state: RunState, ctx: Context) -> Prompt:
    locale = _locale(flow, ctx)
    text = _render(flow, step, f"{step.id}.text", state, ctx)
    rows: list[list[Button]] = []
    if step.type is StepType.SINGLE_CHOICE:
        rows = [
            [Button(_option_label(flow, step, code, locale), OPT + code)] for code in step.options
        ]
    elif step.type is StepType.MULTIPLE_CHOICE:
        for code in step.options:
            mark = SELECTED_MARK if code in state.selection else UNSELECTED_MARK
            label = f"{mark} {_option_label(flow, step, code, locale)}"
            rows.append([Button(label, TOG + code)])
        rows.append([Button(word("done", locale), DONE)])
    elif step.type is StepType.SCALE:
        text = _with_scale_legend(flow, step, text, state, ctx)
        points = [Button(str(n), f"{OPT}{n}") for n in _scale_points(step)]
        half = (len(points) + 1) // 2
        rows = [points] if len(points) <= 6 else [points[:half], points[half:]]
    elif step.type is StepType.YES_NO:
        rows = [[Button(word("yes", locale), OPT + "yes"), Button(word("no", locale), OPT + "no")]]
    if step.optional:
        rows.append([Button(word("skip", locale), SKIP)])
    return Prompt(
        step_id=step.id,
        step_index=flow.index(step.id),
        text=text,
        buttons=rows,
        expects=EXPECTS[step.type],
    )


def _scale_points(step: Step) -> list[int]:
    low = int(step.min if step.min is not None else 1)
    high = int(step.max if step.max is not None else 5)
    return list(range(low, high + 1))


def _with_scale_legend(flow: Flow, step: Step, text: str, state: RunState, ctx: Context) -> str:
    points = _scale_points(step)
    parts = []
    if step.min_label:
        parts.append(f"{points[0]} = {_render(flow, step, f'{step.id}.min_label', state, ctx)}")
    if step.max_label:
        parts.append(f"{points[-1]} = {_render(flow, step, f'{step.id}.max_label', state, ctx)}")
    return f"{text}\n\n{' … '.join(parts)}" if parts else text


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


def _accept(
    flow: Flow, step: Step, state: RunState, inp: Input, ctx: Context
) -> Accepted | Rejected:
    expects = EXPECTS[step.type]
    if isinstance(inp, ButtonInput) and inp.action == SKIP:
        return Accepted(None) if step.optional else Rejected(NOT_OPTIONAL, {})
    if isinstance(inp, VoiceInput | PhotoInput | OtherInput):
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
        return Rejected(WRONG_KIND, {"expected": expects, "got": _kind(inp)})
    if step.type is StepType.MULTIPLE_CHOICE:
        return _accept_multi(step, state, inp)
    if isinstance(inp, ButtonInput):
        return _accept_button(step, inp.action)
    text = inp.text.strip()
    if step.type in (StepType.VOICE, StepType.PHOTO):
        return Rejected(WRONG_KIND, {"expected": expects, "got": "text"})
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
        parsed = parse_date_text(text, _locale(flow, ctx))
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
        if number is not None and isinstance(number, int) and number in _scale_points(step):
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
    locale = _locale(flow, ctx)
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
