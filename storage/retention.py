"""Retention: the identity links and media files of finished runs, deleted after a period.

The rule, per run: a run is *under retention* when its campaign has
`retain_identity_months`, otherwise when its flow has (the flow file as it is now; the
campaign's period wins). It is *due* when it is finished (complete or incomplete) and its
`finished_at` lies more than that many months back.

- Media go per run: every voice note and photo answer of a due run (the file, and the
  answer's Telegram file id, so it cannot be fetched again; the answer keeps a marker).
- The identity link goes per person: when the person has at least one due run, every one
  of their runs under retention is due (none is open or finished within its period), they
  have no open run of any flow, no campaign message waiting to be sent, and are not staff.

Planning only reads; `apply_plan` deletes exactly what a plan lists (an identity whose
person opened a run in the meantime is kept: the delete itself checks for open runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    Campaign,
    Delivery,
    FlowVersion,
    Identity,
    Participant,
    Run,
)
from storage.privacy import forget_chats, media_path
from storage.repo_runs import OPEN_STATUSES
from storage.statuses import DeliveryStatus, RunStatus

# What a media answer becomes once its file is gone.
REMOVED = {"removed": "retention"}
# Ids per IN (...) list: well below every driver's limit on parameters.
CHUNK = 500
FINISHED = (RunStatus.COMPLETE, RunStatus.INCOMPLETE)
WAITING = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


@dataclass
class ScopePlan:
    """What goes under one rule: a flow's period, or a campaign's."""

    kind: str  # "flow" | "campaign"
    key: str | int  # flow id or campaign id
    flow_id: str
    months: int
    cutoff: datetime  # runs finished before this are due
    runs: set[int] = field(default_factory=set)  # due runs
    people: set[int] = field(default_factory=set)  # participants whose link goes
    kept: set[int] = field(default_factory=set)  # with due runs here, but keep their link
    media: dict[int, str | None] = field(default_factory=dict)  # answer id -> file path


@dataclass
class RetentionPlan:
    """Every scope with something due, and the union of what goes."""

    scopes: list[ScopePlan]

    @property
    def people(self) -> set[int]:
        """Participant ids whose identity link goes."""
        return {pid for scope in self.scopes for pid in scope.people}

    @property
    def media(self) -> dict[int, str | None]:
        """Media answers that go: answer id -> file path (None: never downloaded)."""
        return {aid: path for scope in self.scopes for aid, path in scope.media.items()}


@dataclass(frozen=True, slots=True)
class _RunRow:
    id: int
    participant_id: int
    flow_id: str
    campaign_id: int | None
    campaign_months: int | None
    status: RunStatus
    finished_at: datetime | None


def chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """`ids` sorted, in lists of at most CHUNK."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def is_media(value: Any) -> bool:
    """Whether a stored answer is a voice note or photo not yet removed."""
    return isinstance(value, dict) and bool(value.get("path") or value.get("file_id"))


async def _retained_runs(session: AsyncSession, flow_months: dict[str, int]) -> list[_RunRow]:
    """Every run under a rule: its campaign has a period, or its flow has."""
    rule = Campaign.retain_identity_months.is_not(None)
    if flow_months:
        rule = or_(rule, FlowVersion.flow_id.in_(list(flow_months)))
    stmt = (
        select(
            Run.id,
            Run.participant_id,
            FlowVersion.flow_id,
            Run.campaign_id,
            Campaign.retain_identity_months,
            Run.status,
            Run.finished_at,
        )
        .join(FlowVersion, FlowVersion.id == Run.flow_version_id)
        .outerjoin(Campaign, Campaign.id == Run.campaign_id)
        .where(rule)
        .order_by(Run.id)
    )
    return [_RunRow(*row) for row in (await session.execute(stmt)).all()]


async def _ids(session: AsyncSession, column: Any, people: set[int], *where: Any) -> set[int]:
    """Which of `people` match `where` (column: the participant id column)."""
    found: set[int] = set()
    for part in chunks(people):
        stmt = select(column).where(column.in_(part), *where).distinct()
        found.update(await session.scalars(stmt))
    return found


async def _holding(session: AsyncSession, people: set[int]) -> set[int]:
    """Those of `people` who keep their link whatever their runs: an open run of any flow,
    a campaign message waiting, or a staff role; and those without a link to delete."""
    linked = await _ids(session, Identity.participant_id, people)
    open_run = await _ids(session, Run.participant_id, people, Run.status.in_(OPEN_STATUSES))
    waiting = await _ids(session, Delivery.participant_id, people, Delivery.status.in_(WAITING))
    staff = await _ids(session, Participant.id, people, Participant.role != "participant")
    return (people - linked) | open_run | waiting | staff


async def _media_of(session: AsyncSession, run_ids: set[int]) -> dict[int, tuple[int, str | None]]:
    """answer id -> (run id, file path) of the media answers of these runs."""
    found: dict[int, tuple[int, str | None]] = {}
    for part in chunks(run_ids):
        stmt = select(Answer.id, Answer.run_id, Answer.value).where(Answer.run_id.in_(part))
        for answer_id, run_id, value in await session.execute(stmt):
            if is_media(value):
                found[answer_id] = (run_id, media_path(value))
    return found


def _scope_of(run: _RunRow, flow_months: dict[str, int], cutoffs: Any) -> ScopePlan:
    if run.campaign_months is not None:
        kind, key, months = "campaign", run.campaign_id, run.campaign_months
    else:
        kind, key, months = "flow", run.flow_id, flow_months[run.flow_id]
    return ScopePlan(kind, key, run.flow_id, months, cutoffs(months))


async def plan_retention(
    session: AsyncSession, flow_months: dict[str, int], cutoff_of: Any
) -> RetentionPlan:
    """What retention would delete now; `cutoff_of(months)` is the moment that many months
    ago. Scopes with nothing due are left out."""
    scopes: dict[tuple[str, Any], ScopePlan] = {}
    not_due: set[int] = set()  # people with a run under retention that is not due
    due_by_person: dict[int, set[tuple[str, Any]]] = {}
    for run in await _retained_runs(session, flow_months):
        made = _scope_of(run, flow_months, cutoff_of)
        scope = scopes.setdefault((made.kind, made.key), made)
        finished = run.status in FINISHED and run.finished_at is not None
        if finished and run.finished_at < scope.cutoff:
            scope.runs.add(run.id)
            due_by_person.setdefault(run.participant_id, set()).add((scope.kind, scope.key))
        else:
            not_due.add(run.participant_id)
    holding = await _holding(session, set(due_by_person)) | not_due
    for pid, keys in due_by_person.items():
        for key in keys:
            (scopes[key].kept if pid in holding else scopes[key].people).add(pid)
    all_due = {rid for scope in scopes.values() for rid in scope.runs}
    by_run = {rid: scope for scope in scopes.values() for rid in scope.runs}
    for answer_id, (run_id, path) in (await _media_of(session, all_due)).items():
        by_run[run_id].media[answer_id] = path
    busy = [s for s in scopes.values() if s.people or s.media]
    return RetentionPlan(sorted(busy, key=lambda s: (s.kind, str(s.key))))


async def apply_plan(
    session: AsyncSession, plan: RetentionPlan, now: datetime
) -> tuple[set[int], dict[int, str | None]]:
    """Delete the identity links and clear the media answers a plan lists; returns (the
    participants unlinked, the media answers cleared). The files are the caller's."""
    unlinked: set[int] = set()
    open_run = exists().where(
        Run.participant_id == Identity.participant_id, Run.status.in_(OPEN_STATUSES)
    )
    for part in chunks(plan.people):
        where = (Identity.participant_id.in_(part), ~open_run)
        people = select(Identity.participant_id).where(*where)
        chats = select(Identity.chat_id).where(*where)
        await forget_chats(session, people, chats, now)
        # One statement decides and deletes: a run opened meanwhile keeps the link.
        stmt = (
            delete(Identity)
            .where(*where)
            .returning(Identity.participant_id)
            .execution_options(synchronize_session=False)
        )
        unlinked.update(await session.scalars(stmt))
    media = plan.media
    for part in chunks(media):
        await session.execute(
            update(Answer)
            .where(Answer.id.in_(part))
            .values(value=dict(REMOVED), updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return unlinked, media


def unlinked_by_scope(plan: RetentionPlan, unlinked: set[int]) -> Sequence[tuple[ScopePlan, int]]:
    """Each scope with how many of its people were actually unlinked."""
    return [(scope, len(scope.people & unlinked)) for scope in plan.scopes]
