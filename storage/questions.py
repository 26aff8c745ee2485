"""Questions from the room: the SQL behind bot/services/room_questions.py.

Every status change of a question goes through `models_questions.set_question_status`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from storage.models import PollSession, SessionMember
from storage.models_questions import QuestionRoom, QuestionStatus, QuestionUpvote, RoomQuestion
from storage.repo import Repo
from storage.statuses import SessionStatus


@dataclass(frozen=True)
class ListedQuestion:
    """An open question with its number of upvotes."""

    id: int
    text: str
    upvotes: int
    author_key: str
    asked_at: datetime


async def room_salt(repo: Repo, session_id: int) -> str | None:
    """The session's questions salt, made on first use; None once the session has ended."""
    room = await repo.session.get(QuestionRoom, session_id)
    if room is None:
        await repo.session.execute(
            repo.insert_on_conflict(QuestionRoom)
            .values(session_id=session_id, salt=secrets.token_hex(16))
            .on_conflict_do_nothing(index_elements=["session_id"])
        )
        room = await repo.session.get(QuestionRoom, session_id, populate_existing=True)
    return room.salt if room is not None else None


async def erase_salt(repo: Repo, session_id: int) -> None:
    """The session ended: no key of a question or upvote can be linked to anyone any more."""
    await repo.session.execute(
        update(QuestionRoom).where(QuestionRoom.session_id == session_id).values(salt=None)
    )


async def newest_joined_open_session(repo: Repo, participant_id: int) -> PollSession | None:
    """The open session this person joined last, if any."""
    stmt = (
        select(PollSession)
        .join(SessionMember, SessionMember.session_id == PollSession.id)
        .where(
            SessionMember.participant_id == participant_id,
            PollSession.status == SessionStatus.OPEN,
        )
        .order_by(SessionMember.joined_at.desc(), PollSession.id.desc())
        .limit(1)
    )
    return (await repo.session.scalars(stmt)).one_or_none()


async def add_question(
    repo: Repo, session_id: int, text: str, author_key: str, now: datetime
) -> RoomQuestion:
    """A new open question."""
    question = RoomQuestion(
        session_id=session_id,
        text=text,
        author_key=author_key,
        status=QuestionStatus.OPEN,
        asked_at=now,
    )
    repo.session.add(question)
    await repo.session.flush()
    return question


async def question(repo: Repo, question_id: int) -> RoomQuestion | None:
    """A question by id."""
    return await repo.session.get(RoomQuestion, question_id)


async def asked_since(repo: Repo, session_id: int, author_key: str, since: datetime) -> int:
    """How many questions this author asked in the session since `since`."""
    stmt = select(func.count()).where(
        RoomQuestion.session_id == session_id,
        RoomQuestion.author_key == author_key,
        RoomQuestion.asked_at >= since,
    )
    return await repo.session.scalar(stmt) or 0


async def open_questions(repo: Repo, session_id: int, limit: int) -> list[ListedQuestion]:
    """The session's open questions, most upvoted first, then the oldest."""
    upvotes = func.count(QuestionUpvote.voter_key)
    stmt = (
        select(
            RoomQuestion.id,
            RoomQuestion.text,
            upvotes,
            RoomQuestion.author_key,
            RoomQuestion.asked_at,
        )
        .outerjoin(QuestionUpvote, QuestionUpvote.question_id == RoomQuestion.id)
        .where(RoomQuestion.session_id == session_id, RoomQuestion.status == QuestionStatus.OPEN)
        .group_by(RoomQuestion.id)
        .order_by(upvotes.desc(), RoomQuestion.asked_at, RoomQuestion.id)
        .limit(limit)
    )
    return [ListedQuestion(*row) for row in (await repo.session.execute(stmt)).all()]


async def upvoted_by(repo: Repo, question_ids: list[int], voter_key: str) -> set[int]:
    """Which of these questions the person with this key upvoted."""
    if not question_ids:
        return set()
    stmt = select(QuestionUpvote.question_id).where(
        QuestionUpvote.question_id.in_(question_ids), QuestionUpvote.voter_key == voter_key
    )
    return set(await repo.session.scalars(stmt))


async def toggle_upvote(repo: Repo, question_id: int, voter_key: str, now: datetime) -> bool:
    """Upvote, or withdraw an upvote given before; True if the question is upvoted now."""
    found = await repo.session.get(QuestionUpvote, (question_id, voter_key))
    if found is not None:
        await repo.session.delete(found)
        await repo.session.flush()
        return False
    await repo.session.execute(
        repo.insert_on_conflict(QuestionUpvote)
        .values(question_id=question_id, voter_key=voter_key, voted_at=now)
        .on_conflict_do_nothing(index_elements=["question_id", "voter_key"])
    )
    return True
