"""Schema stage of validation: read the YAML node tree into plain data, with line numbers.

Working on `yaml.compose()` nodes (not `safe_load` output) gives every field its line and
keeps texts exactly as written: `yes`/`no`/`12` stay strings where a text is expected.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from flows.model import CHOICE_TYPES, StepType
from flows.placeholders import FIRST_NAME
from flows.schema_nodes import (
    NULL_TAG,
    ItemDraft,
    NodeReader,
    StepDraft,
    line_of,
)

FLOW_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
FLOW_ID_MAX = 40  # also a Telegram deep-link payload (64 chars max, leave room for a prefix)
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
LOCALE = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
MAX_LENGTH_LIMIT = 4000  # Telegram's text limit is 4096
SCALE_MAX_POINTS = 11
# Retention periods (months after a run finished): at most 50 years, which is "keep".
RETAIN_MONTHS_MAX = 600

TOP_FIELDS = (
    "id",
    "title",
    "version",
    "language",
    "languages",
    "description",
    "retain_identity_months",
    "steps",
)
TOP_REQUIRED = ("id", "title", "version", "steps")

COMMON_FIELDS = ("id", "type", "text", "when", "next")
INPUT_FIELDS = (*COMMON_FIELDS, "optional", "reprompt")
FIELDS_BY_TYPE: dict[StepType, tuple[str, ...]] = {
    StepType.MESSAGE: COMMON_FIELDS,
    StepType.TEXT: (*INPUT_FIELDS, "max_length"),
    StepType.SINGLE_CHOICE: (*INPUT_FIELDS, "options"),
    StepType.MULTIPLE_CHOICE: (*INPUT_FIELDS, "options", "min", "max"),
    StepType.SCALE: (*INPUT_FIELDS, "min", "max", "min_label", "max_label"),
    StepType.NUMBER: (*INPUT_FIELDS, "min", "max", "integer"),
    StepType.YES_NO: INPUT_FIELDS,
    StepType.DATE: INPUT_FIELDS,
    StepType.VOICE: INPUT_FIELDS,
    StepType.PHOTO: INPUT_FIELDS,
}
TEXT_FIELDS = ("text", "when", "next", "reprompt", "min_label", "max_label")
BOOL_FIELDS = ("optional", "integer")


@dataclass
class FlowDraft:
    """A flow as read from the file, before the graph rules are checked."""

    data: dict[str, Any]
    steps: list[StepDraft]
    field_lines: dict[str, int]


class SchemaReader(NodeReader):
    """Reads one flow file's node tree, collecting every problem instead of stopping.

    The reading of the item list (steps here, polls in AgendaReader) is shared: it is
    parameterised by the class attributes below and the hooks `_item_field`,
    `_check_item`, `_reserved_id` and `_early_id`.
    """

    ITEM = "step"  # the noun in messages
    ITEM_SHAPE = "id: ..., type: ..."  # what a mapping item looks like, for messages
    ITEM_ID = STEP_ID
    ITEM_TYPE: type[StrEnum] = StepType
    ITEM_FIELDS: dict[Any, tuple[str, ...]] = FIELDS_BY_TYPE

    # ------------------------------------------------------------------ document

    def read(self, text: str) -> FlowDraft | None:
        """Read a whole flow document; None if it is not even a mapping."""
        root = self._root(text, "a flow file must be a mapping (id: ..., steps: ...)")
        if root is None:
            return None
        data, lines = self._read_top(root, TOP_FIELDS, TOP_REQUIRED)
        steps = data.pop("steps", [])
        self._check_flow_fields(data, lines)
        return FlowDraft(data=data, steps=steps, field_lines=lines)

    def _read_top(
        self, root: MappingNode, fields: tuple[str, ...], required: tuple[str, ...]
    ) -> tuple[dict[str, Any], dict[str, int]]:
        """The top-level values that passed (read by `_top_value`) and every key's line."""
        data: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for key, value, key_line in self._pairs(root, None):
            lines[key] = key_line
            if key not in fields:
                self.problem(
                    key_line,
                    None,
                    f"unknown top-level key {key!r} (allowed: {', '.join(fields)})",
                )
                continue
            found = self._top_value(key, value)
            if found is not None:
                data[key] = found
        for key in required:
            if key not in lines:
                self.problem(1, None, f"missing required key {key!r}")
        return data, lines

    def _top_value(self, key: str, node: Node) -> Any:
        """One allowed top-level value, or None if it did not pass."""
        if key == "steps":
            return list(self._read_items(node))
        if key == "version":
            return self._version(node)
        if key == "languages":
            return self._locale_list(node)
        if key == "retain_identity_months":
            return self._retain_months(node)
        return self._text(node, None, key)

    def _retain_months(self, node: Node) -> int | None:
        value = self._int(node, None, "retain_identity_months")
        if value is not None and not 1 <= value <= RETAIN_MONTHS_MAX:
            self.problem(
                line_of(node),
                None,
                f"retain_identity_months must be between 1 and {RETAIN_MONTHS_MAX} (months)",
            )
            return None
        return value

    def _check_flow_fields(self, data: dict[str, Any], lines: dict[str, int]) -> None:
        flow_id = data.get("id")
        if flow_id is not None and (not FLOW_ID.match(flow_id) or len(flow_id) > FLOW_ID_MAX):
            self.problem(
                lines["id"],
                None,
                f"flow id {flow_id!r} must be lowercase letters, digits, '-' or '_', "
                f"start with a letter or digit, at most {FLOW_ID_MAX} characters",
            )
            del data["id"]
        language = data.get("language")
        if language is not None and not LOCALE.match(language):
            self.problem(lines["language"], None, f"language {language!r} is not a locale code")
            del data["language"]

    def _version(self, node: Node) -> str | None:
        # `version: 3` or `version: 2026-01-01` are fine as labels; keep them as written
        if not isinstance(node, ScalarNode) or node.tag == NULL_TAG or not node.value.strip():
            self.problem(line_of(node), None, 'version must be a label such as "2026-1"')
            return None
        return node.value.strip()

    def _locale_list(self, node: Node) -> list[str] | None:
        if not isinstance(node, SequenceNode):
            self.problem(line_of(node), None, "languages must be a list such as [de, en]")
            return None
        found: list[str] = []
        for item in node.value:
            value = item.value if isinstance(item, ScalarNode) else None
            if not value or not LOCALE.match(value):
                self.problem(line_of(item), None, f"{value!r} is not a locale code")
            else:
                found.append(value)
        return found

    # ------------------------------------------------------------------ items (steps, polls)

    def _read_items(self, node: Node) -> Iterator[ItemDraft]:
        """The readable items of the list, each read (and its problems recorded) as the
        caller iterates."""
        if not isinstance(node, SequenceNode):
            self.problem(
                line_of(node), None, f"{self.ITEM}s must be a list (each item starts with '- ')"
            )
            return
        if not node.value:
            self.problem(line_of(node), None, f"{self.ITEM}s must not be empty")
        for item in node.value:
            draft = self._read_item(item)
            if draft is not None:
                yield draft

    def _read_item(self, node: Node) -> ItemDraft | None:
        if not isinstance(node, MappingNode):
            self.problem(
                line_of(node), None, f"each {self.ITEM} must be a mapping ({self.ITEM_SHAPE})"
            )
            return None
        triples = self._pairs(node, self._early_id(node))
        pairs = {key: value for key, value, _line in triples}
        draft = ItemDraft(data={}, line=line_of(node))
        draft.field_lines = {key: key_line for key, _value, key_line in triples}

        item_id = self._item_id(pairs.get("id"), draft)
        item_type = self._item_type(pairs.get("type"), draft, item_id)
        known = frozenset().union(*self.ITEM_FIELDS.values())
        allowed = self.ITEM_FIELDS[item_type] if item_type else known
        for key, value in pairs.items():
            if key in ("id", "type"):
                continue
            if key not in allowed:
                if key in known and item_type:
                    message = f"field {key!r} is not allowed for a {item_type.value} {self.ITEM}"
                else:
                    message = f"unknown field {key!r}"
                self.problem(draft.field_lines[key], item_id, message)
                continue
            self._item_field(key, value, draft, item_id)
        if item_type is not None:
            self._check_item(draft, item_id, item_type)
        return draft

    def _early_id(self, node: MappingNode) -> str | None:
        """The id to give problems found before the id is read (duplicate keys): none for
        steps."""
        return None

    def _item_id(self, node: Node | None, draft: ItemDraft) -> str | None:
        if node is None:
            self.problem(draft.line, None, f"{self.ITEM} without 'id'")
            return None
        value = self._text(node, None, "id")
        if value is None:
            return None
        if not self.ITEM_ID.match(value):
            self.problem(
                line_of(node),
                None,
                f"{self.ITEM} id {value!r} must start with a lowercase letter and contain only "
                "a-z, 0-9 and '_' (at most 40 characters)",
            )
            return None
        if self._reserved_id(value):
            self.problem(line_of(node), value, f"{self.ITEM} id {value!r} is a reserved word")
            return None
        draft.data["id"] = value
        return value

    def _reserved_id(self, value: str) -> bool:
        """Step ids are names in conditions: no Python keywords, no placeholder names."""
        return keyword.iskeyword(value) or value == FIRST_NAME

    def _item_type(
        self, node: Node | None, draft: ItemDraft, item_id: str | None
    ) -> StrEnum | None:
        if node is None:
            self.problem(draft.line, item_id, f"{self.ITEM} without 'type'")
            return None
        value = self._text(node, item_id, "type")
        if value is None:
            return None
        try:
            item_type = self.ITEM_TYPE(value)
        except ValueError:
            known = ", ".join(t.value for t in self.ITEM_TYPE)
            self.problem(
                line_of(node), item_id, f"unknown {self.ITEM} type {value!r} (known: {known})"
            )
            return None
        draft.data["type"] = item_type
        return item_type

    def _item_field(self, key: str, node: Node, draft: ItemDraft, step_id: str | None) -> None:
        """Read one field allowed for the step's type into the draft."""
        if key in TEXT_FIELDS:
            value: Any = self._text(node, step_id, key)
        elif key in BOOL_FIELDS:
            value = self._bool(node, step_id, key)
        elif key == "options":
            value = self._options(node, draft, step_id)
        elif key == "max_length":
            value = self._int(node, step_id, key)
            if value is not None and not 1 <= value <= MAX_LENGTH_LIMIT:
                self.problem(
                    line_of(node), step_id, f"max_length must be between 1 and {MAX_LENGTH_LIMIT}"
                )
                value = None
        elif key in ("min", "max"):
            if draft.type is StepType.NUMBER:
                value = self._number(node, step_id, key)
            else:
                value = self._int(node, step_id, key)
        else:  # pragma: no cover - every allowed field is handled above
            raise AssertionError(key)
        if value is not None:
            draft.data[key] = value

    def _check_item(self, draft: ItemDraft, step_id: str | None, step_type: StepType) -> None:
        """The rules of a step whose type is known, once its fields are read."""
        data = draft.data
        if "text" not in data and "text" not in draft.field_lines:
            self.problem(draft.line, step_id, "step without 'text'")
        if step_type in CHOICE_TYPES:
            options = data.get("options")
            if "options" not in draft.field_lines:
                self.problem(draft.line, step_id, f"a {step_type.value} step needs options")
            elif options is not None and len(options) < 2:
                self.problem(
                    draft.line_of("options"), step_id, "a choice needs at least two options"
                )
        if step_type is StepType.MULTIPLE_CHOICE:
            self._check_multi(draft, step_id)
        elif step_type is StepType.SCALE:
            self._check_scale(draft, step_id)
        elif step_type is StepType.NUMBER:
            low, high = data.get("min"), data.get("max")
            if low is not None and high is not None and low > high:
                self.problem(draft.line_of("min"), step_id, "min must not be greater than max")

    def _check_multi(self, draft: ItemDraft, step_id: str | None) -> None:
        data = draft.data
        count = len(data.get("options") or {})
        low = data.get("min", 0 if data.get("optional") else 1)
        high = data.get("max", count)
        if low < 0:
            self.problem(draft.line_of("min"), step_id, "min must not be negative")
        if high < 1:
            self.problem(draft.line_of("max"), step_id, "max must be at least 1")
        if low > high and "max" in data:
            self.problem(draft.line_of("min"), step_id, f"min ({low}) is greater than max ({high})")
        if count >= 2 and high > count:
            self.problem(
                draft.line_of("max"), step_id, f"max ({high}) is more than the {count} options"
            )
        if count >= 2 and low > count:
            self.problem(
                draft.line_of("min"), step_id, f"min ({low}) is more than the {count} options"
            )

    def _check_scale(self, draft: ItemDraft, step_id: str | None) -> None:
        data = draft.data
        for key in ("min", "max"):
            if key not in draft.field_lines:
                self.problem(draft.line, step_id, f"a scale needs '{key}'")
        low, high = data.get("min"), data.get("max")
        if low is None or high is None:
            return
        if low >= high:
            self.problem(draft.line_of("min"), step_id, "a scale needs min < max")
        elif high - low + 1 > SCALE_MAX_POINTS:
            self.problem(
                draft.line_of("max"),
                step_id,
                f"a scale has at most {SCALE_MAX_POINTS} points ({low}..{high} has "
                f"{high - low + 1})",
            )
