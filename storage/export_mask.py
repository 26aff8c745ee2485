"""Masking a participant's first name where a question's wording showed it."""

from __future__ import annotations

import re
import string

from flows.model import Step
from flows.placeholders import FIRST_NAME
from storage.export_plan import Version

FIRST_NAME_MASK = "{first_name}"
_FORMATTER = string.Formatter()


def _template_pattern(template: str) -> re.Pattern[str] | None:
    """A regex matching the rendered template; {first_name} spans are the numbered groups."""
    parts: list[str] = []
    try:
        for literal, name, _spec, _conv in _FORMATTER.parse(template):
            parts.append(re.escape(literal))
            if name is None:
                continue
            # Greedy for the name, lazy for other placeholders: when a split is ambiguous
            # the mask rather covers too much than leaves part of a name visible.
            # Names have no line breaks, so a name at the end of a scale's text stops
            # before the legend.
            parts.append("((?-s:.*))" if name == FIRST_NAME else ".*?")
    except ValueError:
        return None
    return re.compile("".join(parts), re.DOTALL)


def _has_first_name(template: str) -> bool:
    try:
        return any(name == FIRST_NAME for _, name, _, _ in _FORMATTER.parse(template))
    except ValueError:
        return False


class NameMasker:
    """Masks a participant's first name where a question template placed it in shown_text."""

    def __init__(self) -> None:
        # (version id, step id) -> (full, prefix) patterns per text template, or None when no
        # template of the step uses {first_name} (the common case: shown_text passes as is).
        self._cache: dict[tuple[int, str], list[tuple[re.Pattern[str], re.Pattern[str]]] | None]
        self._cache = {}

    def _rules(
        self, version: Version, step: Step
    ) -> list[tuple[re.Pattern[str], re.Pattern[str]]] | None:
        key = (version.id, step.id)
        if key in self._cache:
            return self._cache[key]
        flow = version.flow
        locales = [None, *flow.locales()]
        texts = {flow.text(f"{step.id}.text", loc) for loc in locales}
        labels = {
            flow.text(f"{step.id}.{name}", loc)
            for name in ("min_label", "max_label")
            if getattr(step, name)
            for loc in locales
        }
        rules = None
        if any(_has_first_name(t) for t in texts | labels):
            rules = []
            # A name inside a scale legend is too rare to match precisely: no pattern then,
            # so mask() falls back to the unrendered wording.
            if not any(_has_first_name(t) for t in labels):
                for text in sorted(texts):
                    pattern = _template_pattern(text)
                    if pattern is not None:
                        # Scales show the text, then "\n\n" and the legend.
                        prefix = re.compile(pattern.pattern + r"(?=\n\n)", re.DOTALL)
                        rules.append((pattern, prefix))
        self._cache[key] = rules
        return rules

    def mask(self, version: Version | None, step: Step | None, shown: str, locale: str) -> str:
        """shown_text with the first name replaced by {first_name}; never leaks it."""
        if version is None or step is None or not shown:
            return shown
        rules = self._rules(version, step)
        if rules is None:
            return shown
        for full, prefix in rules:
            match = full.fullmatch(shown) or prefix.match(shown)
            if match:
                out, last = [], 0
                for group in range(1, match.re.groups + 1):
                    start, end = match.span(group)
                    out += [shown[last:start], FIRST_NAME_MASK]
                    last = end
                return "".join([*out, shown[last:]])
        # No template fits: the unrendered wording is safe and still says what was asked.
        return version.flow.text(f"{step.id}.text", locale)
