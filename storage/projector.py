"""Projector queries: the open session behind a projector token (the SQL behind
bot/services/projector.py; the poll and vote queries are in storage/polls.py)."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Poll, PollSession
from storage.repo import Repo
from storage.statuses import SessionStatus


async def open_session_by_token(repo: Repo, token: str) -> PollSession | None:
    """The open session whose projector token this is; None once it is closed or unknown."""
    if not token:
        return None
    stmt = select(PollSession).where(
        PollSession.projector_token == token, PollSession.status == SessionStatus.OPEN
    )
    return (await repo.session.scalars(stmt)).one_or_none()


async def facilitator_locale(repo: Repo, session: PollSession) -> str | None:
    """The language the facilitator uses with the bot (the session's language), if known."""
    if session.facilitator_id is None:
        return None
    person = await repo.participant(session.facilitator_id)
    return person.locale if person is not None else None


async def latest_poll_of(repo: Repo, session_id: int) -> Poll | None:
    """The session's newest poll (open or closed), if it had any."""
    stmt = select(Poll).where(Poll.session_id == session_id).order_by(Poll.id.desc()).limit(1)
    return (await repo.session.scalars(stmt)).one_or_none()
