"""Agendas for live polls: a session's prepared polls, and quick polls typed in the chat.

An agenda is one YAML file (usually in the `agendas/` folder beside the flows); its polls are
opened one after another. `backbone flows check` checks agendas too (a file whose top level
has `agenda:` is an agenda). Every problem is reported at once as `file:line: [poll] message`.

```yaml
agenda: steering-circle-2026-11   # a-z 0-9 - _, at most 40 characters
title: Steuerkreis November
language: de                      # optional, default de
polls:
  - id: priorities                # a-z 0-9 _, starts with a letter; unique in the agenda
    type: single_choice           # single_choice | multiple_choice | scale | words
    question: Welches Übergangsproblem sollen wir zuerst angehen?   # at most 300 characters
    options:                      # code: label, 2 to 12 options, labels at most 100 characters
      info: Zu wenig Information über Ausbildungsberufe
      match: Passung Betrieb–Jugendliche
    anonymous: true               # default true: no link from a vote to a person is stored
    timer: 60                     # optional: closes by itself after 10 to 3600 seconds
    show_results: true            # default false: participants get the final result
    hide_results: true            # default false: the projector shows no results until close
  - id: roles
    type: multiple_choice         # options as above; `max`: how many may be chosen (default all)
  - id: clarity
    type: scale                   # `min`, `max` between 0 and 10; `min_label`, `max_label`
  - id: feeling
    type: words                   # `max_words`: 1 to 3 words per answer (default 3)
```

Quick polls in the chat: `/poll [flags] Question? | Option A | Option B` (or one option per
line), flags `--multi`, `--scale 1-5`, `--words`, `--named`, `--timer 60`, `--show-results`,
`--hide-results`.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.agenda_schema import (
    CHOICE_POLLS,
    DEFAULT_MAX_WORDS,
    LABEL_MAX,
    OPTIONS_MAX,
    OPTIONS_MIN,
    QUESTION_MAX,
    SCALE_HIGH,
    SCALE_LOW,
    TIMER_MAX,
    TIMER_MIN,
    AgendaReader,
    PollType,
    looks_like_agenda,
)
from flows.problems import FlowError, Problem

AGENDAS_DIR = "agendas"  # subfolder of the flows directory


class PollSpec(BaseModel):
    """One poll: what is asked and how; which fields apply depends on `type`.

    Parsed specs carry effective values: a multiple choice's `max` defaults to the number of
    options, a words poll's `max_words` to 3.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    type: PollType
    question: str
    options: dict[str, str] = Field(default_factory=dict)  # code -> label (choice polls)
    anonymous: bool = True
    timer: int | None = None  # seconds until the poll closes by itself
    show_results: bool = False
    # The projector shows no counts while the poll is open (the room is not herded).
    hide_results: bool = False
    min: int | None = None  # scale
    max: int | None = None  # scale; multiple choice: most selections
    min_label: str | None = None
    max_label: str | None = None
    max_words: int | None = None  # words
    line: int = 0  # line of the poll in its agenda file (0 for quick polls)

    @property
    def is_choice(self) -> bool:
        """True for single and multiple choice polls."""
        return self.type in CHOICE_POLLS

    def max_choices(self) -> int:
        """How many options one person may select (1 for single choice)."""
        if self.type is PollType.MULTIPLE_CHOICE:
            return self.max if self.max is not None else len(self.options)
        return 1 if self.type is PollType.SINGLE_CHOICE else 0

    def scale_values(self) -> list[int]:
        """The points of a scale, low to high (empty for other polls)."""
        if self.type is not PollType.SCALE or self.min is None or self.max is None:
            return []
        return list(range(self.min, self.max + 1))

    def words_limit(self) -> int:
        """Words per answer of a words poll."""
        return self.max_words if self.max_words is not None else DEFAULT_MAX_WORDS


class Agenda(BaseModel):
    """A prepared session: polls opened one after another."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    language: str = "de"
    polls: list[PollSpec]
    source_path: str | None = None

    def poll(self, poll_id: str) -> PollSpec:
        """The poll with this id (KeyError if there is none)."""
        for poll in self.polls:
            if poll.id == poll_id:
                return poll
        raise KeyError(poll_id)


class AgendaError(FlowError):
    """An agenda could not be loaded; `problems` lists everything that is wrong."""


# ---------------------------------------------------------------------- agenda files


def parse_agenda(text: str, file: str = "<agenda>") -> tuple[Agenda | None, list[Problem]]:
    """Check an agenda document; returns the Agenda (None if anything is wrong) and all
    problems, sorted by line."""
    reader = AgendaReader(file)
    draft = reader.read(text)
    problems = sorted(reader.problems, key=lambda p: p.line)
    if draft is None or problems:
        return None, problems
    data = {
        "id": draft.data["agenda"],
        "title": draft.data["title"],
        "polls": [{**poll.data, "line": poll.line} for poll in draft.polls],
    }
    if "language" in draft.data:
        data["language"] = draft.data["language"]
    try:
        return Agenda.model_validate(data), []
    except ValidationError as exc:  # pragma: no cover - the schema stage should catch all
        return None, [Problem(file, 1, None, f"invalid agenda: {exc}")]


def check_agenda_file(path: str | Path) -> tuple[Agenda | None, list[Problem]]:
    """Read and check one agenda file; the Agenda (with source_path) or None, and problems."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, 0, None, f"cannot read file: {exc}")]
    agenda, problems = parse_agenda(text, file)
    if agenda is None:
        return None, problems
    return agenda.model_copy(update={"source_path": file}), []


def load_agenda(path: str | Path) -> Agenda:
    """Load and validate one agenda file; raises AgendaError(problems) listing everything."""
    agenda, problems = check_agenda_file(path)
    if agenda is None:
        raise AgendaError(problems)
    return agenda


def is_agenda_file(path: str | Path) -> bool:
    """True if `path` is a readable file whose top level has an `agenda:` key."""
    path = Path(path)
    try:
        if not path.is_file():
            return False
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return looks_like_agenda(text)


# ---------------------------------------------------------------------- quick polls

QUICK_POLL_ID = "poll"
QUICK_USAGE = "usage: /poll Question? | Option A | Option B"
KNOWN_FLAGS = "--multi, --scale 1-5, --words, --named, --timer 60, --show-results, --hide-results"

_COMMAND = re.compile(r"^/poll(?:@\w+)?(?=\s|$)", re.IGNORECASE)
# phones like to turn `--` into a dash: accept — and – as well
_FLAG = re.compile(r"^(--|—|–)([a-z][a-z_-]*)(?=\s|$)", re.IGNORECASE)
_RANGE = re.compile(r"^(\d{1,2})\s*(?:-|–|—|\.\.)\s*(\d{1,2})(?=\s|$)")
_SECONDS = re.compile(r"^(\d{1,5})\s*(s|sec|m|min)?(?=\s|$)", re.IGNORECASE)
_SWITCHES = {
    "multi": "multi",
    "words": "words",
    "named": "named",
    "show-results": "show_results",
    "show_results": "show_results",
    "hide-results": "hide_results",
    "hide_results": "hide_results",
}


def parse_quick_poll(text: str) -> PollSpec | list[str]:
    """Parse `/poll [flags] Question? | Option A | Option B …` into a PollSpec, or return
    the problems (short English sentences).

    Options may also be given one per line instead of with `|`. Option codes are `a`, `b`,
    `c` … in order. For `--scale`, two parts after the question are the low and high labels.
    """
    body = text.strip()
    command = _COMMAND.match(body)
    if command:
        body = body[command.end() :]
    problems: list[str] = []
    flags = _QuickFlags()
    body = flags.read(body, problems)
    poll_type = flags.poll_type(problems)
    question, answers = _question_and_answers(body, problems)
    spec = _quick_spec(poll_type, answers, flags, problems)
    if problems:
        return problems
    return PollSpec(id=QUICK_POLL_ID, type=poll_type, question=question, **spec)


class _QuickFlags:
    """The flags in front of a quick poll's question."""

    def __init__(self) -> None:
        self.switches: set[str] = set()
        self.scale: tuple[int, int] | None = None
        self.timer: int | None = None

    def read(self, body: str, problems: list[str]) -> str:
        """Read the flags at the start of `body`; returns the rest."""
        while True:
            body = body.lstrip()
            flag = _FLAG.match(body)
            if not flag:
                return body
            prefix, name = flag.group(1), flag.group(2).lower()
            if name not in _SWITCHES and name not in ("scale", "timer"):
                if prefix != "--":
                    return body  # a dash starting the question, not a flag
                problems.append(f"unknown flag --{name} (known: {KNOWN_FLAGS})")
                body = body[flag.end() :]
                continue
            body = body[flag.end() :].lstrip()
            if name == "scale":
                body = self._scale(body, problems)
            elif name == "timer":
                body = self._timer(body, problems)
            else:
                self.switches.add(_SWITCHES[name])

    def _scale(self, body: str, problems: list[str]) -> str:
        found = _RANGE.match(body)
        if not found:
            problems.append("--scale needs a range such as --scale 1-5")
            return body
        low, high = int(found.group(1)), int(found.group(2))
        if not (SCALE_LOW <= low < high <= SCALE_HIGH):
            problems.append(
                f"--scale needs a range from {SCALE_LOW} to {SCALE_HIGH} with low < high"
            )
        self.scale = (low, high)
        return body[found.end() :]

    def _timer(self, body: str, problems: list[str]) -> str:
        found = _SECONDS.match(body)
        if not found:
            problems.append("--timer needs seconds, such as --timer 60")
            return body
        unit = (found.group(2) or "s").lower()
        self.timer = int(found.group(1)) * (60 if unit.startswith("m") else 1)
        if not TIMER_MIN <= self.timer <= TIMER_MAX:
            problems.append(f"--timer must be between {TIMER_MIN} and {TIMER_MAX} seconds")
        return body[found.end() :]

    def poll_type(self, problems: list[str]) -> PollType:
        """The poll type the flags ask for (single choice without any)."""
        switches = self.switches
        kinds = [k for k in ("multi", "words") if k in switches] + (["scale"] if self.scale else [])
        if len(kinds) > 1:
            problems.append("use only one of --multi, --scale, --words")
        if self.scale is not None:
            return PollType.SCALE
        if "words" in switches:
            return PollType.WORDS
        if "multi" in switches:
            return PollType.MULTIPLE_CHOICE
        return PollType.SINGLE_CHOICE


def _question_and_answers(body: str, problems: list[str]) -> tuple[str, list[str]]:
    parts = [p.strip() for p in (body.split("|") if "|" in body else body.splitlines())]
    if "|" not in body:
        parts = [p for p in parts if p]
    while parts and not parts[-1]:
        parts.pop()  # a trailing `|`
    question, answers = (parts[0], parts[1:]) if parts else ("", [])
    if not question:
        problems.append(f"no question given ({QUICK_USAGE})")
    elif len(question) > QUESTION_MAX:
        problems.append(
            f"question is too long ({len(question)} characters, at most {QUESTION_MAX})"
        )
    return question, answers


def _quick_spec(
    poll_type: PollType, answers: list[str], flags: _QuickFlags, problems: list[str]
) -> dict:
    switches = flags.switches
    spec: dict = {
        "anonymous": "named" not in switches,
        "show_results": "show_results" in switches,
        "hide_results": "hide_results" in switches,
    }
    if flags.timer is not None:
        spec["timer"] = flags.timer
    if poll_type in CHOICE_POLLS:
        problems.extend(_quick_options(answers))
        options = {chr(ord("a") + i): label for i, label in enumerate(answers[:OPTIONS_MAX])}
        spec["options"] = options
        if poll_type is PollType.MULTIPLE_CHOICE:
            spec["max"] = len(options)
    elif poll_type is PollType.SCALE:
        if answers and len(answers) != 2:
            problems.append("a scale takes no options, or two labels: | low label | high label")
        elif answers:
            problems.extend(f"label {n} is empty" for n, a in enumerate(answers, 1) if not a)
            problems.extend(_too_long(answers, "label"))
            spec["min_label"], spec["max_label"] = answers
        if flags.scale is not None:
            spec["min"], spec["max"] = flags.scale
    else:
        if answers:
            problems.append("a words poll takes no options")
        spec["max_words"] = DEFAULT_MAX_WORDS
    return spec


def _quick_options(answers: list[str]) -> list[str]:
    problems: list[str] = []
    if len(answers) < OPTIONS_MIN:
        problems.append(f"give at least {OPTIONS_MIN} options, separated by | ({QUICK_USAGE})")
    elif len(answers) > OPTIONS_MAX:
        problems.append(f"at most {OPTIONS_MAX} options (found {len(answers)})")
    for number, label in enumerate(answers, start=1):
        if not label:
            problems.append(f"option {number} is empty")
    problems.extend(_too_long(answers, "option"))
    seen: set[str] = set()
    for label in answers:
        key = label.casefold()
        if label and key in seen:
            problems.append(f"option {label!r} is given twice")
        seen.add(key)
    return problems


def _too_long(texts: list[str], what: str) -> list[str]:
    return [
        f"{what} {number} is too long ({len(text)} characters, at most {LABEL_MAX})"
        for number, text in enumerate(texts, start=1)
        if len(text) > LABEL_MAX
    ]


__all__ = [
    "AGENDAS_DIR",
    "Agenda",
    "AgendaError",
    "PollSpec",
    "PollType",
    "check_agenda_file",
    "is_agenda_file",
    "load_agenda",
    "parse_agenda",
    "parse_quick_poll",
]
