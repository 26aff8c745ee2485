"""Short button payloads (`kind:…`), parsed in one place; they carry no authority."""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 64
# l: language, c: consent, f: start flow, x: delete my data, v: vote, k: close poll,
# n: next agenda poll, g: start a campaign's flow, w: campaign wizard step
CHOICE_KINDS = ("l", "c", "f", "x", "v", "k", "n", "g", "w")


@dataclass(frozen=True)
class RunButton:
    """A button of a question: run id, step index at the time it was shown, engine action."""

    run_id: int
    step_index: int
    action: str


@dataclass(frozen=True)
class Choice:
    """A button outside a run (see CHOICE_KINDS)."""

    kind: str
    value: str


def run_button(run_id: int, step_index: int, action: str) -> str:
    """Payload for a question's button."""
    data = f"r:{run_id}:{step_index}:{action}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def choice(kind: str, value: str) -> str:
    """Payload for a language, consent or flow button."""
    data = f"{kind}:{value}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def parse(data: str | None) -> RunButton | Choice | None:
    """The button behind `data`, or None when it is malformed (forged or from elsewhere)."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    kind, _, rest = data.partition(":")
    if kind == "r":
        run_id, _, rest = rest.partition(":")
        index, _, action = rest.partition(":")
        if run_id.isdigit() and index.isdigit() and action:
            return RunButton(int(run_id), int(index), action)
        return None
    if kind in CHOICE_KINDS and rest:
        return Choice(kind, rest)
    return None
