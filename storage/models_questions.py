"""Questions from the room: what participants ask during a session, and their upvotes.

Anonymous like an anonymous poll: a question and an upvote carry no participant link, only a
key (sha256 of the room's salt and the person) that de-duplicates upvotes, keeps a person from
upvoting their own question and counts their questions for the rate limit. The salt is erased
when the session ends; from then on no key can be linked to anyone.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.model_base import Base, UTCDateTime, utcnow
from storage.statuses import TRANSITIONS, StatusType, check_transition


class QuestionStatus(StrEnum):
    """A question is open (on the projector), then answered or hidden for good."""

    OPEN = "open"
    ANSWERED = "answered"
    HIDDEN = "hidden"


TRANSITIONS[QuestionStatus] = {
    QuestionStatus.OPEN: frozenset({QuestionStatus.ANSWERED, QuestionStatus.HIDDEN}),
}


def set_question_status(question: RoomQuestion, to: QuestionStatus, now: datetime) -> None:
    """open -> answered | hidden (the facilitator's decision); IllegalTransition otherwise."""
    question.status = check_transition(f"question {question.id}", question.status, to)
    question.closed_at = now


class QuestionRoom(Base):
    """A session's questions salt: made at the first question, erased at the session's end."""

    __tablename__ = "question_rooms"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("poll_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    salt: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoomQuestion(Base):
    """One question from the room."""

    __tablename__ = "room_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("poll_sessions.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(500))
    author_key: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[QuestionStatus] = mapped_column(
        StatusType(QuestionStatus), default=QuestionStatus.OPEN, index=True
    )
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuestionUpvote(Base):
    """One person's upvote of one question (a second tap deletes the row)."""

    __tablename__ = "question_upvotes"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("room_questions.id", ondelete="CASCADE"), primary_key=True
    )
    voter_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
