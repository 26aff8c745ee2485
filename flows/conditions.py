"""The tiny, safe condition language of `when:` (parsed with `ast`, whitelisted nodes only).

Allowed: names (earlier step ids; an unanswered or skipped step is None), `previous.<step id>`
(the same person's answer in the previous wave; None when there was none), string and number
literals (and None), lists of literals, == != < <= > >=, in / not in, and / or / not,
parentheses. Anything else is rejected when the flow is loaded.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class ConditionError(ValueError):
    """A condition that is not valid in the condition language."""


@dataclass(frozen=True)
class Condition:
    """A parsed condition: the names it uses and a way to evaluate it."""

    source: str
    tree: ast.Expression
    names: tuple[str, ...]

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        """Evaluate against answers (missing names are None); type clashes count as false."""
        return bool(_eval(self.tree.body, answers))


@lru_cache(maxsize=1024)
def parse_condition(source: str) -> Condition:
    """Parse and check a condition; raises ConditionError with a readable message."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"condition syntax error: {exc.msg}") from None
    names: list[str] = []
    _check(tree.body, names)
    return Condition(source=source, tree=tree, names=tuple(dict.fromkeys(names)))


def _check(node: ast.AST, names: list[str]) -> None:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And | ast.Or):
        for value in node.values:
            _check(value, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        # negative number literals parse as unary minus
        if not (isinstance(node.operand, ast.Constant) and _is_number(node.operand.value)):
            raise ConditionError("only numbers can be negative in a condition")
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                shown = {ast.Is: "is", ast.IsNot: "is not"}.get(type(op), type(op).__name__)
                raise ConditionError(f"operator '{shown}' is not allowed; use == or !=")
        _check(node.left, names)
        for comparator in node.comparators:
            _check(comparator, names)
    elif isinstance(node, ast.Name):
        names.append(node.id)
    elif _previous(node):
        names.append(f"previous.{node.attr}")
    elif isinstance(node, ast.Constant):
        if not (node.value is None or isinstance(node.value, str) or _is_number(node.value)):
            raise ConditionError(f"literal {node.value!r} is not allowed")
    elif isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            if isinstance(element, ast.Name):
                raise ConditionError("lists may only contain literals")
            _check(element, names)
    else:
        raise ConditionError(f"{_describe(node)} is not allowed in a condition")


def _previous(node: ast.AST) -> bool:
    """`previous.<name>`: the one attribute access the language has."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "previous"
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Call: "a function call",
        ast.Attribute: "attribute access",
        ast.Subscript: "indexing",
        ast.BinOp: "arithmetic",
        ast.Lambda: "lambda",
        ast.IfExp: "if/else",
    }
    return kinds.get(type(node), type(node).__name__)


def _eval(node: ast.AST, answers: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_eval(v, answers) for v in node.values)
        return any(_eval(v, answers) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, answers)
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.Compare):
        left = _eval(node.left, answers)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, answers)
            try:
                ok = _COMPARE[type(op)](left, right)
            except TypeError:
                # e.g. None < 3 or "x" in None: an unanswered step never matches
                return False
            if not ok:
                return False
            left = right
        return True
    if isinstance(node, ast.Name):
        return answers.get(node.id)
    if isinstance(node, ast.Attribute):  # previous.<name>, checked at parse time
        return answers.get(f"previous.{node.attr}")
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(e, answers) for e in node.elts]
    raise ConditionError(f"{_describe(node)} is not allowed in a condition")  # pragma: no cover
