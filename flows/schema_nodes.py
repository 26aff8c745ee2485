"""Reading YAML nodes with line numbers: drafts, the document root and typed scalar values.

The base of the flow and agenda readers; every problem is collected, nothing stops early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode

from flows.problems import Problem

OPTION_CODE = re.compile(r"^[a-z0-9_]{1,24}$")

NULL_TAG = "tag:yaml.org,2002:null"


@dataclass
class ItemDraft:
    """A step or poll as read from the file: the fields that passed, plus where everything is."""

    data: dict[str, Any]
    line: int
    field_lines: dict[str, int] = field(default_factory=dict)
    option_lines: dict[str, int] = field(default_factory=dict)

    @property
    def id(self) -> str | None:
        """The item id, if it was readable."""
        return self.data.get("id")

    @property
    def type(self) -> StrEnum | None:
        """The item type (a StepType or PollType), if it was known."""
        return self.data.get("type")

    def line_of(self, name: str) -> int:
        """Line of a field, or of the item when the field is absent."""
        return self.field_lines.get(name, self.line)


StepDraft = ItemDraft


def line_of(node: Node) -> int:
    """1-based line where a YAML node starts."""
    return node.start_mark.line + 1


def _yaml_error_line(exc: yaml.MarkedYAMLError) -> int:
    """The most useful line of a YAML error: where the broken construct started, if the
    parser only noticed at the end of the file (an unclosed quote or bracket)."""
    problem, context = exc.problem_mark, exc.context_mark
    if context and (problem is None or _at_end(exc.problem)):
        return context.line + 1
    return problem.line + 1 if problem else 1


def _at_end(problem: str | None) -> bool:
    return bool(problem) and ("end of stream" in problem or "<stream end>" in problem)


def _yaml_error_text(exc: yaml.MarkedYAMLError) -> str:
    text = exc.problem or "invalid YAML"
    if exc.context and exc.context_mark:
        text = f"{exc.context} (line {exc.context_mark.line + 1}): {text}"
    return text


class NodeReader:
    """Collects the problems of one file while reading its nodes into plain values."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._constructor = SafeConstructor()

    def problem(self, line: int, step_id: str | None, message: str) -> None:
        """Record one problem."""
        self.problems.append(Problem(self.file, line, step_id, message))

    def _root(self, text: str, shape: str) -> MappingNode | None:
        """The document's top mapping; None (and a problem) if there is none."""
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
            self.problem(line_of(root), None, shape)
            return None
        return root

    # ------------------------------------------------------------------ values

    def _pairs(self, node: MappingNode, step_id: str | None) -> list[tuple[str, Node, int]]:
        """(key, value, key line) with keys as written; duplicate keys are problems.

        The key's line is where a field is: a block mapping's value starts a line later.
        """
        seen: dict[str, int] = {}
        pairs: list[tuple[str, Node, int]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(line_of(key_node), step_id, "keys must be plain words")
                continue
            key = key_node.value
            if key in seen:
                self.problem(
                    line_of(key_node), step_id, f"duplicate key {key!r} (first at line {seen[key]})"
                )
                continue
            seen[key] = line_of(key_node)
            pairs.append((key, value_node, line_of(key_node)))
        return pairs

    def _text(self, node: Node, step_id: str | None, name: str) -> str | None:
        if not isinstance(node, ScalarNode):
            self.problem(line_of(node), step_id, f"{name} must be text, not a list or mapping")
            return None
        if node.tag == NULL_TAG or not node.value.strip():
            self.problem(line_of(node), step_id, f"{name} must not be empty")
            return None
        # block scalars (|, >) end in a newline; surrounding blanks never matter in a chat
        return node.value.strip()

    def _construct(self, node: Node) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except ConstructorError:
            return None

    def _int(self, node: Node, step_id: str | None, name: str) -> int | None:
        value = self._construct(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(line_of(node), step_id, f"{name} must be a whole number")
            return None
        return value

    def _number(self, node: Node, step_id: str | None, name: str) -> int | float | None:
        value = self._construct(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.problem(line_of(node), step_id, f"{name} must be a number")
            return None
        return value

    def _bool(self, node: Node, step_id: str | None, name: str) -> bool | None:
        value = self._construct(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, bool):
            self.problem(line_of(node), step_id, f"{name} must be true or false")
            return None
        return value

    def _options(self, node: Node, draft: ItemDraft, step_id: str | None) -> dict[str, str] | None:
        if not isinstance(node, MappingNode):
            self.problem(
                line_of(node), step_id, "options must be a mapping of code: label, one per line"
            )
            return None
        options: dict[str, str] = {}
        for code, value, code_line in self._pairs(node, step_id):
            if not OPTION_CODE.match(code):
                self.problem(
                    code_line,
                    step_id,
                    f"option code {code!r} must be 1-24 characters of a-z, 0-9 and '_'",
                )
                continue
            label = self._text(value, step_id, f"label of option {code!r}")
            if label is not None:
                options[code] = label
                draft.option_lines[code] = code_line
        return options
