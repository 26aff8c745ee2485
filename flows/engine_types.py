"""The engine's vocabulary: run state, rendered output, inputs, verdicts and reason codes.

Plain data only; `flows.engine` re-exports every name, so callers import from there.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from flows.model import StepType

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
    # The same person's answers in the previous wave of this flow (step id -> value), fixed
    # when the run starts; `previous.<step id>` in texts and conditions reads them.
    previous: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        data = {
            "current": self.current,
            "answers": copy.deepcopy(self.answers),
            "history": list(self.history),
            "selection": list(self.selection),
            "finished": self.finished,
        }
        if self.previous:
            data["previous"] = copy.deepcopy(self.previous)
        return data

    def known(self) -> dict[str, Any]:
        """What conditions can test: this run's answers and `previous.<id>` ones."""
        if not self.previous:  # a first wave (the usual case): nothing to merge
            return self.answers
        known = dict(self.answers)
        known.update({f"previous.{k}": v for k, v in self.previous.items()})
        return known

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        """Rebuild from to_dict() output."""
        return cls(
            current=data.get("current"),
            answers=copy.deepcopy(dict(data.get("answers") or {})),
            history=list(data.get("history") or []),
            selection=list(data.get("selection") or []),
            finished=bool(data.get("finished", False)),
            previous=copy.deepcopy(dict(data.get("previous") or {})),
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
