"""Graph stage of validation: ids, conditions, jumps, placeholders and reachability."""

from __future__ import annotations

from flows.conditions import ConditionError, parse_condition
from flows.model import END, INPUT_TYPES, StepType
from flows.placeholders import FIRST_NAME, PREVIOUS, PlaceholderError, placeholder_names
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
    check = _GraphCheck(draft, file)
    bad_next = False
    for i, step in enumerate(draft.steps):
        check.condition(step, i)
        bad_next = not check.jump(step, i) or bad_next
        check.placeholders(step, i)
    if not bad_next:
        for step in _unreachable(draft.steps, check.index):
            check.report(
                step.line, step.id, "step can never be reached (check 'next' jumps above it)"
            )
    if draft.steps and not any(step.type in INPUT_TYPES for step in draft.steps):
        check.report(draft.field_lines.get("steps", 1), None, "the flow asks no question")
    return check.problems


class _GraphCheck:
    """The problems found so far and where each step id first stands."""

    def __init__(self, draft: FlowDraft, file: str) -> None:
        self.draft = draft
        self.file = file
        self.problems: list[Problem] = []
        # First occurrence wins; later duplicates are reported and then ignored.
        self.index: dict[str, int] = {}
        for i, step in enumerate(draft.steps):
            if step.id is None:
                continue
            if step.id in self.index:
                first = draft.steps[self.index[step.id]].line
                self.report(
                    step.line, step.id, f"duplicate step id {step.id!r} (first at line {first})"
                )
            else:
                self.index[step.id] = i

    def report(self, line: int, step_id: str | None, message: str) -> None:
        """Record one problem."""
        self.problems.append(Problem(self.file, line, step_id, message))

    def refer(
        self, step: StepDraft, i: int, name: str, line: int, what: str, forbidden: dict
    ) -> None:
        """Check that `name`, used by step `i`, is an earlier step of an allowed kind (or, as
        `previous.<id>`, any step of an allowed kind: the previous wave answered them all)."""
        index = self.index
        previous = name.startswith(PREVIOUS)
        name = name.removeprefix(PREVIOUS)
        if name not in index:
            self.report(line, step.id, f"{what} names unknown step {name!r}")
            return
        if not previous and index[name] == i:
            self.report(
                line, step.id, f"{what} names this step itself; only earlier steps are allowed"
            )
        elif not previous and index[name] > i:
            self.report(line, step.id, f"{what} names step {name!r}, which comes later")
        elif (kind := self.draft.steps[index[name]].type) in forbidden:
            self.report(line, step.id, f"{what} names step {name!r}, which {forbidden[kind]}")

    def condition(self, step: StepDraft, i: int) -> None:
        """The step's `when` parses and names only earlier questions."""
        when = step.data.get("when")
        if when is None:
            return
        try:
            condition = parse_condition(when)
        except ConditionError as exc:
            self.report(step.line_of("when"), step.id, f"condition {when!r}: {exc}")
        else:
            for name in condition.names:
                self.refer(step, i, name, step.line_of("when"), "condition", NO_ANSWER)

    def jump(self, step: StepDraft, i: int) -> bool:
        """The step's `next` goes to a later step or 'end'; False if it does not."""
        target = step.data.get("next")
        if target is None or target == END:
            return True
        if target not in self.index:
            self.report(step.line_of("next"), step.id, f"next: unknown step {target!r}")
            return False
        if self.index[target] <= i:
            self.report(
                step.line_of("next"),
                step.id,
                f"next: {target!r} is not a later step (jumps only go forward, or to 'end')",
            )
            return False
        return True

    def placeholders(self, step: StepDraft, i: int) -> None:
        """The step's texts parse and quote only earlier answers."""
        for field, text, line in _texts(step):
            try:
                names = placeholder_names(text)
            except PlaceholderError as exc:
                self.report(line, step.id, f"{field}: {exc}")
                continue
            for name in names:
                if name != FIRST_NAME:
                    what = f"placeholder {{{name}}} in {field}"
                    self.refer(step, i, name, line, what, NOT_QUOTABLE)


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
