"""Placeholders in flow texts: `{first_name}`, `{<earlier step id>}` and `{previous.<step id>}`
(the same person's answer in the previous wave of this flow); `{{` escapes."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

FIRST_NAME = "first_name"
PREVIOUS = "previous."  # prefix of a reference to the previous wave's answer
_NAME = re.compile(r"^(previous\.)?[a-z][a-z0-9_]{0,39}$")
_FORMATTER = string.Formatter()


class PlaceholderError(ValueError):
    """A text whose placeholders are malformed."""


def placeholder_names(text: str) -> list[str]:
    """Names used as placeholders in `text`, in order; raises PlaceholderError if malformed."""
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise PlaceholderError(f"malformed placeholder ({exc}); write {{{{ for a brace") from None
    names: list[str] = []
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if spec or conversion or not _NAME.match(field):
            shown = "{" + field + ("!" + conversion if conversion else "")
            shown += (":" + spec if spec else "") + "}"
            raise PlaceholderError(
                f"placeholder {shown} is not allowed: use {{first_name}}, {{step_id}} "
                "or {previous.step_id}"
            )
        names.append(field)
    return names


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill placeholders from `values` (missing names render empty), unescaping braces."""
    out: list[str] = []
    for literal, field, _spec, _conversion in _FORMATTER.parse(text):
        out.append(literal)
        if field is not None:
            out.append(values.get(field, ""))
    return "".join(out)
