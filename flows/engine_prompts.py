"""Rendering for the engine: questions with their buttons, texts with placeholders, answers."""

from __future__ import annotations

from typing import Any

from flows.answers import format_iso_date, format_number
from flows.engine_types import (
    DONE,
    EXPECTS,
    OPT,
    SELECTED_MARK,
    SKIP,
    TOG,
    UNSELECTED_MARK,
    Button,
    Context,
    Prompt,
    RunState,
)
from flows.model import Flow, Step, StepType
from flows.placeholders import FIRST_NAME, PREVIOUS, placeholder_names, render
from flows.words import word


def render_answer(flow: Flow, step: Step, value: Any, locale: str | None) -> str:
    """An answer as text for the locale: option labels, formatted numbers and dates."""
    if value is None:
        return ""
    if step.type is StepType.SINGLE_CHOICE:
        return option_label(flow, step, str(value), locale)
    if step.type is StepType.MULTIPLE_CHOICE:
        codes = value if isinstance(value, list) else [value]
        return ", ".join(option_label(flow, step, str(c), locale) for c in codes)
    if step.type in (StepType.NUMBER, StepType.SCALE) and isinstance(value, int | float):
        return format_number(value, locale)
    if step.type is StepType.DATE:
        return format_iso_date(value, locale)
    if step.type is StepType.YES_NO:
        return word(str(value), locale) if value in ("yes", "no") else str(value)
    if isinstance(value, dict):  # voice / photo: nothing sensible to quote
        return ""
    return str(value)


def locale_for(flow: Flow, ctx: Context) -> str:
    """The locale the flow is shown in for this person."""
    # Texts, engine words and formats all follow the language the flow is shown in, so a
    # person never sees a German question with Turkish buttons.
    return flow.resolve_locale(ctx.locale)


def render_text(flow: Flow, step: Step, key: str, state: RunState, ctx: Context) -> str:
    """The text under `key` for the locale, placeholders filled from the answers so far."""
    locale = locale_for(flow, ctx)
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
        elif name.startswith(PREVIOUS):
            earlier = name.removeprefix(PREVIOUS)
            if flow.has_step(earlier) and state.previous.get(earlier) is not None:
                step_then = flow.step(earlier)
                values[name] = render_answer(flow, step_then, state.previous[earlier], locale)
    return render(text, values)


def option_label(flow: Flow, step: Step, code: str, locale: str | None) -> str:
    """The label of option `code` for the locale (the code itself if it is no option)."""
    if code not in step.options:
        return code
    return flow.text(f"{step.id}.option.{code}", locale)


def build_prompt(flow: Flow, step: Step, state: RunState, ctx: Context) -> Prompt:
    """The question `step` rendered with its buttons."""
    locale = locale_for(flow, ctx)
    text = render_text(flow, step, f"{step.id}.text", state, ctx)
    rows: list[list[Button]] = []
    if step.type is StepType.SINGLE_CHOICE:
        rows = [
            [Button(option_label(flow, step, code, locale), OPT + code)] for code in step.options
        ]
    elif step.type is StepType.MULTIPLE_CHOICE:
        for code in step.options:
            mark = SELECTED_MARK if code in state.selection else UNSELECTED_MARK
            label = f"{mark} {option_label(flow, step, code, locale)}"
            rows.append([Button(label, TOG + code)])
        rows.append([Button(word("done", locale), DONE)])
    elif step.type is StepType.SCALE:
        text = _with_scale_legend(flow, step, text, state, ctx)
        points = [Button(str(n), f"{OPT}{n}") for n in scale_points(step)]
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


def scale_points(step: Step) -> list[int]:
    """The points a scale step offers, from min to max."""
    low = int(step.min if step.min is not None else 1)
    high = int(step.max if step.max is not None else 5)
    return list(range(low, high + 1))


def _with_scale_legend(flow: Flow, step: Step, text: str, state: RunState, ctx: Context) -> str:
    points = scale_points(step)
    parts = []
    if step.min_label:
        parts.append(f"{points[0]} = {render_text(flow, step, f'{step.id}.min_label', state, ctx)}")
    if step.max_label:
        parts.append(
            f"{points[-1]} = {render_text(flow, step, f'{step.id}.max_label', state, ctx)}"
        )
    return f"{text}\n\n{' … '.join(parts)}" if parts else text
