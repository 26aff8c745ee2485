"""Campaign queries and the outbox: deliveries with due time, status, attempts and error.

Delivery is at most once: rows are claimed (`sending`) and committed before Telegram is
called; rows still `sending` when the bot starts were in flight during a crash and become
`uncertain` — reported, never sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update

from storage import campaigns
from storage.models import (
    Campaign,
    Delivery,
    Group,
    GroupMember,
    Identity,
    Participant,
    Run,
)
from storage.repo import Repo
from storage.statuses import CampaignStatus, DeliveryStatus, RunStatus, Stage, check_transition

MAX_ATTEMPTS = 5
D = DeliveryStatus


def delivery_transition(delivery: Delivery, to: DeliveryStatus) -> None:
    """Change a delivery's status; IllegalTransition (nothing changed) if its lifecycle does
    not allow it (a sent message can never become pending again)."""
    delivery.status = check_transition(f"delivery {delivery.id}", delivery.status, to)


async def _bulk(repo: Repo, current: DeliveryStatus, to: DeliveryStatus, error: str, *where) -> int:
    """Move every `current` delivery (matching `where`) to `to` in one statement."""
    check_transition("deliveries", current, to)
    result = await repo.session.execute(
        update(Delivery).where(Delivery.status == current, *where).values(status=to, error=error)
    )
    return result.rowcount or 0


async def skip_pending(repo: Repo, campaign_id: int, reason: str) -> None:
    """Messages of a campaign that is over will never be sent: say so in their rows."""
    await _bulk(repo, D.PENDING, D.SKIPPED, reason, Delivery.campaign_id == campaign_id)


@dataclass(frozen=True)
class Claimed:
    """A delivery claimed for sending, with what the sender needs."""

    delivery_id: int
    campaign_id: int
    participant_id: int
    chat_id: int
    kind: str
    seq: int
    locale: str | None
    language_code: str | None
    started: bool  # the person already started the flow (a reminder says "continue")


async def audience(repo: Repo, groups: list[str]) -> dict[str, list[int]]:
    """Participant ids per group (people in several groups appear in each)."""
    stmt = (
        select(Group.name, GroupMember.participant_id)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(Group.name.in_(groups))
    )
    found: dict[str, list[int]] = {name: [] for name in groups}
    for name, pid in (await repo.session.execute(stmt)).all():
        found[name].append(pid)
    return found


def _flow_versions(flow_id: str):
    from storage.models import FlowVersion

    return select(FlowVersion.id).where(FlowVersion.flow_id == flow_id)


async def completed(repo: Repo, campaign: Campaign, participant_id: int) -> bool:
    """Whether the person completed the campaign's flow since the campaign started."""
    stmt = select(Run.id).where(
        Run.participant_id == participant_id,
        Run.flow_version_id.in_(_flow_versions(campaign.flow_id)),
        Run.started_at >= campaign.start_at,
        Run.status == RunStatus.COMPLETE,
    )
    return (await repo.session.scalar(stmt.limit(1))) is not None


async def start_due_campaigns(repo: Repo, now: datetime) -> list[Campaign]:
    """Scheduled campaigns whose start has come: invite their audience (once)."""
    started = []
    for campaign in await campaigns.due_to_start(repo, now):
        members = await audience(repo, campaign.groups)
        people = sorted({pid for pids in members.values() for pid in pids})
        await campaigns.add_invitations(repo, campaign, people, max(campaign.start_at, now))
        campaigns.campaign_transition(campaign, CampaignStatus.RUNNING)
        started.append(campaign)
    return started


async def recover_in_flight(repo: Repo) -> int:
    """After a crash: rows still `sending` may or may not have arrived — mark them uncertain."""
    reason = "in flight during a crash; not resent"
    return await _bulk(repo, D.SENDING, D.UNCERTAIN, reason)


async def _skip_reason(repo: Repo, delivery, campaign, person, identity, now) -> str | None:
    """Why this delivery must never be sent (it is skipped), or None."""
    if now > campaign.deadline:
        return "deadline passed"
    if identity is None:
        return "no Telegram link"
    if person.unreachable:
        return "unreachable"
    if person.opted_out:
        return "opted out"
    if person.stage != Stage.READY:
        return "no consent"
    if delivery.kind == "reminder" and await completed(repo, campaign, person.id):
        return "completed"
    return None


async def claim_due(
    repo: Repo, now: datetime, limit: int, in_quiet_hours, next_morning
) -> list[Claimed]:
    """Claim up to `limit` due deliveries for sending; skip or postpone the others.

    `in_quiet_hours(campaign, now)` and `next_morning(campaign, now)` apply the campaign's
    quiet hours in the configured time zone.
    """
    stmt = (
        select(Delivery, Campaign, Participant, Identity)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .join(Participant, Participant.id == Delivery.participant_id)
        .outerjoin(Identity, Identity.participant_id == Delivery.participant_id)
        .where(
            Delivery.status == D.PENDING,
            Delivery.due_at <= now,
            Campaign.status == CampaignStatus.RUNNING,
        )
        .order_by(Delivery.due_at, Delivery.id)
        .limit(limit * 3)
    )
    claimed: list[Claimed] = []
    for delivery, campaign, person, identity in (await repo.session.execute(stmt)).all():
        if len(claimed) >= limit:
            break
        reason = await _skip_reason(repo, delivery, campaign, person, identity, now)
        if reason:
            delivery_transition(delivery, D.SKIPPED)
            delivery.error = reason
            continue
        if in_quiet_hours(campaign, now):
            delivery.due_at = next_morning(campaign, now)
            continue
        started = await repo.session.scalar(
            select(Run.id)
            .where(
                Run.participant_id == person.id,
                Run.flow_version_id.in_(_flow_versions(campaign.flow_id)),
                Run.started_at >= campaign.start_at,
            )
            .limit(1)
        )
        delivery_transition(delivery, D.SENDING)
        delivery.attempts += 1
        claimed.append(
            Claimed(
                delivery.id,
                campaign.id,
                person.id,
                identity.chat_id,
                delivery.kind,
                delivery.seq,
                person.locale,
                identity.language_code,
                started is not None,
            )
        )
    return claimed


async def mark_sent(repo: Repo, delivery_id: int, now: datetime) -> None:
    """Sent: an invitation also schedules the campaign's reminders."""
    delivery = await repo.session.get(Delivery, delivery_id)
    delivery_transition(delivery, D.SENT)
    delivery.sent_at, delivery.error = now, None
    if delivery.kind != "invitation":
        return
    campaign = await campaigns.campaign(repo, delivery.campaign_id)
    if campaign.status != CampaignStatus.RUNNING:
        return  # finished or cancelled while this message was on its way
    for seq, seconds in enumerate(campaign.remind_after[: campaign.max_reminders], start=1):
        await repo.session.execute(
            repo.insert_on_conflict(Delivery)
            .values(
                campaign_id=campaign.id,
                participant_id=delivery.participant_id,
                kind="reminder",
                seq=seq,
                due_at=now + timedelta(seconds=seconds),
                status=D.PENDING,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["campaign_id", "participant_id", "kind", "seq"])
        )


async def mark_blocked(repo: Repo, delivery_id: int, error: str) -> None:
    """403: the person blocked the bot; no more messages to them, of any campaign."""
    delivery = await repo.session.get(Delivery, delivery_id)
    delivery_transition(delivery, D.FAILED)
    delivery.error = error[:300]
    person = await repo.session.get(Participant, delivery.participant_id)
    person.unreachable = True


async def mark_retry(repo: Repo, delivery_id: int, error: str, at: datetime) -> None:
    """A temporary failure (429, 5xx, network): try again at `at`, a few times at most."""
    delivery = await repo.session.get(Delivery, delivery_id)
    delivery.error = error[:300]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery_transition(delivery, D.FAILED)
    else:
        delivery_transition(delivery, D.PENDING)
        delivery.due_at = at


async def mark_failed(repo: Repo, delivery_id: int, error: str, status: str = D.FAILED) -> None:
    """A permanent failure (or `uncertain` after a timeout: it may have arrived)."""
    delivery = await repo.session.get(Delivery, delivery_id)
    delivery_transition(delivery, DeliveryStatus(status))
    delivery.error = error[:300]


@dataclass(frozen=True)
class Progress:
    """A campaign's figures."""

    invited: int
    started: int
    completed: int
    unreachable: int
    opted_out: int
    pending: int
    uncertain: int
    failed: int
    reminders: int


async def progress(repo: Repo, campaign: Campaign) -> Progress:
    """Invited, started, completed, unreachable, opted out, pending — from the rows."""
    inv = and_(Delivery.campaign_id == campaign.id, Delivery.kind == "invitation")

    async def count(*where) -> int:
        return await repo.session.scalar(select(func.count()).select_from(Delivery).where(*where))

    runs = (
        select(Run.participant_id, Run.status)
        .join(Delivery, and_(Delivery.participant_id == Run.participant_id, inv))
        .where(
            Run.flow_version_id.in_(_flow_versions(campaign.flow_id)),
            Run.started_at >= campaign.start_at,
        )
    )
    rows = (await repo.session.execute(runs)).all()
    started = {pid for pid, _ in rows}
    done = {pid for pid, status in rows if status == RunStatus.COMPLETE}
    return Progress(
        invited=await count(inv, Delivery.status == D.SENT),
        started=len(started),
        completed=len(done),
        unreachable=await count(
            inv, Delivery.participant_id.in_(select(Participant.id).where(Participant.unreachable))
        ),
        opted_out=await count(inv, Delivery.status == D.SKIPPED, Delivery.error == "opted out"),
        pending=await count(Delivery.campaign_id == campaign.id, Delivery.status == D.PENDING),
        uncertain=await count(Delivery.campaign_id == campaign.id, Delivery.status == D.UNCERTAIN),
        failed=await count(Delivery.campaign_id == campaign.id, Delivery.status == D.FAILED),
        reminders=await count(
            Delivery.campaign_id == campaign.id,
            Delivery.kind == "reminder",
            Delivery.status == D.SENT,
        ),
    )
