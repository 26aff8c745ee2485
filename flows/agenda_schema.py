"""Schema stage for agenda files: read the YAML node tree of a session's polls, with lines.

Shares the value readers (texts, numbers, options, duplicate keys) with the flow schema, so
agendas and flows report problems the same way: `file:line: [poll id] message`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from flows.schema import (
    FLOW_ID,
    FLOW_ID_MAX,
    LOCALE,
    STEP_ID,
    SchemaReader,
    _yaml_error_line,
    _yaml_error_text,
    line_of,
)


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

COMMON_FIELDS = ("id", "type", "question", "anonymous", "timer", "show_results")
FIELDS_BY_TYPE: dict[PollType, tuple[str, ...]] = {
    PollType.SINGLE_CHOICE: (*COMMON_FIELDS, "options"),
    PollType.MULTIPLE_CHOICE: (*COMMON_FIELDS, "options", "max"),
    PollType.SCALE: (*COMMON_FIELDS, "min", "max", "min_label", "max_label"),
    PollType.WORDS: (*COMMON_FIELDS, "max_words"),
}
ALL_POLL_FIELDS = frozenset(f for fields in FIELDS_BY_TYPE.values() for f in fields)
BOOL_FIELDS = ("anonymous", "show_results")
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


@dataclass
class PollDraft:
    """A poll as read from the file: the fields that passed, plus where everything is."""

    data: dict[str, Any]
    line: int
    field_lines: dict[str, int] = field(default_factory=dict)
    option_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, name: str) -> int:
        """Line of a field, or of the poll when the field is absent."""
        return self.field_lines.get(name, self.line)


@dataclass
class AgendaDraft:
    """An agenda as read from the file; `data` is ready for the Agenda model if no problems."""

    data: dict[str, Any]
    polls: list[PollDraft]
    field_lines: dict[str, int]


class AgendaReader(SchemaReader):
    """Reads one agenda file's node tree, collecting every problem instead of stopping."""

    def read(self, text: str) -> AgendaDraft | None:  # type: ignore[override]
        """Read a whole agenda document; None if it is not even a mapping."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            self.problem(_yaml_error_line(exc), None, f"YAML syntax error: {_yaml_error_text(exc)}")
            return None
        except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
            self.problem(1, None, f"YAML error: {exc}")
            return None
        if root is None:
            self.problem(1, None, "the file is empty")
            return None
        if not isinstance(root, MappingNode):
            self.problem(
                line_of(root), None, "an agenda file must be a mapping (agenda: ..., polls: ...)"
            )
            return None
        return self._read_agenda(root)

    # ------------------------------------------------------------------ document

    def _read_agenda(self, root: MappingNode) -> AgendaDraft:
        data: dict[str, Any] = {}
        lines: dict[str, int] = {}
        polls: list[PollDraft] = []
        for key, value, key_line in self._pairs(root, None):
            lines[key] = key_line
            if key not in TOP_FIELDS:
                self.problem(
                    key_line,
                    None,
                    f"unknown top-level key {key!r} (allowed: {', '.join(TOP_FIELDS)})",
                )
            elif key == "polls":
                polls = self._read_polls(value)
            else:
                text = self._text(value, None, key)
                if text is not None:
                    data[key] = text
        for key in TOP_REQUIRED:
            if key not in lines:
                self.problem(1, None, f"missing required key {key!r}")
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

    # ------------------------------------------------------------------ polls

    def _read_polls(self, node: Node) -> list[PollDraft]:
        if not isinstance(node, SequenceNode):
            self.problem(line_of(node), None, "polls must be a list (each item starts with '- ')")
            return []
        if not node.value:
            self.problem(line_of(node), None, "polls must not be empty")
        polls: list[PollDraft] = []
        first_line: dict[str, int] = {}
        for item in node.value:
            draft = self._read_poll(item)
            if draft is None:
                continue
            poll_id = draft.data.get("id")
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

    def _read_poll(self, node: Node) -> PollDraft | None:
        if not isinstance(node, MappingNode):
            self.problem(
                line_of(node), None, "each poll must be a mapping (id: ..., type: ..., ...)"
            )
            return None
        triples = self._pairs(node, _peek_id(node))
        pairs = {key: value for key, value, _line in triples}
        draft = PollDraft(data={}, line=line_of(node))
        draft.field_lines = {key: key_line for key, _value, key_line in triples}

        poll_id = self._poll_id(pairs.get("id"), draft)
        poll_type = self._poll_type(pairs.get("type"), draft, poll_id)
        allowed = FIELDS_BY_TYPE[poll_type] if poll_type else ALL_POLL_FIELDS
        for key, value in pairs.items():
            if key in ("id", "type"):
                continue
            if key not in allowed:
                if key in ALL_POLL_FIELDS and poll_type:
                    message = f"field {key!r} is not allowed for a {poll_type.value} poll"
                else:
                    message = f"unknown field {key!r}"
                self.problem(draft.field_lines[key], poll_id, message)
                continue
            self._poll_field(key, value, draft, poll_id)
        if poll_type is not None:
            self._check_poll(draft, poll_id, poll_type)
        return draft

    def _poll_id(self, node: Node | None, draft: PollDraft) -> str | None:
        if node is None:
            self.problem(draft.line, None, "poll without 'id'")
            return None
        value = self._text(node, None, "id")
        if value is None:
            return None
        if not POLL_ID.match(value):
            self.problem(
                line_of(node),
                None,
                f"poll id {value!r} must start with a lowercase letter and contain only "
                "a-z, 0-9 and '_' (at most 40 characters)",
            )
            return None
        draft.data["id"] = value
        return value

    def _poll_type(
        self, node: Node | None, draft: PollDraft, poll_id: str | None
    ) -> PollType | None:
        if node is None:
            self.problem(draft.line, poll_id, "poll without 'type'")
            return None
        value = self._text(node, poll_id, "type")
        if value is None:
            return None
        try:
            poll_type = PollType(value)
        except ValueError:
            known = ", ".join(t.value for t in PollType)
            self.problem(line_of(node), poll_id, f"unknown poll type {value!r} (known: {known})")
            return None
        draft.data["type"] = poll_type
        return poll_type

    def _poll_field(self, key: str, node: Node, draft: PollDraft, poll_id: str | None) -> None:
        value: Any
        if key in BOOL_FIELDS:
            value = self._bool(node, poll_id, key)
        elif key in INT_FIELDS:
            value = self._int(node, poll_id, key)
        elif key == "options":
            # the flow reader only needs `option_lines` of the draft
            value = self._options(node, draft, poll_id)  # type: ignore[arg-type]
        else:  # question, min_label, max_label
            value = self._text(node, poll_id, key)
        if value is not None:
            draft.data[key] = value

    # ------------------------------------------------------------------ rules

    def _check_poll(self, draft: PollDraft, poll_id: str | None, poll_type: PollType) -> None:
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


def _peek_id(node: MappingNode) -> str | None:
    """The poll id, if it is readable, for problems found before it is checked."""
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value == "id" and isinstance(value, ScalarNode):
            return value.value.strip() if POLL_ID.match(value.value.strip()) else None
    return None


__all__ = [
    "AgendaDraft",
    "AgendaReader",
    "PollDraft",
    "PollType",
    "looks_like_agenda",
]
