"""Questions from the room in the poll export: a "questions" sheet in XLSX, or
`<stem>.questions.csv` beside the votes CSV (only when the session had questions).

Anonymous: no pseudonym and no key, only the text, its upvotes, what the facilitator decided
(open, answered, hidden) and when. Hidden questions are exported too, marked as such: the
staff decide what to do with them, the file is the session's record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.export import iso_utc
from storage.models import PollSession
from storage.models_questions import QuestionUpvote, RoomQuestion

QUESTIONS_SHEET = "questions"
QUESTION_COLUMNS: tuple[str, ...] = (
    "session",
    "question_no",
    "question",
    "upvotes",
    "status",
    "asked_at",
    "closed_at",
)


def questions_path(output: Path) -> Path:
    """Where a CSV export puts the questions: `<stem>.questions.csv` beside the votes file."""
    return output.with_name(f"{output.stem}.questions.csv")


def questions_paths(output: Path, tables: int) -> list[Path]:
    """The questions file of a CSV export with `tables` tables (none below three)."""
    return [questions_path(output)] if tables > 2 else []


async def question_rows(session: AsyncSession, code: str) -> list[list[Any]]:
    """One row per question of the session, in the order they were asked."""
    upvotes = func.count(QuestionUpvote.voter_key)
    stmt = (
        select(
            RoomQuestion.text,
            upvotes,
            RoomQuestion.status,
            RoomQuestion.asked_at,
            RoomQuestion.closed_at,
        )
        .join(PollSession, PollSession.id == RoomQuestion.session_id)
        .outerjoin(QuestionUpvote, QuestionUpvote.question_id == RoomQuestion.id)
        .where(PollSession.code == code)
        .group_by(RoomQuestion.id)
        .order_by(RoomQuestion.asked_at, RoomQuestion.id)
    )
    rows = (await session.execute(stmt)).all()
    return [
        [
            code,
            number,
            text,
            count,
            str(status),
            iso_utc(asked),
            iso_utc(closed),
        ]
        for number, (text, count, status, asked, closed) in enumerate(rows, start=1)
    ]
