"""Queries behind the privacy use cases: one person's data, erasure, unlinking, audit log.

Deletes are explicit, table by table, instead of relying on ON DELETE CASCADE: SQLite only
enforces foreign keys when the pragma is on, and the counts are needed for the audit log.
They are ORM-enabled statements, so objects of the same session that match are marked
deleted (or updated) too, and a later flush does not trip over rows that no longer exist.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    AuditEntry,
    Campaign,
    Consent,
    Delivery,
    FlowVersion,
    Group,
    GroupMember,
    Identity,
    Participant,
    Poll,
    PollSession,
    Run,
    SessionMember,
    Transcript,
    Vote,
    utcnow,
)
from storage.queries import answers_of_runs
from storage.repo_runs import OPEN_STATUSES
from storage.statuses import PollStatus, RunStatus, SessionStatus
from storage.transcripts import of_runs as transcripts_of_runs


@dataclass(slots=True)
class PersonData:
    """Everything stored about one participant, as ORM-free rows (plain dicts)."""

    participant: dict[str, Any]
    identity: dict[str, Any] | None
    consents: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    runs: list[dict[str, Any]]  # each with an "answers" list


@dataclass(slots=True)
class Removed:
    """What an erase or unlink touched: counts, plus the media paths the answers mention."""

    pseudonym: str
    runs: int = 0
    answers: int = 0
    media_paths: list[str] = field(default_factory=list)


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def media_path(value: Any) -> str | None:
    """The file path in a voice/photo answer ({"file_id": ..., "path": "P-.../run1-q.ogg"})."""
    if isinstance(value, dict) and isinstance(value.get("path"), str) and value["path"]:
        return value["path"]
    return None


async def person_data(session: AsyncSession, participant_id: int) -> PersonData | None:
    """Read everything stored about one participant; None if there is no such participant."""
    participant = await _one_row(
        session,
        select(
            Participant.pseudonym,
            Participant.locale,
            Participant.role,
            Participant.age_band,
            Participant.opted_out,
            Participant.stage,
            Participant.pending_flow,
            Participant.created_at,
        ).where(Participant.id == participant_id),
    )
    if participant is None:
        return None
    identity = await _one_row(
        session,
        select(
            Identity.telegram_user_id,
            Identity.chat_id,
            Identity.first_name,
            Identity.username,
            Identity.language_code,
            Identity.created_at,
        ).where(Identity.participant_id == participant_id),
    )
    return PersonData(
        participant=participant,
        identity=identity,
        consents=await _consents_of(session, participant_id),
        groups=await _rows(
            session,
            select(Group.name, GroupMember.joined_at)
            .join(Group, Group.id == GroupMember.group_id)
            .where(GroupMember.participant_id == participant_id)
            .order_by(GroupMember.joined_at, Group.name),
        ),
        runs=await _runs_of(session, participant_id),
    )


async def _one_row(session: AsyncSession, stmt: Select) -> dict[str, Any] | None:
    row = (await session.execute(stmt)).one_or_none()
    return _row(row) if row is not None else None


async def _rows(session: AsyncSession, stmt: Select) -> list[dict[str, Any]]:
    return [_row(r) for r in (await session.execute(stmt)).all()]


async def _consents_of(session: AsyncSession, participant_id: int) -> list[dict[str, Any]]:
    return await _rows(
        session,
        select(
            Consent.notice_version,
            Consent.locale,
            Consent.given_by,
            Consent.age_band,
            Consent.confirmed_by,
            Group.name.label("group"),
            Consent.given_at,
            Consent.withdrawn_at,
        )
        .outerjoin(Group, Group.id == Consent.group_id)
        .where(Consent.participant_id == participant_id)
        .order_by(Consent.given_at, Consent.id),
    )


async def _runs_of(session: AsyncSession, participant_id: int) -> list[dict[str, Any]]:
    """The person's runs, oldest first, each with its answers in the order they were given."""
    runs = await _rows(
        session,
        select(
            Run.id,
            FlowVersion.flow_id,
            FlowVersion.version.label("flow_version"),
            Run.status,
            Run.locale,
            Run.started_at,
            Run.finished_at,
        )
        .join(FlowVersion, FlowVersion.id == Run.flow_version_id)
        .where(Run.participant_id == participant_id)
        .order_by(Run.started_at, Run.id),
    )
    by_run = {run["id"]: {**run, "answers": []} for run in runs}
    answers = await answers_of_runs(session, list(by_run))
    heard = await transcripts_of_runs(session, list(by_run))
    for answer in sorted(answers, key=lambda a: (a.run_id, a.answered_at)):
        row = asdict(answer)
        row["transcript"] = heard.get((answer.run_id, answer.step_id))
        by_run[answer.run_id]["answers"].append(row)
    return list(by_run.values())


async def _pseudonym(session: AsyncSession, participant_id: int) -> str | None:
    return await session.scalar(
        select(Participant.pseudonym).where(Participant.id == participant_id)
    )


async def _runs_and_answers(session: AsyncSession, participant_id: int) -> tuple[int, int]:
    runs = await session.scalar(
        select(func.count()).select_from(Run).where(Run.participant_id == participant_id)
    )
    answers = await session.scalar(
        select(func.count())
        .select_from(Answer)
        .join(Run, Run.id == Answer.run_id)
        .where(Run.participant_id == participant_id)
    )
    return int(runs or 0), int(answers or 0)


async def forget_chats(session: AsyncSession, people: Select, chats: Select, now: datetime) -> None:
    """Remove the Telegram chat ids of `people` (participant ids) / `chats` (their chat ids)
    from poll sessions, polls and campaign progress; end their open sessions and polls.

    Without the facilitator's chat nobody could see a session's results any more, so its
    open polls are closed (their salt erased, like any closed poll); the votes stay.
    """
    owned = or_(PollSession.facilitator_id.in_(people), PollSession.facilitator_chat_id.in_(chats))
    sessions = select(PollSession.id).where(owned)
    await session.execute(
        update(Poll)
        .where(Poll.session_id.in_(sessions), Poll.status == PollStatus.OPEN)
        .values(status=PollStatus.CLOSED, closed_at=now, salt=None)
    )
    await session.execute(
        update(Poll)
        .where(or_(Poll.session_id.in_(sessions), Poll.results_chat_id.in_(chats)))
        .values(results_chat_id=None, results_message_id=None)
    )
    await session.execute(
        update(PollSession)
        .where(owned, PollSession.status == SessionStatus.OPEN)
        .values(status=SessionStatus.CLOSED, closed_at=now)
    )
    await session.execute(update(PollSession).where(owned).values(facilitator_chat_id=None))
    await session.execute(
        update(Campaign)
        .where(Campaign.progress_chat_id.in_(chats))
        .values(progress_chat_id=None, progress_message_id=None)
    )


def _one(participant_id: int) -> tuple[Select, Select]:
    """(participant ids, chat ids) subqueries of one participant, for forget_chats."""
    people = select(Participant.id).where(Participant.id == participant_id)
    chats = select(Identity.chat_id).where(Identity.participant_id == participant_id)
    return people, chats


async def delete_person(
    session: AsyncSession, participant_id: int, now: datetime | None = None
) -> Removed | None:
    """Delete a participant and everything attached; None if there is no such participant."""
    pseudonym = await _pseudonym(session, participant_id)
    if pseudonym is None:
        return None
    await forget_chats(session, *_one(participant_id), now or utcnow())
    run_ids = select(Run.id).where(Run.participant_id == participant_id)
    values = await session.scalars(select(Answer.value).where(Answer.run_id.in_(run_ids)))
    removed = Removed(pseudonym, media_paths=[p for v in values if (p := media_path(v))])
    # Transcripts are answer content: they go with the answers (explicitly, not by cascade).
    answer_ids = select(Answer.id).where(Answer.run_id.in_(run_ids))
    await session.execute(delete(Transcript).where(Transcript.answer_id.in_(answer_ids)))
    removed.answers = (
        await session.execute(delete(Answer).where(Answer.run_id.in_(run_ids)))
    ).rowcount
    removed.runs = (
        await session.execute(delete(Run).where(Run.participant_id == participant_id))
    ).rowcount
    for model in (Consent, GroupMember, SessionMember, Vote, Delivery, Identity):
        await session.execute(delete(model).where(model.participant_id == participant_id))
    await session.execute(delete(Participant).where(Participant.id == participant_id))
    return removed


async def unlink_person(
    session: AsyncSession, participant_id: int, now: datetime
) -> Removed | None:
    """Cut a participant off from Telegram, keeping runs and answers under the pseudonym.

    Consents are marked withdrawn, the participant opted out, group memberships removed and
    open runs closed as incomplete (nobody can reach or continue them any more).
    """
    pseudonym = await _pseudonym(session, participant_id)
    if pseudonym is None:
        return None
    runs, answers = await _runs_and_answers(session, participant_id)
    await forget_chats(session, *_one(participant_id), now)
    await session.execute(
        update(Consent)
        .where(Consent.participant_id == participant_id, Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    await session.execute(
        update(Run)
        .where(Run.participant_id == participant_id, Run.status.in_(OPEN_STATUSES))
        .values(
            status=RunStatus.INCOMPLETE,
            collect_until=None,
            prompt_message_id=None,
            finished_at=now,
            updated_at=now,
        )
    )
    await session.execute(
        update(Participant)
        .where(Participant.id == participant_id)
        .values(opted_out=True, pending_flow=None)
    )
    await session.execute(delete(GroupMember).where(GroupMember.participant_id == participant_id))
    await session.execute(delete(Identity).where(Identity.participant_id == participant_id))
    return Removed(pseudonym, runs=runs, answers=answers)


async def flow_known(session: AsyncSession, flow_id: str) -> bool:
    """Whether any version of this flow was ever stored."""
    stmt = select(FlowVersion.id).where(FlowVersion.flow_id == flow_id).limit(1)
    return (await session.scalar(stmt)) is not None


async def unlink_finished(session: AsyncSession, flow_id: str | None) -> tuple[int, int]:
    """Delete the identity of everyone (with runs of `flow_id`, or all if None) who has no
    open run; returns (unlinked, skipped because of an open run)."""
    # An open run of *any* flow keeps the link: deleting it would strand that interview.
    open_run = exists().where(
        Run.participant_id == Identity.participant_id, Run.status.in_(OPEN_STATUSES)
    )
    scope = [] if flow_id is None else [Identity.participant_id.in_(_with_runs_of(flow_id))]
    people = select(Identity.participant_id).where(*scope, ~open_run)
    chats = select(Identity.chat_id).where(*scope, ~open_run)
    await forget_chats(session, people, chats, utcnow())
    # One statement decides and deletes, so a run opened meanwhile is seen by the delete.
    unlinked = (
        await session.execute(
            delete(Identity).where(*scope, ~open_run).execution_options(synchronize_session=False)
        )
    ).rowcount
    skipped = await session.scalar(
        select(func.count()).select_from(Identity).where(*scope, open_run)
    )
    return int(unlinked or 0), int(skipped or 0)


def _with_runs_of(flow_id: str) -> Any:
    return (
        select(Run.participant_id)
        .join(FlowVersion, FlowVersion.id == Run.flow_version_id)
        .where(FlowVersion.flow_id == flow_id)
    )


async def audit_since(session: AsyncSession, since: datetime | None) -> list[dict[str, Any]]:
    """Audit entries (at, actor, action, details), oldest first, optionally from `since` on."""
    stmt = select(AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.details)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    rows = await session.execute(stmt.order_by(AuditEntry.at, AuditEntry.id))
    return [_row(r) for r in rows]
