"""The flow engine: pure functions from (flow, state, input) to the next turn.

The bot stores `RunState` (as JSON) and calls `start`, `accept`, `toggle`, `submit`, `back`
and `prompt`; everything is rendered into plain objects (texts, buttons) so the Telegram side
only has to send them. Nothing here does I/O. The data types live in `flows.engine_types`,
rendering in `flows.engine_prompts` and input checks in `flows.engine_input`; every public
name is importable from here.
"""

from __future__ import annotations

import copy
from typing import Any

from flows.conditions import parse_condition
from flows.engine_input import check_input
from flows.engine_prompts import build_prompt, render_answer, render_text
from flows.engine_types import (
    DONE,
    EMPTY,
    EXPECTS,
    FINISHED,
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_OPTIONAL,
    OPT,
    OUT_OF_RANGE,
    SELECTED_MARK,
    SKIP,
    STEP_CAP,
    TOG,
    TOO_FEW,
    TOO_LONG,
    TOO_MANY,
    UNKNOWN_OPTION,
    UNSELECTED_MARK,
    USE_BUTTONS,
    WRONG_KIND,
    Accepted,
    Button,
    ButtonInput,
    Context,
    FlowStateError,
    Input,
    OtherInput,
    PhotoInput,
    Prompt,
    Recorded,
    Rejected,
    RunState,
    StepLimitExceeded,
    TextInput,
    Turn,
    VoiceInput,
)
from flows.model import END, Flow, Step, StepType

__all__ = [
    "STEP_CAP",
    "WRONG_KIND",
    "TOO_LONG",
    "EMPTY",
    "NOT_A_NUMBER",
    "OUT_OF_RANGE",
    "NOT_A_DATE",
    "UNKNOWN_OPTION",
    "TOO_FEW",
    "TOO_MANY",
    "USE_BUTTONS",
    "NOT_OPTIONAL",
    "FINISHED",
    "OPT",
    "TOG",
    "DONE",
    "SKIP",
    "EXPECTS",
    "SELECTED_MARK",
    "UNSELECTED_MARK",
    "FlowStateError",
    "StepLimitExceeded",
    "Context",
    "RunState",
    "Button",
    "Prompt",
    "Recorded",
    "Turn",
    "TextInput",
    "ButtonInput",
    "VoiceInput",
    "PhotoInput",
    "OtherInput",
    "Input",
    "Accepted",
    "Rejected",
    "accept",
    "back",
    "prompt",
    "render_answer",
    "start",
    "submit",
    "toggle",
]


# --------------------------------------------------------------------------- public API


def start(flow: Flow, ctx: Context, previous: dict[str, Any] | None = None) -> Turn:
    """Begin a run: pass message steps and condition-skipped steps up to the first question.
    `previous`: the person's answers in the previous wave of this flow, if any."""
    state = RunState(previous=dict(previous or {}))
    messages: list[str] = []
    cleared: list[str] = []
    _advance(flow, state, 0, ctx, messages, cleared)
    return _turn(flow, state, ctx, messages, [], cleared)


def prompt(flow: Flow, state: RunState, ctx: Context) -> Prompt | None:
    """Render the current question again (on resume or after a hint); None when finished."""
    if state.finished or state.current is None:
        return None
    return build_prompt(flow, flow.step(state.current), state, ctx)


def accept(flow: Flow, state: RunState, inp: Input, ctx: Context) -> Accepted | Rejected:
    """Validate an input for the current step without changing anything."""
    if state.finished or state.current is None:
        return Rejected(FINISHED, {})
    step = flow.step(state.current)
    result = check_input(flow, step, state, inp, ctx)
    if isinstance(result, Rejected) and step.reprompt:
        params = dict(result.params)
        params["reprompt"] = render_text(flow, step, f"{step.id}.reprompt", state, ctx)
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
    shown = build_prompt(flow, step, state, ctx).text  # exact wording, before the answer changes it
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
        if step.when and not parse_condition(step.when).evaluate(state.known()):
            _clear(state, step.id, cleared)
            index += 1
            continue
        if step.type is StepType.MESSAGE:
            messages.append(render_text(flow, step, f"{step.id}.text", state, ctx))
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
