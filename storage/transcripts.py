"""Queries behind transcripts: the queue of voice answers still to transcribe, storing a
result, and reading transcripts back for /mydata and exports.

The queue is the answers table itself: a voice answer whose file is downloaded (its value
names a ``.ogg`` path) and that has no transcript of its current revision is pending. A
restart therefore loses nothing, and a voice note sent again is transcribed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, cast, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer, Transcript, utcnow

# A voice note's stored value is JSON like {"file_id": …, "path": "P-…/run1-story.ogg"}.
# Inside a JSON string a quote is escaped, so a typed answer cannot end a match with '"'.
_VOICE_FILE = '%.ogg"%'
ERROR_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Pending:
    """A voice answer waiting for its transcript."""

    answer_id: int
    revision: int
    path: str
    locale: str


@dataclass(frozen=True, slots=True)
class Heard:
    """What the model made of one voice note."""

    text: str
    language: str | None
    language_probability: float | None
    confidence: float | None
    audio_seconds: float | None


def _current() -> Any:
    """The transcript row of an answer's current revision (a join condition)."""
    return and_(Transcript.answer_id == Answer.id, Transcript.revision == Answer.revision)


async def pending(session: AsyncSession, limit: int = 20) -> list[Pending]:
    """Downloaded voice answers without a transcript of their current revision, oldest first."""
    stmt = (
        select(Answer.id, Answer.revision, Answer.value, Answer.locale)
        .where(cast(Answer.value, Text).like(_VOICE_FILE), ~exists().where(_current()))
        .order_by(Answer.id)
        .limit(limit)
    )
    found = []
    for answer_id, revision, value, locale in (await session.execute(stmt)).all():
        path = value.get("path") if isinstance(value, dict) else None
        if isinstance(path, str) and path.endswith(".ogg"):
            found.append(Pending(answer_id, revision, path, locale))
    return found


async def store(
    session: AsyncSession,
    item: Pending,
    heard: Heard | None,
    model: str,
    error: str | None = None,
) -> bool:
    """Keep the transcript of `item` (or the error that stopped it); False, storing nothing,
    when the answer is gone or was answered again meanwhile."""
    still = await session.scalar(
        select(Answer.id).where(Answer.id == item.answer_id, Answer.revision == item.revision)
    )
    if still is None:
        return False
    await session.execute(delete(Transcript).where(Transcript.answer_id == item.answer_id))
    session.add(
        Transcript(
            answer_id=item.answer_id,
            revision=item.revision,
            text=heard.text if heard else None,
            language=heard.language if heard else None,
            language_probability=heard.language_probability if heard else None,
            confidence=heard.confidence if heard else None,
            audio_seconds=heard.audio_seconds if heard else None,
            model=model[:64],
            error=error[:ERROR_LENGTH] if error else None,
            created_at=utcnow(),
        )
    )
    await session.flush()
    return True


async def of_runs(session: AsyncSession, run_ids: Sequence[int]) -> dict[tuple[int, str], dict]:
    """The current transcripts of these runs' answers by (run id, step id), as plain dicts."""
    if not run_ids:
        return {}
    stmt = (
        select(
            Answer.run_id,
            Answer.step_id,
            Transcript.text,
            Transcript.language,
            Transcript.confidence,
            Transcript.created_at,
        )
        .join(Transcript, _current())
        .where(Answer.run_id.in_(list(run_ids)), Transcript.text.is_not(None))
    )
    return {
        (run_id, step_id): {
            "text": text,
            "language": language,
            "confidence": confidence,
            "transcribed_at": at,
        }
        for run_id, step_id, text, language, confidence, at in (await session.execute(stmt)).all()
    }


def text_column() -> Any:
    """The current transcript's text of the answer in a select over answers (else NULL)."""
    return (
        select(Transcript.text)
        .where(Transcript.answer_id == Answer.id, Transcript.revision == Answer.revision)
        .scalar_subquery()
    )
