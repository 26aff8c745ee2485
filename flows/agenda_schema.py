"""Schema stage for agenda files: read the YAML node tree of a session's polls, with lines.

Shares the document, item and value readers (texts, numbers, options, duplicate keys) with the
flow schema, so agendas and flows report problems the same way: `file:line: [poll id] message`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from flows.schema import FLOW_ID, FLOW_ID_MAX, LOCALE, STEP_ID, ItemDraft, SchemaReader


class PollType(StrEnum):
    """The kinds of live polls."""

    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SCALE = "scale"
    WORDS = "words"


CHOICE_POLLS = frozenset({PollType.SINGLE_CHOICE, PollType.MULTIPLE_CHOICE})

AGENDA_ID = FLOW_ID
AGENDA_ID_MAX = FLOW_ID_MAX
POLL_ID = STEP_ID
TITLE_MAX = 200  # poll_sessions.title
QUESTION_MAX = 300  # Telegram's limit for a native poll question
OPTIONS_MIN, OPTIONS_MAX = 2, 12
LABEL_MAX = 100  # Telegram's limit for a native poll option
TIMER_MIN, TIMER_MAX = 10, 3600
SCALE_LOW, SCALE_HIGH = 0, 10
WORDS_MIN, WORDS_MAX = 1, 3
DEFAULT_MAX_WORDS = 3

TOP_FIELDS = ("agenda", "title", "language", "polls")
TOP_REQUIRED = ("agenda", "title", "polls")

COMMON_FIELDS = ("id", "type", "question", "anonymous", "timer", "show_results", "hide_results")
FIELDS_BY_TYPE: dict[PollType, tuple[str, ...]] = {
    PollType.SINGLE_CHOICE: (*COMMON_FIELDS, "options"),
    PollType.MULTIPLE_CHOICE: (*COMMON_FIELDS, "options", "max"),
    PollType.SCALE: (*COMMON_FIELDS, "min", "max", "min_label", "max_label"),
    PollType.WORDS: (*COMMON_FIELDS, "max_words"),
}
BOOL_FIELDS = ("anonymous", "show_results", "hide_results")
INT_FIELDS = ("timer", "min", "max", "max_words")

_TOP_KEY = re.compile(r"^agenda[ \t]*:", re.MULTILINE)


def looks_like_agenda(text: str) -> bool:
    """True if the document's top level has an `agenda:` key (also for broken YAML)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        # broken YAML: still report it as an agenda if a line starts with `agenda:`
        return bool(_TOP_KEY.search(text))
    if not isinstance(root, MappingNode):
        return False
    return any(getattr(key, "value", None) == "agenda" for key, _value in root.value)


PollDraft = ItemDraft


@dataclass
class AgendaDraft:
    """An agenda as read from the file; `data` is ready for the Agenda model if no problems."""

    data: dict[str, Any]
    polls: list[PollDraft]
    field_lines: dict[str, int]


class AgendaReader(SchemaReader):
    """Reads one agenda file's node tree, collecting every problem instead of stopping."""

    ITEM = "poll"
    ITEM_SHAPE = "id: ..., type: ..., ..."
    ITEM_ID = POLL_ID
    ITEM_TYPE = PollType
    ITEM_FIELDS = FIELDS_BY_TYPE

    def read(self, text: str) -> AgendaDraft | None:  # type: ignore[override]
        """Read a whole agenda document; None if it is not even a mapping."""
        root = self._root(text, "an agenda file must be a mapping (agenda: ..., polls: ...)")
        if root is None:
            return None
        data, lines = self._read_top(root, TOP_FIELDS, TOP_REQUIRED)
        polls = data.pop("polls", [])
        agenda_id = data.get("agenda")
        if agenda_id is not None and (
            not AGENDA_ID.match(agenda_id) or len(agenda_id) > AGENDA_ID_MAX
        ):
            self.problem(
                lines["agenda"],
                None,
                f"agenda id {agenda_id!r} must be lowercase letters, digits, '-' or '_', "
                f"start with a letter or digit, at most {AGENDA_ID_MAX} characters",
            )
        title = data.get("title")
        if title is not None and len(title) > TITLE_MAX:
            self.problem(
                lines["title"],
                None,
                f"title is too long ({len(title)} characters, at most {TITLE_MAX})",
            )
        language = data.get("language")
        if language is not None and not LOCALE.match(language):
            self.problem(lines["language"], None, f"language {language!r} is not a locale code")
        return AgendaDraft(data=data, polls=polls, field_lines=lines)

    def _top_value(self, key: str, node: Node) -> Any:
        if key == "polls":
            return self._read_polls(node)
        return self._text(node, None, key)

    # ------------------------------------------------------------------ polls

    def _read_polls(self, node: Node) -> list[PollDraft]:
        polls: list[PollDraft] = []
        first_line: dict[str, int] = {}
        for draft in self._read_items(node):
            poll_id = draft.id
            if poll_id is not None:
                if poll_id in first_line:
                    self.problem(
                        draft.line_of("id"),
                        poll_id,
                        f"poll id {poll_id!r} is used twice (first at line {first_line[poll_id]})",
                    )
                else:
                    first_line[poll_id] = draft.line_of("id")
            polls.append(draft)
        return polls

    def _early_id(self, node: MappingNode) -> str | None:
        """The poll id, if it is readable, for problems found before it is checked."""
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == "id" and isinstance(value, ScalarNode):
                return value.value.strip() if POLL_ID.match(value.value.strip()) else None
        return None

    def _reserved_id(self, value: str) -> bool:
        return False  # poll ids are never names in conditions

    def _item_field(self, key: str, node: Node, draft: PollDraft, poll_id: str | None) -> None:
        value: Any
        if key in BOOL_FIELDS:
            value = self._bool(node, poll_id, key)
        elif key in INT_FIELDS:
            value = self._int(node, poll_id, key)
        elif key == "options":
            value = self._options(node, draft, poll_id)
        else:  # question, min_label, max_label
            value = self._text(node, poll_id, key)
        if value is not None:
            draft.data[key] = value

    # ------------------------------------------------------------------ rules

    def _check_item(self, draft: PollDraft, poll_id: str | None, poll_type: PollType) -> None:
        data = draft.data
        question = data.get("question")
        if "question" not in draft.field_lines:
            self.problem(draft.line, poll_id, "poll without 'question'")
        elif question is not None and len(question) > QUESTION_MAX:
            self.problem(
                draft.line_of("question"),
                poll_id,
                f"question is too long ({len(question)} characters, at most {QUESTION_MAX})",
            )
        timer = data.get("timer")
        if timer is not None and not TIMER_MIN <= timer <= TIMER_MAX:
            self.problem(
                draft.line_of("timer"),
                poll_id,
                f"timer must be between {TIMER_MIN} and {TIMER_MAX} seconds (not {timer})",
            )
        if poll_type in CHOICE_POLLS:
            self._check_options(draft, poll_id, poll_type)
        if poll_type is PollType.MULTIPLE_CHOICE:
            self._check_multi(draft, poll_id)
        elif poll_type is PollType.SCALE:
            self._check_scale(draft, poll_id)
        elif poll_type is PollType.WORDS:
            words = data.setdefault("max_words", DEFAULT_MAX_WORDS)
            if not WORDS_MIN <= words <= WORDS_MAX:
                self.problem(
                    draft.line_of("max_words"),
                    poll_id,
                    f"max_words must be between {WORDS_MIN} and {WORDS_MAX} (not {words})",
                )

    def _check_options(self, draft: PollDraft, poll_id: str | None, poll_type: PollType) -> None:
        if "options" not in draft.field_lines:
            self.problem(
                draft.line, poll_id, f"a {poll_type.value} poll needs options (code: label)"
            )
            return
        options = draft.data.get("options")
        if options is None:
            return  # not a mapping: already reported
        for code, label in options.items():
            if len(label) > LABEL_MAX:
                self.problem(
                    draft.option_lines[code],
                    poll_id,
                    f"label of option {code!r} is too long ({len(label)} characters, "
                    f"at most {LABEL_MAX})",
                )
        if not OPTIONS_MIN <= len(options) <= OPTIONS_MAX:
            self.problem(
                draft.line_of("options"),
                poll_id,
                f"a poll needs {OPTIONS_MIN} to {OPTIONS_MAX} options (found {len(options)})",
            )

    def _check_multi(self, draft: PollDraft, poll_id: str | None) -> None:
        data = draft.data
        count = len(data.get("options") or {})
        high = data.get("max")
        if high is None:
            if "max" not in draft.field_lines and count:
                data["max"] = count  # default: every option may be chosen
            return
        if high < 1:
            self.problem(draft.line_of("max"), poll_id, f"max must be at least 1 (not {high})")
        elif count >= OPTIONS_MIN and high > count:
            self.problem(
                draft.line_of("max"), poll_id, f"max ({high}) is more than the {count} options"
            )

    def _check_scale(self, draft: PollDraft, poll_id: str | None) -> None:
        data = draft.data
        for key in ("min", "max"):
            if key not in draft.field_lines:
                self.problem(draft.line, poll_id, f"a scale needs '{key}'")
        in_range = True
        for key in ("min", "max"):
            value = data.get(key)
            if value is not None and not SCALE_LOW <= value <= SCALE_HIGH:
                self.problem(
                    draft.line_of(key),
                    poll_id,
                    f"scale {key} must be between {SCALE_LOW} and {SCALE_HIGH} (not {value})",
                )
                in_range = False
        low, high = data.get("min"), data.get("max")
        if in_range and low is not None and high is not None and low >= high:
            self.problem(
                draft.line_of("min"), poll_id, f"a scale needs min < max (not {low}..{high})"
            )
        for key in ("min_label", "max_label"):
            label = data.get(key)
            if label is not None and len(label) > LABEL_MAX:
                self.problem(
                    draft.line_of(key),
                    poll_id,
                    f"{key} is too long ({len(label)} characters, at most {LABEL_MAX})",
                )


__all__ = [
    "AgendaDraft",
    "AgendaReader",
    "PollDraft",
    "PollType",
    "looks_like_agenda",
]
