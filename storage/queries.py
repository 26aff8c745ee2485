"""Read-only queries for exports: a few set-based selects, never one query per run.

They select plain columns (not ORM entities) so nothing is lazy-loaded behind our back; in
particular the identities table is never touched, so no Telegram data can leak into an export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer, FlowVersion


@dataclass(frozen=True, slots=True)
class VersionRow:
    """A stored flow version as the export needs it."""

    id: int
    version: str
    content_hash: str
    definition: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """The current answer of one run to one step."""

    run_id: int
    step_id: str
    value: Any
    skipped: bool
    shown_text: str
    locale: str
    revision: int
    answered_at: datetime
    updated_at: datetime


async def flow_versions(session: AsyncSession, flow_id: str) -> list[VersionRow]:
    """All stored versions of a flow, oldest first."""
    stmt = (
        select(
            FlowVersion.id, FlowVersion.version, FlowVersion.content_hash, FlowVersion.definition
        )
        .where(FlowVersion.flow_id == flow_id)
        .order_by(FlowVersion.id)
    )
    return [VersionRow(*row) for row in (await session.execute(stmt)).all()]


async def answers_of_runs(session: AsyncSession, run_ids: Sequence[int]) -> list[AnswerRow]:
    """Current answers of the given runs (callers pass chunks: IN lists have limits)."""
    if not run_ids:
        return []
    stmt = (
        select(
            Answer.run_id,
            Answer.step_id,
            Answer.value,
            Answer.skipped,
            Answer.shown_text,
            Answer.locale,
            Answer.revision,
            Answer.answered_at,
            Answer.updated_at,
        )
        .where(Answer.run_id.in_(list(run_ids)))
        .order_by(Answer.run_id, Answer.id)
    )
    return [AnswerRow(*row) for row in (await session.execute(stmt)).all()]
