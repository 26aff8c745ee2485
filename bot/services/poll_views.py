"""What a poll looks like: join codes, voter keys, ballots and results (no database writes).

Shared by the poll use cases (bot/services/polls.py) and the group-mode polls.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from bot.i18n import Translator
from bot.services import callbacks
from bot.services.events import Quote
from bot.services.replies import Keyboard
from flows.agenda import PollSpec
from storage import polls as queries
from storage.models import Poll
from storage.repo import Repo

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
CODE_PATTERN = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
SESSION_PREFIX = "S"  # deep-link payload: /start S<code>
WORD = re.compile(r"^[\w\-']{1,30}$")
BALLOT_MARK = "🗳 "  # every ballot starts with it and the question
# Telegram's clock (a ballot's date) and ours (a poll's opening) may differ a little.
CLOCK_SLACK = timedelta(seconds=60)
BAR_WIDTH = 12


def new_code() -> str:
    """A short join code people can type from a projector (no 0/O, 1/I/L)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def voter_key(poll: Poll, who: str) -> str:
    """The key that finds a voter's own vote while the poll is open."""
    return hashlib.sha256(f"{poll.salt or poll.id}:{who}".encode()).hexdigest()


def spec_of(poll: Poll) -> PollSpec:
    """The poll's question, type and options."""
    return PollSpec.model_validate(poll.spec)


# --- results ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Results:
    """Counts per option (or word), voters and joined people of one poll."""

    rows: list[tuple[str, int]]
    voters: int
    joined: int


async def results(repo: Repo, poll: Poll) -> Results:
    """Current results, computed from the stored votes."""
    spec = spec_of(poll)
    values = await queries.vote_values(repo, poll.id)
    counts: Counter[str] = Counter()
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            counts[str(item)] += 1
    if spec.type == "words":
        rows = counts.most_common(20)
    elif spec.type == "scale":
        rows = [(str(n), counts[str(n)]) for n in range(spec.min, spec.max + 1)]
    else:
        rows = [(label, counts[code]) for code, label in spec.options.items()]
    joined = 0 if poll.session_id is None else await queries.member_count(repo, poll.session_id)
    return Results(rows, len(values), joined)


def results_text(spec: PollSpec, res: Results, t: Translator, final: bool) -> str:
    """Bars, counts and percentages as text (the live message on the facilitator's phone)."""
    head = ("🏁 " if final else "📊 ") + spec.question
    lines = [head, ""]
    for label, count in res.rows:
        share = count / res.voters if res.voters else 0
        bar = "█" * round(share * BAR_WIDTH) + "░" * (BAR_WIDTH - round(share * BAR_WIDTH))
        lines.append(f"{label}\n{bar} {count} · {t.percent(share)}")
    lines.append("")
    summary = t.gettext("{voters} voted · {joined} joined").format(
        voters=res.voters, joined=res.joined
    )
    lines.append(summary + ("" if not final else " · " + t.gettext("closed")))
    return "\n".join(lines)[:4096]


# --- what participants see -----------------------------------------------------------
def ballot(poll: Poll, t: Translator, interview_open: bool = False) -> tuple[str, Keyboard | None]:
    """The poll as a participant sees it: the question and its buttons. A person with an open
    interview learns how their words reach the poll instead (see `answers_ballot`)."""
    spec = spec_of(poll)
    if spec.type == "words":
        n = spec.max_words or 3
        hint = t.ngettext("Answer with one word.", "Answer with one to {n} words.", n)
        text = f"{ballot_head(spec)}\n\n{hint.format(n=n)}"
        if interview_open:
            text += "\n\n" + t.gettext(
                "You have an interview open, so what you type goes to the interview. To answer "
                "this poll, reply to this message: swipe it to the left, or tap and hold it and "
                "choose Reply."
            )
        return text, None
    if spec.type == "scale":
        numbers = [str(n) for n in range(spec.min, spec.max + 1)]
        rows = [numbers[i : i + 6] for i in range(0, len(numbers), 6)]
        keys = [[(n, callbacks.button(callbacks.Vote(poll.id, n))) for n in row] for row in rows]
        legend = ""
        if spec.min_label or spec.max_label:
            legend = (
                f"\n\n{spec.min} = {spec.min_label or ''} … {spec.max} = {spec.max_label or ''}"
            )
        return f"{ballot_head(spec)}{legend}", keys
    keys = [
        [(label, callbacks.button(callbacks.Vote(poll.id, code)))]
        for code, label in spec.options.items()
    ]
    text = ballot_head(spec)
    if spec.type == "multiple_choice":
        text += "\n\n" + t.gettext("Tap all that apply; tap again to remove.")
    return text, keys


def ballot_head(spec: PollSpec) -> str:
    """The first line of every ballot: how a reply to a ballot is recognised."""
    return BALLOT_MARK + spec.question


def is_ballot(quote: Quote | None) -> bool:
    """True if `quote` looks like a ballot of some poll (open, closed or with buttons)."""
    return quote is not None and quote.text.startswith(BALLOT_MARK)


def answers_ballot(poll: Poll, quote: Quote | None) -> bool:
    """True if `quote` (the bot message a person explicitly replied to) is this poll's ballot:
    it starts with the poll's question and was sent after the poll opened."""
    if quote is None:
        return False
    head = ballot_head(spec_of(poll))
    if quote.text != head and not quote.text.startswith(head + "\n"):
        return False
    return poll.opened_at is None or quote.sent_at >= poll.opened_at - CLOCK_SLACK
