"""The staff console's queries: login links, browser sessions and the pages' lists (the SQL
behind bot/services/console.py). Tokens arrive here already hashed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from storage.models import Delivery, Identity, Participant, Poll, PollSession
from storage.models_console import ConsoleLogin, ConsoleSession
from storage.repo import Repo
from storage.statuses import DeliveryStatus, SessionStatus


@dataclass(frozen=True)
class Signed:
    """A live browser session and the person behind it, as stored right now."""

    session_id: int
    participant_id: int
    pseudonym: str
    role: str
    telegram_user_id: int | None
    locale: str


async def add_login(repo: Repo, participant_id: int, token_hash: str, expires_at: datetime):
    """Store a new login link (its hash)."""
    repo.session.add(
        ConsoleLogin(token_hash=token_hash, participant_id=participant_id, expires_at=expires_at)
    )
    await repo.session.flush()


async def use_login(repo: Repo, token_hash: str, now: datetime) -> int | None:
    """Spend a login link: the person's id, or None if unknown, used or expired. One UPDATE
    decides, so two browsers racing with the same link cannot both win."""
    stmt = (
        update(ConsoleLogin)
        .where(
            ConsoleLogin.token_hash == token_hash,
            ConsoleLogin.used_at.is_(None),
            ConsoleLogin.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if (await repo.session.execute(stmt)).rowcount != 1:
        return None
    found = select(ConsoleLogin.participant_id).where(ConsoleLogin.token_hash == token_hash)
    return (await repo.session.execute(found)).scalar_one()


async def add_session(
    repo: Repo, participant_id: int, token_hash: str, locale: str, expires_at: datetime
) -> None:
    """Store a new browser session (its hash)."""
    repo.session.add(
        ConsoleSession(
            token_hash=token_hash,
            participant_id=participant_id,
            locale=locale,
            expires_at=expires_at,
        )
    )
    await repo.session.flush()


async def signed_in(repo: Repo, token_hash: str, now: datetime) -> Signed | None:
    """The open, unexpired session with this hash and its person; None otherwise."""
    stmt = (
        select(
            ConsoleSession.id,
            ConsoleSession.locale,
            Participant.id.label("pid"),
            Participant.pseudonym,
            Participant.role,
            Identity.telegram_user_id,
        )
        .join(Participant, Participant.id == ConsoleSession.participant_id)
        .outerjoin(Identity, Identity.participant_id == Participant.id)
        .where(
            ConsoleSession.token_hash == token_hash,
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.expires_at > now,
        )
    )
    row = (await repo.session.execute(stmt)).first()
    if row is None:
        return None
    return Signed(row.id, row.pid, row.pseudonym, row.role, row.telegram_user_id, row.locale)


async def end_session(repo: Repo, session_id: int, now: datetime) -> None:
    """Log a browser session out."""
    stmt = (
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    await repo.session.execute(stmt)


async def set_locale(repo: Repo, session_id: int, locale: str) -> None:
    """The console's language for this browser session."""
    stmt = (
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id)
        .values(locale=locale)
        .execution_options(synchronize_session=False)
    )
    await repo.session.execute(stmt)


async def person_locale(repo: Repo, participant_id: int) -> str | None:
    """The language the person uses with the bot."""
    person = await repo.session.get(Participant, participant_id)
    return person.locale if person is not None else None


@dataclass(frozen=True)
class SessionRow:
    """One poll session in the console's list."""

    id: int
    code: str
    title: str
    status: str
    created_at: datetime
    polls: int
    facilitator: str | None


async def poll_sessions(repo: Repo, open_only: bool = False, limit: int = 100) -> list[SessionRow]:
    """Poll sessions, newest first, with their number of polls and facilitator's pseudonym."""
    polls = select(func.count(Poll.id)).where(Poll.session_id == PollSession.id).scalar_subquery()
    stmt = (
        select(PollSession, polls.label("polls"), Participant.pseudonym)
        .outerjoin(Participant, Participant.id == PollSession.facilitator_id)
        .order_by(PollSession.id.desc())
        .limit(limit)
    )
    if open_only:
        stmt = stmt.where(PollSession.status == SessionStatus.OPEN)
    rows = (await repo.session.execute(stmt)).all()
    return [
        SessionRow(s.id, s.code, s.title, str(s.status), s.created_at, n, who) for s, n, who in rows
    ]


async def session_polls(repo: Repo, session_id: int) -> list[Poll]:
    """A session's polls in the order they were asked."""
    stmt = select(Poll).where(Poll.session_id == session_id).order_by(Poll.id)
    return list((await repo.session.scalars(stmt)).all())


async def uncertain_pseudonyms(repo: Repo, campaign_id: int) -> list[str]:
    """Who a campaign's uncertain messages were for (in flight during a crash: they may or
    may not have arrived, and are never sent again)."""
    stmt = (
        select(Participant.pseudonym)
        .join(Delivery, Delivery.participant_id == Participant.id)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.UNCERTAIN)
        .distinct()
        .order_by(Participant.pseudonym)
    )
    return list((await repo.session.scalars(stmt)).all())
