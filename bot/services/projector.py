"""The projector view of a poll session: what the room sees on the big screen.

Read-only: a view is computed from the stored session, poll and votes, so it looks the same
from any process, and a page that asks again after a vote sees it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field

import segno

from bot.i18n import negotiate
from bot.services import staff
from bot.services.poll_views import SESSION_PREFIX, results, spec_of
from bot.services.results_back import poll_table
from bot.services.small_cells import DEFAULT_MIN_CELL_SIZE
from storage import polls as queries
from storage import projector as projector_queries
from storage import questions as question_queries
from storage.repo import Database, Repo
from storage.statuses import PollStatus

WORD_SIZES = 5  # the word cloud's steps of type size
TOP_QUESTIONS = 6  # questions from the room on the screen


def new_token() -> str:
    """An unguessable projector token (about 190 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def projector_link(base_url: str, token: str) -> str:
    """The projector page's address."""
    return f"{base_url.rstrip('/')}/p/{token}"


def qr_svg(link: str) -> str:
    """An inline SVG QR code of `link` (regular QR, error level M), drawn to scale by CSS."""
    return segno.make_qr(link, error="m").svg_inline(scale=1, border=2, omitsize=True)


@dataclass(frozen=True)
class Bar:
    """One answer of a poll with its count and share of the voters."""

    label: str
    count: int | None  # None: fewer than k people (small-cell suppression)
    share: float | None  # 0..1 of the voters (several choices each: the shares add up to
    # more); None when it may not be shown (it would give a hidden count back)


@dataclass(frozen=True)
class PollView:
    """The open poll as the projector shows it."""

    id: int
    question: str
    kind: str  # "choice", "scale" or "words"
    bars: tuple[Bar, ...]
    voters: int
    mean: float | None = None  # scale polls
    min_label: str | None = None
    max_label: str | None = None
    # Hidden until close: no bars, counts or words, only the answers to choose from.
    hidden: bool = False
    choices: tuple[str, ...] = ()
    final: bool = False  # the poll is closed: this is its result
    # Small-cell suppression: k when anything is hidden (0: nothing), and whether `voters`
    # is exact or only a lower bound (0: fewer than k voted).
    fewer_than: int = 0
    voters_exact: bool = True

    def word_size(self, bar: Bar) -> int:
        """1..WORD_SIZES: how large a word of the cloud is drawn."""
        top = max((b.count for b in self.bars), default=0)
        return 1 + round((WORD_SIZES - 1) * bar.count / top) if top else 1


@dataclass(frozen=True)
class ProjectorView:
    """Everything on the projector page; equal views look the same."""

    title: str
    code: str
    link: str  # the deep link people join with (the QR code)
    locale: str
    joined: int
    poll: PollView | None = None
    questions: tuple[QuestionView, ...] = ()


@dataclass(frozen=True)
class QuestionView:
    """A question from the room on the projector, with its upvotes."""

    text: str
    upvotes: int


async def poll_view(repo: Repo, session_id: int, k: int = 1) -> PollView | None:
    """The session's open poll with its current results, else the final result of its last
    poll; None before the first poll. A poll that hides its results shows none while open.
    Cells of fewer than `k` voters are hidden (bot.services.small_cells; the Projector passes
    BACKBONE_MIN_CELL_SIZE)."""
    poll = await projector_queries.latest_poll_of(repo, session_id)
    if poll is None:
        return None
    spec = spec_of(poll)
    res = await results(repo, poll)
    kind = spec.type.value if spec.type.value in ("scale", "words") else "choice"
    final = poll.status != PollStatus.OPEN
    if spec.hide_results and not final:
        choices = tuple(label for label, _ in res.rows) if kind == "choice" else ()
        return PollView(
            poll.id, spec.question, kind, (), res.voters, None, spec.min_label, spec.max_label,
            hidden=True, choices=choices,
        )  # fmt: skip
    table = poll_table(spec, res, k)
    bars = tuple(Bar(c.label, c.count, table.share(c)) for c in table.cells)
    mean = None
    if kind == "scale" and res.voters and not table.suppressed:  # a mean gives cells back
        mean = sum(int(label) * count for label, count in res.rows) / res.voters
    return PollView(
        poll.id, spec.question, kind, bars, table.scale, mean, spec.min_label, spec.max_label,
        final=final, fewer_than=table.k if table.suppressed else 0,
        voters_exact=table.answered is not None,
    )  # fmt: skip


async def questions_view(repo: Repo, session_id: int) -> tuple[QuestionView, ...]:
    """The top open questions from the room: most upvoted first, then the oldest."""
    listed = await question_queries.open_questions(repo, session_id, TOP_QUESTIONS)
    return tuple(QuestionView(q.text, q.upvotes) for q in listed)


@dataclass
class Projector:
    """The projector use case; `view` is cached briefly, so many screens watching one session
    cost one read per `max_age` seconds, not one each."""

    db: Database
    default_locale: str
    bot_username: str = "backbone_bot"
    # With the stream looking every 0.5 s: a vote is on screen within about 0.75 s.
    max_age: float = 0.25
    # Small-cell suppression of what the room sees (BACKBONE_MIN_CELL_SIZE).
    min_cell_size: int = DEFAULT_MIN_CELL_SIZE
    _cache: dict[str, tuple[float, ProjectorView | None]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def read(self, token: str) -> ProjectorView | None:
        """The view behind `token` now; None for an unknown token or a closed session."""
        async with self.db.transaction() as repo:
            session = await projector_queries.open_session_by_token(repo, token)
            if session is None:
                return None
            locale = negotiate(
                await projector_queries.facilitator_locale(repo, session), self.default_locale
            )
            link = staff.deep_link(self.bot_username, SESSION_PREFIX + session.code)
            joined = await queries.member_count(repo, session.id)
            return ProjectorView(
                session.title,
                session.code,
                link,
                locale,
                joined,
                await poll_view(repo, session.id, self.min_cell_size),
                await questions_view(repo, session.id),
            )

    async def view(self, token: str) -> ProjectorView | None:
        """`read`, or its result from less than `max_age` seconds ago."""
        now = time.monotonic()
        for old in [k for k, (at, _) in self._cache.items() if now - at > 60]:
            self._cache.pop(old, None)
            self._locks.pop(old, None)
        lock = self._locks.setdefault(token, asyncio.Lock())
        async with lock:
            hit = self._cache.get(token)
            if hit is not None and time.monotonic() - hit[0] < self.max_age:
                return hit[1]
            fresh = await self.read(token)
            self._cache[token] = (time.monotonic(), fresh)
            return fresh
