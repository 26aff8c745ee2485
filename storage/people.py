"""Queries the chat's dispatcher and routers need about a person (and their invitations)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from storage.models import Campaign, Delivery, Identity, Participant, Run
from storage.repo import Repo

# What a transaction can fail with when a concurrent one got there first (or the database
# hiccuped): the whole update is rolled back and may be run again.
TRANSACTION_CONFLICTS = (IntegrityError, OperationalError)


async def identity_loaded(repo: Repo, participant: Participant) -> Identity | None:
    """The participant's identity (None once the link was deleted), loaded in this session."""
    await repo.session.refresh(participant, ["identity"])
    return participant.identity


async def with_flow_version(repo: Repo, run: Run) -> Run:
    """The run with its flow version loaded (a new run has it only after this)."""
    await repo.session.refresh(run, ["flow_version"])
    return run


async def invited_campaign(repo: Repo, campaign_id: int, participant_id: int) -> Campaign | None:
    """The campaign, if this participant was invited to it (a delivery row exists)."""
    campaign = await repo.session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    invited = await repo.session.scalar(
        select(Delivery.id)
        .where(Delivery.campaign_id == campaign.id, Delivery.participant_id == participant_id)
        .limit(1)
    )
    return campaign if invited else None
