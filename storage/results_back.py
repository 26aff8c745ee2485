"""Queries of results sent back (models_results): who took part, what they answered, and the
outbox of results messages (claimed `sending` and committed before Telegram is called)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from storage.models import (
    Answer,
    Identity,
    Participant,
    Poll,
    Run,
    SessionMember,
)
from storage.models_results import ResultDelivery, ResultSend
from storage.repo import Repo
from storage.statuses import DeliveryStatus, PollStatus, Stage, check_transition

D = DeliveryStatus
MAX_ATTEMPTS = 5


def _move(row: ResultDelivery, to: DeliveryStatus) -> None:
    """The outbox lifecycle: a sent message never becomes pending again."""
    row.status = check_transition(f"result delivery {row.id}", row.status, to)


async def campaign_people(repo: Repo, campaign_id: int) -> list[int]:
    """Everyone who started the campaign's flow from its invitation (took part)."""
    stmt = select(Run.participant_id).where(Run.campaign_id == campaign_id).distinct()
    return sorted((await repo.session.scalars(stmt)).all())


async def campaign_answers(repo: Repo, campaign_id: int) -> list[dict[str, Any]]:
    """Each person's latest run of the campaign: {step id: value} of the given answers."""
    latest = (
        select(func.max(Run.id)).where(Run.campaign_id == campaign_id).group_by(Run.participant_id)
    )
    stmt = (
        select(Answer.run_id, Answer.step_id, Answer.value)
        .where(Answer.run_id.in_(latest), Answer.skipped.is_(False))
        .order_by(Answer.run_id)
    )
    runs: dict[int, dict[str, Any]] = {}
    for run_id, step_id, value in (await repo.session.execute(stmt)).all():
        runs.setdefault(run_id, {})[step_id] = value
    return list(runs.values())


async def session_people(repo: Repo, session_id: int) -> list[int]:
    """Everyone who joined the session."""
    stmt = select(SessionMember.participant_id).where(SessionMember.session_id == session_id)
    return sorted((await repo.session.scalars(stmt)).all())


async def closed_polls(repo: Repo, session_id: int) -> list[Poll]:
    """The session's closed polls, in the order they were opened."""
    stmt = (
        select(Poll)
        .where(Poll.session_id == session_id, Poll.status == PollStatus.CLOSED)
        .order_by(Poll.id)
    )
    return list((await repo.session.scalars(stmt)).all())


@dataclass(frozen=True)
class Reach:
    """Of the people who took part: how many can get a message now, and why the others not."""

    reachable: int
    opted_out: int
    unreachable: int
    unlinked: int


async def reach(repo: Repo, people: list[int]) -> Reach:
    """Who of `people` can be messaged (linked, consented, not opted out or blocked)."""
    stmt = (
        select(Participant, Identity.participant_id)
        .outerjoin(Identity, Identity.participant_id == Participant.id)
        .where(Participant.id.in_(people))
    )
    ok = opted = blocked = unlinked = 0
    for person, linked in (await repo.session.execute(stmt)).all():
        if linked is None:
            unlinked += 1
        elif person.unreachable:
            blocked += 1
        elif person.opted_out or person.stage != Stage.READY:
            opted += 1
        else:
            ok += 1
    unlinked += len(set(people)) - (ok + opted + blocked + unlinked)  # deleted people
    return Reach(ok, opted, blocked, unlinked)


async def add_send(repo: Repo, **fields: Any) -> ResultSend:
    """A draft sending (nothing owed until it is confirmed)."""
    row = ResultSend(**fields)
    repo.session.add(row)
    await repo.session.flush()
    return row


async def send(repo: Repo, send_id: int) -> ResultSend | None:
    """A sending by id."""
    return await repo.session.get(ResultSend, send_id)


async def confirmed_before(repo: Repo, *, campaign_id=None, session_id=None) -> int:
    """How many confirmed sendings of this campaign or session there were."""
    where = (
        ResultSend.campaign_id == campaign_id
        if campaign_id is not None
        else ResultSend.session_id == session_id
    )
    stmt = (
        select(func.count())
        .select_from(ResultSend)
        .where(where, ResultSend.confirmed_at.isnot(None))
    )
    return await repo.session.scalar(stmt)


async def confirm(repo: Repo, row: ResultSend, people: list[int], now: datetime) -> int:
    """Confirm a draft: one message owed to each person, due now (the sender applies quiet
    hours). Returns how many were planned."""
    row.confirmed_at = now
    for pid in sorted(set(people)):
        repo.session.add(
            ResultDelivery(send_id=row.id, participant_id=pid, due_at=now, status=D.PENDING)
        )
    await repo.session.flush()
    return len(set(people))


@dataclass(frozen=True)
class Claimed:
    """A results message claimed for sending."""

    delivery_id: int
    send_id: int
    chat_id: int
    locale: str | None
    language_code: str | None


def _skip_reason(person: Participant | None, identity: Identity | None) -> str | None:
    if person is None or identity is None:
        return "no Telegram link"
    if person.unreachable:
        return "unreachable"
    if person.opted_out:
        return "opted out"
    if person.stage != Stage.READY:
        return "no consent"
    return None


async def claim_due(repo: Repo, now: datetime, limit: int, quiet, next_morning) -> list[Claimed]:
    """Claim up to `limit` due results messages; skip the ones nobody may get; postpone the
    ones in their sending's quiet hours (`quiet(send, now)`, `next_morning(send, now)`)."""
    stmt = (
        select(ResultDelivery, ResultSend, Participant, Identity)
        .join(ResultSend, ResultSend.id == ResultDelivery.send_id)
        .outerjoin(Participant, Participant.id == ResultDelivery.participant_id)
        .outerjoin(Identity, Identity.participant_id == ResultDelivery.participant_id)
        .where(ResultDelivery.status == D.PENDING, ResultDelivery.due_at <= now)
        .order_by(ResultDelivery.due_at, ResultDelivery.id)
        .limit(limit * 3)
    )
    claimed: list[Claimed] = []
    for row, sending, person, identity in (await repo.session.execute(stmt)).all():
        if len(claimed) >= limit:
            break
        reason = _skip_reason(person, identity)
        if reason:
            _move(row, D.SKIPPED)
            row.error = reason
            continue
        if quiet(sending, now):
            row.due_at = next_morning(sending, now)
            continue
        _move(row, D.SENDING)
        row.attempts += 1
        claimed.append(
            Claimed(row.id, sending.id, identity.chat_id, person.locale, identity.language_code)
        )
    return claimed


async def recover_in_flight(repo: Repo) -> int:
    """After a crash: messages still `sending` may have arrived — uncertain, never resent."""
    rows = (
        await repo.session.scalars(select(ResultDelivery).where(ResultDelivery.status == D.SENDING))
    ).all()
    for row in rows:
        _move(row, D.UNCERTAIN)
        row.error = "in flight during a crash; not resent"
    return len(rows)


async def record(repo: Repo, delivery_id: int, outcome: str, error: str, now, retry_at) -> None:
    """What happened to one message: sent | blocked | retry | failed | uncertain."""
    row = await repo.session.get(ResultDelivery, delivery_id)
    if row is None:
        return  # the person was deleted meanwhile
    row.error = error[:300] or None
    if outcome == "sent":
        _move(row, D.SENT)
        row.sent_at = now
    elif outcome == "retry" and row.attempts < MAX_ATTEMPTS:
        _move(row, D.PENDING)
        row.due_at = retry_at or now
    elif outcome == "uncertain":
        _move(row, D.UNCERTAIN)
    else:
        _move(row, D.FAILED)
        if outcome == "blocked":
            person = await repo.session.get(Participant, row.participant_id)
            person.unreachable = True


async def sendings(repo: Repo) -> list[ResultSend]:
    """Every confirmed sending, newest first."""
    stmt = (
        select(ResultSend)
        .where(ResultSend.confirmed_at.isnot(None))
        .order_by(ResultSend.confirmed_at.desc(), ResultSend.id.desc())
    )
    return list((await repo.session.scalars(stmt)).all())


async def statuses(repo: Repo, send_id: int) -> dict[str, int]:
    """How many messages of a sending stand in each status."""
    stmt = (
        select(ResultDelivery.status, func.count())
        .where(ResultDelivery.send_id == send_id)
        .group_by(ResultDelivery.status)
    )
    return {str(s): n for s, n in (await repo.session.execute(stmt)).all()}


async def discard(repo: Repo, send_id: int) -> None:
    """Drop a draft that was not confirmed (a confirmed sending stays, for the record)."""
    row = await repo.session.get(ResultSend, send_id)
    if row is not None and row.confirmed_at is None:
        await repo.session.delete(row)
