"""Button payloads and deep-link payloads: one typed dataclass per kind, one codec.

Buttons carry short strings (`kind:…`, at most 64 bytes) and no authority. `decode` turns
one into its typed payload (or None), `encode` turns a payload back into the string; routers
register the payload classes they handle and never split strings themselves. `/start`
deep-link payloads (session, role link, group link, flow) are read by `decode_start`.

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
# n: next agenda poll, g: start a campaign's flow, w: campaign wizard step,
# u: upvote a question from the room, m: the facilitator marks a question answered or hidden,
# b: staff confirm (or cancel) sending results back
CHOICE_KINDS = ("l", "c", "f", "x", "v", "k", "n", "g", "w", "u", "m", "b")

_ID = r"[1-9][0-9]{0,8}"
_INDEX = r"0|[1-9][0-9]{0,3}"
_CODE = r"[a-z0-9_]{1,24}"  # option codes, as flows.schema_nodes.OPTION_CODE
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
    "b": re.compile(rf"{_ID}:(?:ok|again|no)"),
    "u": re.compile(_ID),
    "m": re.compile(rf"{_ID}:[ah]"),
}
_NUMBER = re.compile(r"0|[1-9][0-9]{0,8}")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class RunButton:  # kind "r"
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
        if self.kind in ("k", "n", "g", "u"):
            return (int(self.value),)
        if self.kind in ("v", "m"):
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


# --- typed payloads ----------------------------------------------------------------------
@dataclass(frozen=True)
class Language:
    """l: choose the bot's language."""

    locale: str


@dataclass(frozen=True)
class Consent:
    """c: agree to privacy notice `version` as 16+ (band "16") or say under 16 ("u16")."""

    version: str
    band: str


@dataclass(frozen=True)
class StartFlow:
    """f: start a flow from the list of flows."""

    flow_id: str


@dataclass(frozen=True)
class Delete:
    """x: the answer to "delete my data?"."""

    confirmed: bool


@dataclass(frozen=True)
class Vote:
    """v: a ballot button (option code, or a scale number as text)."""

    poll_id: int
    choice: str


@dataclass(frozen=True)
class ClosePoll:
    """k: the facilitator's ⏹ Close poll."""

    poll_id: int


@dataclass(frozen=True)
class NextPoll:
    """n: the facilitator's ▶ next poll of the session's agenda."""

    session_id: int


@dataclass(frozen=True)
class CampaignStart:
    """g: the start button of a campaign's invitation or reminder."""

    campaign_id: int


@dataclass(frozen=True)
class WizardStep:
    """w: a step of the /campaign wizard: a draft (or "new"), the step and its choice."""

    campaign: int | str
    step: str
    choice: int | str | None = None

    @property
    def args(self) -> tuple[int | str, ...]:
        """(campaign, step[, choice]), as `CampaignChat.tap` takes them."""
        tail = () if self.choice is None else (self.choice,)
        return (self.campaign, self.step, *tail)


@dataclass(frozen=True)
class Upvote:
    """u: upvote a question from the room (a second tap withdraws it)."""

    question_id: int


@dataclass(frozen=True)
class ModerateQuestion:
    """m: the facilitator marks a question answered ("a") or hides it ("h")."""

    question_id: int
    action: str


@dataclass(frozen=True)
class ResultsConfirm:
    """b: staff confirm (ok, or again: once more) or cancel (no) a results-back preview."""

    send_id: int
    action: str


Payload = (
    RunButton
    | ResultsConfirm
    | Language
    | Consent
    | StartFlow
    | Delete
    | Vote
    | ClosePoll
    | NextPoll
    | CampaignStart
    | WizardStep
    | Upvote
    | ModerateQuestion
)
_ONE_ID = {"k": ClosePoll, "n": NextPoll, "g": CampaignStart, "u": Upvote}


def _typed(button: Choice) -> Payload:
    """The typed payload of a well-formed Choice."""
    args = button.args
    if button.kind in _ONE_ID:
        return _ONE_ID[button.kind](*args)
    return {
        "l": lambda: Language(button.value),
        "c": lambda: Consent(*args),
        "f": lambda: StartFlow(button.value),
        "x": lambda: Delete(button.value == "yes"),
        "v": lambda: Vote(*args),
        "w": lambda: WizardStep(*args),
        "b": lambda: ResultsConfirm(int(button.value.split(":")[0]), button.value.split(":")[1]),
        "m": lambda: ModerateQuestion(*args),
    }[button.kind]()


def _untyped(payload: Payload) -> RunButton | Choice:
    """The Choice (kind and value string) behind a typed payload."""
    if isinstance(payload, RunButton | Choice):
        return payload
    kind, value = {
        Language: lambda p: ("l", p.locale),
        Consent: lambda p: ("c", f"{p.version}:{p.band}"),
        StartFlow: lambda p: ("f", p.flow_id),
        Delete: lambda p: ("x", "yes" if p.confirmed else "no"),
        Vote: lambda p: ("v", f"{p.poll_id}:{p.choice}"),
        ClosePoll: lambda p: ("k", str(p.poll_id)),
        NextPoll: lambda p: ("n", str(p.session_id)),
        CampaignStart: lambda p: ("g", str(p.campaign_id)),
        WizardStep: lambda p: ("w", ":".join(str(a) for a in p.args)),
        ResultsConfirm: lambda p: ("b", f"{p.send_id}:{p.action}"),
        Upvote: lambda p: ("u", str(p.question_id)),
        ModerateQuestion: lambda p: ("m", f"{p.question_id}:{p.action}"),
    }[type(payload)](payload)
    return Choice(kind, value)


def decode(data: str | None) -> Payload | None:
    """The typed payload behind button data, or None when it is malformed."""
    parsed = parse(data)
    if parsed is None or isinstance(parsed, RunButton):
        return parsed
    return _typed(parsed)


def button(payload: Payload) -> str:
    """The button data of a typed payload; raises for one the bot could not read back."""
    return encode(_untyped(payload))


# --- deep links (/start <payload>) ----------------------------------------------------------
# Prefixes are upper case and flow ids lower case, so they can never collide.
SESSION_PREFIX = "S"
GRANT_PREFIX = "G"
JOIN_PREFIX = "J"
MAX_START = 64  # Telegram's limit for a start parameter


@dataclass(frozen=True)
class SessionLink:
    """S<code>: join a live-poll session."""

    code: str


@dataclass(frozen=True)
class GrantLink:
    """G<token>: a one-time link that gives a staff role."""

    token: str


@dataclass(frozen=True)
class JoinLink:
    """J<token>: a link that puts a person into a group."""

    token: str


@dataclass(frozen=True)
class FlowLink:
    """<flow id>: start (or remember to start) a flow."""

    flow_id: str


StartPayload = SessionLink | GrantLink | JoinLink | FlowLink
_LINKS = {SESSION_PREFIX: SessionLink, GRANT_PREFIX: GrantLink, JOIN_PREFIX: JoinLink}
_LINK_PREFIX = {cls: prefix for prefix, cls in _LINKS.items()}


def decode_start(payload: str | None) -> StartPayload | None:
    """What a /start payload (or a remembered pending one) asks for; None when empty."""
    payload = (payload or "").strip()[:MAX_START]
    if not payload:
        return None
    link = _LINKS.get(payload[:1])
    if link is not None:
        # A damaged token or code is still that kind of link: it is refused as such.
        return link(payload[1:])
    return FlowLink(payload)


def start_payload(link: StartPayload) -> str:
    """The /start payload string of a deep link (also what is kept as `pending_flow`)."""
    if isinstance(link, FlowLink):
        return link.flow_id
    value = link.code if isinstance(link, SessionLink) else link.token
    return _LINK_PREFIX[type(link)] + value
