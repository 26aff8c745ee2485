"""Poll queries: sessions, polls, members and votes (the SQL behind bot/services/polls.py).

Every status change of a poll or a session goes through `close_poll` / `close_session`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from storage.models import Identity, Poll, PollSession, SessionMember, Vote, utcnow
from storage.repo import Repo
from storage.statuses import PollStatus, SessionStatus, check_transition


# --- lifecycles ----------------------------------------------------------------------------
def close_poll(poll: Poll, now: datetime) -> None:
    """open -> closed; the salt goes, so from now on no vote can be linked to anyone."""
    poll.status = check_transition(f"poll {poll.id}", poll.status, PollStatus.CLOSED)
    poll.closed_at = now
    poll.salt = None


def close_session(session: PollSession, now: datetime) -> None:
    """open -> closed: nobody can join any more."""
    session.status = check_transition(
        f"session {session.code}", session.status, SessionStatus.CLOSED
    )
    session.closed_at = now


# --- sessions ------------------------------------------------------------------------------
async def open_session_of(repo: Repo, participant_id: int) -> PollSession | None:
    """The facilitator's newest open session, if any."""
    stmt = (
        select(PollSession)
        .where(
            PollSession.facilitator_id == participant_id,
            PollSession.status == SessionStatus.OPEN,
        )
        .order_by(PollSession.id.desc())
        .limit(1)
    )
    return (await repo.session.scalars(stmt)).one_or_none()


async def poll_session(repo: Repo, session_id: int | None) -> PollSession | None:
    """A session by id (None for None)."""
    return None if session_id is None else await repo.session.get(PollSession, session_id)


async def session_by_code(repo: Repo, code: str) -> PollSession | None:
    """A session by its join code (any status)."""
    stmt = select(PollSession).where(PollSession.code == code.upper())
    return (await repo.session.scalars(stmt)).one_or_none()


async def open_session_with_code(repo: Repo, code: str) -> bool:
    """Whether an open session has this join code."""
    found = await repo.session.scalar(
        select(PollSession.id).where(
            PollSession.code == code, PollSession.status == SessionStatus.OPEN
        )
    )
    return found is not None


async def add_session(repo: Repo, new_code, **fields: Any) -> PollSession:
    """A new open session with a join code `new_code()` that no other session has."""
    while True:
        code = new_code()
        taken = await repo.session.scalar(select(PollSession.id).where(PollSession.code == code))
        if taken is None:
            break
    session = PollSession(code=code, status=SessionStatus.OPEN, **fields)
    repo.session.add(session)
    await repo.session.flush()
    return session


async def add_member(repo: Repo, session_id: int, participant_id: int) -> None:
    """Put a person in a session (joining twice changes nothing)."""
    await repo.session.execute(
        repo.insert_on_conflict(SessionMember)
        .values(session_id=session_id, participant_id=participant_id, joined_at=utcnow())
        .on_conflict_do_nothing(index_elements=["session_id", "participant_id"])
    )


async def is_member(repo: Repo, session_id: int | None, participant_id: int) -> bool:
    """Whether the person joined this session."""
    if session_id is None:
        return False
    return await repo.session.get(SessionMember, (session_id, participant_id)) is not None


async def member_count(repo: Repo, session_id: int) -> int:
    """How many people joined a session."""
    stmt = select(func.count()).where(SessionMember.session_id == session_id)
    return await repo.session.scalar(stmt) or 0


async def member_chats(repo: Repo, session_id: int) -> list[int]:
    """The private chats of everyone who joined a session and is still linked."""
    stmt = (
        select(Identity.chat_id)
        .join(SessionMember, SessionMember.participant_id == Identity.participant_id)
        .where(SessionMember.session_id == session_id)
    )
    return list(await repo.session.scalars(stmt))


# --- polls ---------------------------------------------------------------------------------
async def poll(repo: Repo, poll_id: int) -> Poll | None:
    """A poll by id."""
    return await repo.session.get(Poll, poll_id)


async def add_poll(repo: Repo, **fields: Any) -> Poll:
    """A new open poll."""
    poll = Poll(status=PollStatus.OPEN, **fields)
    repo.session.add(poll)
    await repo.session.flush()
    return poll


async def poll_count(repo: Repo, session_id: int) -> int:
    """How many polls a session had."""
    stmt = select(func.count()).where(Poll.session_id == session_id)
    return await repo.session.scalar(stmt) or 0


async def open_poll_of(repo: Repo, session_id: int) -> Poll | None:
    """The open poll of a session, if any."""
    stmt = select(Poll).where(Poll.session_id == session_id, Poll.status == PollStatus.OPEN)
    return (await repo.session.scalars(stmt.limit(1))).one_or_none()


async def open_group_polls(repo: Repo, chat_id: int) -> list[Poll]:
    """The open native polls of a Telegram group."""
    stmt = select(Poll).where(Poll.group_chat_id == chat_id, Poll.status == PollStatus.OPEN)
    return list((await repo.session.scalars(stmt)).all())


async def poll_by_native(repo: Repo, native_poll_id: str) -> Poll | None:
    """The poll behind a native Telegram poll."""
    stmt = select(Poll).where(Poll.native_poll_id == native_poll_id)
    return (await repo.session.scalars(stmt)).one_or_none()


async def open_polls_joined_by(repo: Repo, participant_id: int) -> list[Poll]:
    """Open polls of every session this person joined."""
    stmt = (
        select(Poll)
        .join(SessionMember, SessionMember.session_id == Poll.session_id)
        .where(SessionMember.participant_id == participant_id, Poll.status == PollStatus.OPEN)
    )
    return list(await repo.session.scalars(stmt))


async def timed_open_polls(repo: Repo) -> list[Poll]:
    """Open polls with a timer."""
    stmt = select(Poll).where(Poll.status == PollStatus.OPEN, Poll.closes_at.is_not(None))
    return list(await repo.session.scalars(stmt))


async def open_poll_ids(repo: Repo) -> list[int]:
    """Ids of every open poll."""
    return list(await repo.session.scalars(select(Poll.id).where(Poll.status == PollStatus.OPEN)))


# --- votes ---------------------------------------------------------------------------------
async def vote_values(repo: Repo, poll_id: int) -> list[Any]:
    """The stored value of every vote in a poll."""
    return list(await repo.session.scalars(select(Vote.value).where(Vote.poll_id == poll_id)))


async def vote_of(repo: Repo, poll_id: int, voter_key: str) -> Vote | None:
    """One voter's current vote in a poll."""
    stmt = select(Vote).where(Vote.poll_id == poll_id, Vote.voter_key == voter_key)
    return (await repo.session.scalars(stmt)).one_or_none()


async def store_vote(
    repo: Repo,
    poll: Poll,
    voter_key: str,
    participant_id: int | None,
    vote: Vote | None,
    value: Any,
    now: datetime,
) -> None:
    """Save a voter's choice; an empty choice withdraws the vote. Anonymous polls keep no
    participant link."""
    if isinstance(value, list) and not value:
        if vote is not None:
            await repo.session.delete(vote)
        return
    if vote is None:
        repo.session.add(
            Vote(
                poll_id=poll.id,
                voter_key=voter_key,
                participant_id=None if poll.anonymous else participant_id,
                value=value,
                voted_at=now,
                updated_at=now,
            )
        )
    else:
        vote.value = value
        vote.updated_at = now
    await repo.session.flush()
