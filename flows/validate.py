"""Graph stage of validation: ids, conditions, jumps, placeholders and reachability."""

from __future__ import annotations

from flows.conditions import ConditionError, parse_condition
from flows.model import END, INPUT_TYPES, StepType
from flows.placeholders import FIRST_NAME, PlaceholderError, placeholder_names
from flows.problems import Problem
from flows.schema import FlowDraft, StepDraft

# Answers of these steps cannot be quoted in a text or tested in a condition.
NO_ANSWER = {StepType.MESSAGE: "is a message and has no answer"}
NOT_QUOTABLE = {
    StepType.MESSAGE: "is a message and has no answer",
    StepType.VOICE: "is a voice note and cannot be shown in a text",
    StepType.PHOTO: "is a photo and cannot be shown in a text",
}


def check_graph(draft: FlowDraft, file: str) -> list[Problem]:
    """Every graph-rule problem of a flow whose steps were read by the schema stage."""
    problems: list[Problem] = []

    def report(line: int, step_id: str | None, message: str) -> None:
        problems.append(Problem(file, line, step_id, message))

    # First occurrence wins; later duplicates are reported and then ignored.
    index: dict[str, int] = {}
    for i, step in enumerate(draft.steps):
        if step.id is None:
            continue
        if step.id in index:
            first = draft.steps[index[step.id]].line
            report(step.line, step.id, f"duplicate step id {step.id!r} (first at line {first})")
        else:
            index[step.id] = i

    def refer(step: StepDraft, i: int, name: str, line: int, what: str, forbidden: dict) -> None:
        if name not in index:
            report(line, step.id, f"{what} names unknown step {name!r}")
        elif index[name] == i:
            report(line, step.id, f"{what} names this step itself; only earlier steps are allowed")
        elif index[name] > i:
            report(line, step.id, f"{what} names step {name!r}, which comes later")
        else:
            kind = draft.steps[index[name]].type
            if kind in forbidden:
                report(line, step.id, f"{what} names step {name!r}, which {forbidden[kind]}")

    bad_next: set[int] = set()
    for i, step in enumerate(draft.steps):
        when = step.data.get("when")
        if when is not None:
            try:
                condition = parse_condition(when)
            except ConditionError as exc:
                report(step.line_of("when"), step.id, f"condition {when!r}: {exc}")
            else:
                for name in condition.names:
                    refer(step, i, name, step.line_of("when"), "condition", NO_ANSWER)
        target = step.data.get("next")
        if target is not None and target != END:
            if target not in index:
                report(step.line_of("next"), step.id, f"next: unknown step {target!r}")
                bad_next.add(i)
            elif index[target] <= i:
                report(
                    step.line_of("next"),
                    step.id,
                    f"next: {target!r} is not a later step (jumps only go forward, or to 'end')",
                )
                bad_next.add(i)
        for field, text, line in _texts(step):
            try:
                names = placeholder_names(text)
            except PlaceholderError as exc:
                report(line, step.id, f"{field}: {exc}")
                continue
            for name in names:
                if name != FIRST_NAME:
                    refer(step, i, name, line, f"placeholder {{{name}}} in {field}", NOT_QUOTABLE)

    if not bad_next:
        for step in _unreachable(draft.steps, index):
            report(step.line, step.id, "step can never be reached (check 'next' jumps above it)")

    if draft.steps and not any(step.type in INPUT_TYPES for step in draft.steps):
        report(draft.field_lines.get("steps", 1), None, "the flow asks no question")
    return problems


def _texts(step: StepDraft) -> list[tuple[str, str, int]]:
    """(field name, text, line) for every text of a step that may hold placeholders."""
    found = []
    for field in ("text", "reprompt", "min_label", "max_label"):
        if field in step.data:
            found.append((field, step.data[field], step.line_of(field)))
    for code, label in (step.data.get("options") or {}).items():
        found.append((f"option {code!r}", label, step.option_lines.get(code, step.line)))
    return found


def _unreachable(steps: list[StepDraft], index: dict[str, int]) -> list[StepDraft]:
    """Steps no path from the first step leads to (a skipped `when` falls through)."""
    if not steps:
        return []
    seen = {0}
    todo = [0]
    while todo:
        i = todo.pop()
        step = steps[i]
        successors = []
        target = step.data.get("next")
        if target == END:
            pass
        elif target is not None and target in index:
            successors.append(index[target])
        else:
            successors.append(i + 1)
        if step.data.get("when") is not None:
            successors.append(i + 1)  # condition false: the step is passed over
        for j in successors:
            if j < len(steps) and j not in seen:
                seen.add(j)
                todo.append(j)
    return [step for i, step in enumerate(steps) if i not in seen]
