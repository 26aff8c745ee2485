"""Campaign queries and the campaign lifecycle (the SQL behind bot/services/campaigns.py).

Every change of a campaign's status goes through `campaign_transition`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage.models import Campaign, Delivery, Group, GroupMember, Identity, Participant
from storage.repo import Repo
from storage.statuses import CampaignStatus, DeliveryStatus, check_transition


def campaign_transition(campaign: Campaign, to: CampaignStatus) -> None:
    """Change a campaign's status; IllegalTransition (nothing changed) if its lifecycle
    does not allow it."""
    campaign.status = check_transition(f"campaign {campaign.id}", campaign.status, to)


async def add_campaign(repo: Repo, **fields: Any) -> Campaign:
    """A new campaign row (a draft, or a recurring campaign's next wave)."""
    campaign = Campaign(**fields)
    repo.session.add(campaign)
    await repo.session.flush()
    return campaign


async def campaign(repo: Repo, campaign_id: int) -> Campaign | None:
    """A campaign by id."""
    return await repo.session.get(Campaign, campaign_id)


async def campaigns(repo: Repo, newest_first: bool = False, limit: int | None = None):
    """Campaigns by id (oldest first unless `newest_first`), at most `limit`."""
    order = Campaign.id.desc() if newest_first else Campaign.id
    return list(await repo.session.scalars(select(Campaign).order_by(order).limit(limit)))


async def has_deliveries(repo: Repo, campaign_id: int) -> bool:
    """Whether the campaign owes (or owed) anyone a message yet."""
    stmt = select(Delivery.id).where(Delivery.campaign_id == campaign_id).limit(1)
    return await repo.session.scalar(stmt) is not None


async def add_invitations(
    repo: Repo, campaign: Campaign, participant_ids: list[int], due_at: datetime
) -> None:
    """The invitation row of each person, as one statement executed for all rows instead of
    one statement per person (10,000 people: well under a second on SQLite); a row already
    there stays as it is (a start after a crash does not invite anyone twice)."""
    rows = [
        {
            "campaign_id": campaign.id,
            "participant_id": pid,
            "kind": "invitation",
            "seq": 0,
            "due_at": due_at,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
        }
        for pid in participant_ids
    ]
    if not rows:
        return
    stmt = repo.insert_on_conflict(Delivery).on_conflict_do_nothing(
        index_elements=["campaign_id", "participant_id", "kind", "seq"]
    )
    # One statement executed for many rows (the driver's executemany), compiled once.
    await repo.session.execute(stmt, rows)


async def due_to_start(repo: Repo, now: datetime) -> list[Campaign]:
    """Scheduled campaigns whose start has come."""
    stmt = select(Campaign).where(
        Campaign.status == CampaignStatus.SCHEDULED, Campaign.start_at <= now
    )
    return list(await repo.session.scalars(stmt))


async def past_deadline(repo: Repo, now: datetime) -> list[Campaign]:
    """Running or paused campaigns whose deadline has passed."""
    stmt = select(Campaign).where(
        Campaign.status.in_((CampaignStatus.RUNNING, CampaignStatus.PAUSED)),
        Campaign.deadline < now,
    )
    return list(await repo.session.scalars(stmt))


@dataclass(frozen=True)
class Reach:
    """Of the distinct people in some groups: how many could not be messaged right now."""

    opted_out: int
    unreachable: int
    unlinked: int
    # Linked, not opted out and not known to have blocked the bot: who can be invited.
    reachable: int = 0


async def reach(repo: Repo, groups: list[str]) -> Reach:
    """Opted out, blocked the bot, or without a Telegram link, among the groups' members."""
    stmt = (
        select(Participant.id, Participant.opted_out, Participant.unreachable, Identity.chat_id)
        .join(GroupMember, GroupMember.participant_id == Participant.id)
        .join(Group, Group.id == GroupMember.group_id)
        .outerjoin(Identity, Identity.participant_id == Participant.id)
        .where(Group.name.in_(groups))
        .distinct()
    )
    people = (await repo.session.execute(stmt)).all()
    return Reach(
        opted_out=sum(1 for p in people if p.opted_out),
        unreachable=sum(1 for p in people if p.unreachable),
        unlinked=sum(1 for p in people if p.chat_id is None),
        reachable=len(
            {
                p.id
                for p in people
                if not p.opted_out and not p.unreachable and p.chat_id is not None
            }
        ),
    )
