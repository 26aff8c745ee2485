"""Short button payloads (`kind:…`), parsed strictly in one place; they carry no authority.

Every kind has one grammar: numbers are canonical ASCII digits of bounded length (so they fit
every INTEGER column), texts are bounded and drawn from the alphabets the bot itself uses.
Anything else — a superscript digit, a 23-digit id, a stray character — parses to None, and
the caller refuses it like any forged button. What parses encodes back to the same string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
MAX_ID = 999_999_999  # nine digits: below 2**31, PostgreSQL's INTEGER
# l: language, c: consent, f: start flow, x: delete my data, v: vote, k: close poll,
# n: next agenda poll, g: start a campaign's flow, w: campaign wizard step
CHOICE_KINDS = ("l", "c", "f", "x", "v", "k", "n", "g", "w")

_ID = r"[1-9][0-9]{0,8}"
_INDEX = r"0|[1-9][0-9]{0,3}"
_CODE = r"[a-z0-9_]{1,24}"  # option codes, as flows.schema.OPTION_CODE
_FLOW = r"[a-z0-9][a-z0-9_-]{0,61}"  # flow ids, as flows.schema.FLOW_ID
# The engine's button actions: an option, a toggle, a scale point (maybe negative), done, skip.
_ACTION = rf"done|skip|(?:opt|tog):{_CODE}|opt:-[1-9][0-9]{{0,3}}"
# The privacy notice version is a setting (1-20 characters); only control characters are out.
_VERSION = r"[^\x00-\x1f\x7f-\x9f]{1,20}"
_WIZARD = rf"new:{_FLOW}|{_ID}:(?:g:{_ID}|gd|ok|no|s:(?:now|tomorrow)|d:[1-9][0-9]?|r:(?:3,7|3|-))"
_RUN = re.compile(rf"r:({_ID}):({_INDEX}):({_ACTION})")
_GRAMMAR = {
    "l": re.compile(r"[a-z]{2,3}(?:_[A-Za-z0-9]{2,8})*"),
    "c": re.compile(rf"{_VERSION}:(?:16|u16)"),
    "f": re.compile(_FLOW),
    "x": re.compile(r"yes|no"),
    "v": re.compile(rf"{_ID}:{_CODE}"),
    "k": re.compile(_ID),
    "n": re.compile(_ID),
    "g": re.compile(_ID),
    "w": re.compile(_WIZARD),
}
_NUMBER = re.compile(r"0|[1-9][0-9]{0,8}")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class RunButton:
    """A button of a question: run id, step index at the time it was shown, engine action."""

    run_id: int
    step_index: int
    action: str


@dataclass(frozen=True)
class Choice:
    """A button outside a run (see CHOICE_KINDS); `value` matches its kind's grammar."""

    kind: str
    value: str

    @property
    def args(self) -> tuple[int | str, ...]:
        """The value's parts, ids as ints: `v` (poll id, choice), `k`/`n`/`g` (id,),
        `c` (version, band), `w` (campaign id or "new", step[, choice]), others (value,)."""
        if _GRAMMAR.get(self.kind) is None or not _GRAMMAR[self.kind].fullmatch(self.value):
            raise ValueError(f"not a well-formed {self.kind!r} payload: {self.value!r}")
        if self.kind == "c":
            version, _, band = self.value.rpartition(":")
            return (version, band)
        if self.kind in ("k", "n", "g"):
            return (int(self.value),)
        if self.kind == "v":
            poll_id, _, code = self.value.partition(":")
            return (int(poll_id), code)
        if self.kind == "w":
            parts = self.value.split(":")
            if parts[0] == "new":
                return ("new", parts[1])
            numeric = parts[1] in ("g", "d")
            return (int(parts[0]), parts[1], *(int(p) if numeric else p for p in parts[2:]))
        return (self.value,)


def number(text: str, low: int = 0, high: int = MAX_ID) -> int | None:
    """`text` as an int if it is canonical ASCII digits within [low, high], else None."""
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def run_button(run_id: int, step_index: int, action: str) -> str:
    """Payload for a question's button."""
    return _checked(f"r:{run_id}:{step_index}:{action}")


def choice(kind: str, value: str) -> str:
    """Payload for a button outside a run (language, consent, flow, vote, …)."""
    return _checked(f"{kind}:{value}")


def encode(button: RunButton | Choice) -> str:
    """The payload string of a parsed button (the inverse of `parse`)."""
    if isinstance(button, RunButton):
        return run_button(button.run_id, button.step_index, button.action)
    return choice(button.kind, button.value)


def _checked(data: str) -> str:
    # The bot never makes a button it could not read back: that would be a dead button.
    if parse(data) is None:
        raise ValueError(f"not a valid button payload: {data!r}")
    return data


def parse(data: str | None) -> RunButton | Choice | None:
    """The button behind `data`, or None when it is malformed (forged or from elsewhere)."""
    if not data or len(data) > MAX_BYTES or _SURROGATE.search(data):
        return None
    if len(data.encode()) > MAX_BYTES:
        return None
    run = _RUN.fullmatch(data)
    if run is not None:
        return RunButton(int(run.group(1)), int(run.group(2)), run.group(3))
    kind, _, value = data.partition(":")
    grammar = _GRAMMAR.get(kind)
    if grammar is None or not grammar.fullmatch(value):
        return None
    return Choice(kind, value)
