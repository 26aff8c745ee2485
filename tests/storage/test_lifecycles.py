"""Statuses are enums with one lifecycle each; the chat and the CLI share the group and plan
use cases. Against a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from bot.i18n import translator
from bot.services import groups
from bot.services.campaign_chat import CampaignChat
from bot.services.campaigns import Plan, confirm, create, set_status
from bot.services.context import Ctx
from bot.services.polls import PollDesk
from bot.services.replies import EditText, NativePoll, SendText
from flows import SHIPPED_DIR
from storage import outbox
from storage import polls as poll_queries
from storage.campaigns import campaign_transition
from storage.models import AuditEntry, Campaign, Delivery
from storage.repo import Database
from storage.statuses import (
    CampaignStatus,
    DeliveryStatus,
    IllegalTransition,
    PollStatus,
    RunStatus,
    Stage,
    set_run_status,
    set_stage,
)

pytestmark = pytest.mark.storage

NOW = datetime(2030, 3, 2, 10, 0, tzinfo=UTC)
FLOW = "partner-checkup"


class Catalog:
    """Just enough of FlowCatalog: every flow is known, titled by its id."""

    class _Flow:
        def __init__(self, flow_id: str) -> None:
            self.id = flow_id

        def text(self, key: str, locale: str) -> str:
            return self.id

    def get(self, flow_id: str):
        return self._Flow(flow_id)

    def all(self):
        return [self._Flow(FLOW)]


async def admin_ctx(repo, user_id: int = 1) -> Ctx:
    identity = await repo.add_participant(user_id, user_id, "Ada", None, "en")
    return Ctx(repo, identity.participant, identity, translator("en"), configured_admin=True)


async def draft(repo, days: int = 14) -> Campaign:
    plan = Plan(FLOW, ["partners"], NOW, NOW + timedelta(days=days))
    return await create(repo, plan, "seed")


# --- enums and transitions --------------------------------------------------------------------
async def test_statuses_come_back_as_enums_and_are_stored_as_plain_strings(db: Database) -> None:
    async with db.transaction() as repo:
        campaign_id = (await draft(repo)).id
    async with db.transaction() as repo:
        campaign = await repo.session.get(Campaign, campaign_id)
        assert campaign.status is CampaignStatus.DRAFT
        raw = await repo.session.scalar(
            text(f"SELECT status FROM campaigns WHERE id = {campaign_id}")
        )
        assert raw == "draft"


async def test_an_unknown_status_is_refused_and_nothing_is_stored(db: Database) -> None:
    async with db.transaction() as repo:
        campaign_id = (await draft(repo)).id
    with pytest.raises(StatementError):
        async with db.transaction() as repo:
            campaign = await repo.session.get(Campaign, campaign_id)
            campaign.status = "runing"  # a typo used to be stored as it was
            await repo.session.flush()
    async with db.transaction() as repo:
        assert (await repo.session.get(Campaign, campaign_id)).status == "draft"


async def test_a_sent_message_can_never_be_sent_or_retried_again(db: Database) -> None:
    async with db.transaction() as repo:
        person = (await repo.add_participant(7, 7, "Bo", None, "de")).participant
        campaign = await draft(repo)
        campaign.remind_after = [3600]
        await confirm(repo, campaign, "seed")
        campaign_transition(campaign, CampaignStatus.RUNNING)
        delivery = Delivery(
            campaign_id=campaign.id,
            participant_id=person.id,
            kind="invitation",
            due_at=NOW,
            status=DeliveryStatus.SENDING,
        )
        repo.session.add(delivery)
        await repo.session.flush()
        delivery_id = delivery.id
    async with db.transaction() as repo:
        await outbox.mark_sent(repo, delivery_id, NOW)
    for again in ("sent", "retry", "failed"):
        with pytest.raises(IllegalTransition, match="sent; it cannot become"):
            async with db.transaction() as repo:
                if again == "sent":
                    await outbox.mark_sent(repo, delivery_id, NOW + timedelta(hours=1))
                elif again == "retry":
                    await outbox.mark_retry(repo, delivery_id, "429", NOW)
                else:
                    await outbox.mark_failed(repo, delivery_id, "late error")
    async with db.transaction() as repo:
        rows = list(await repo.session.scalars(select(Delivery).order_by(Delivery.id)))
        assert [(d.kind, d.status) for d in rows] == [
            ("invitation", "sent"),
            ("reminder", "pending"),
        ]
        assert rows[0].sent_at == NOW and rows[0].error is None


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (CampaignStatus.FINISHED, CampaignStatus.RUNNING),
        (CampaignStatus.CANCELLED, CampaignStatus.SCHEDULED),
        (CampaignStatus.DRAFT, CampaignStatus.RUNNING),
        (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED),
    ],
)
async def test_a_campaign_never_jumps_its_lifecycle(db: Database, start, to) -> None:
    async with db.transaction() as repo:
        campaign = await draft(repo)
        campaign.status = start
        with pytest.raises(IllegalTransition):
            campaign_transition(campaign, to)
        assert campaign.status == start


async def test_resume_refuses_a_draft_and_cancel_refuses_a_finished_campaign(db: Database) -> None:
    async with db.transaction() as repo:
        campaign = await draft(repo)
        with pytest.raises(ValueError, match="is draft; cannot resume"):
            await set_status(repo, campaign, "resume", "cli")
        campaign.status = CampaignStatus.FINISHED
        with pytest.raises(ValueError, match="is finished; cannot cancel"):
            await set_status(repo, campaign, "cancel", "cli")


# --- polls ------------------------------------------------------------------------------------
async def test_a_native_group_poll_stores_votes_and_closes_once(db: Database) -> None:
    desk = PollDesk(Path(SHIPPED_DIR), lambda: NOW)
    t = translator("en")
    async with db.transaction() as repo:
        out = await desk.group_poll(repo, -100, "P-ADMIN", "When? | Monday | Tuesday", t)
        (native,) = [r for r in out.replies if isinstance(r, NativePoll)]
        await desk.remember_native(repo, native.poll_id, "np1", 55)
    async with db.transaction() as repo:
        assert await desk.native_answer(repo, "np1", 801, [0], None)
        assert await desk.native_answer(repo, "np1", 802, [1], None)
        assert await desk.native_answer(repo, "np1", 802, [], None)  # withdrawn
        assert not await desk.native_answer(repo, "unknown", 803, [0], None)
    async with db.transaction() as repo:
        out = await desk.group_close(repo, -100, t)
        final = [r.text for r in out.replies if isinstance(r, SendText) and r.text.startswith("🏁")]
        assert len(final) == 1 and "1 voted" in final[0]
        poll = await poll_queries.poll(repo, native.poll_id)
        assert poll.status is PollStatus.CLOSED and poll.salt is None
        with pytest.raises(IllegalTransition):
            poll_queries.close_poll(poll, NOW)
    async with db.transaction() as repo:
        assert not await desk.native_answer(repo, "np1", 804, [0], None)  # closed: not counted
        assert await poll_queries.vote_values(repo, native.poll_id) == [["a"]]


# --- groups: the same use case for /group and `backbone groups` -------------------------------
async def test_adding_someone_twice_in_the_chat_is_audited_once(db: Database) -> None:
    chat = CampaignChat(Catalog(), "Europe/Berlin", lambda: NOW)
    async with db.transaction() as repo:
        ctx = await admin_ctx(repo)
        member = (await repo.add_participant(2, 2, "Bo", None, "en")).participant
        await repo.ensure_group("partners", "seed")
        await chat.group_command(ctx, f"partners add {member.pseudonym}")
        await chat.group_command(ctx, f"partners add {member.pseudonym}")
        await chat.group_command(ctx, f"partners remove {ctx.participant.pseudonym}")
        said = [r.text for r in ctx.out.replies]
    assert said[-1].startswith("partners: 1 member") and member.pseudonym in said[-1]
    async with db.transaction() as repo:
        actions = list(await repo.session.scalars(select(AuditEntry.action)))
        assert actions == ["group_member_add"]  # a change that changed nothing is no event
        assert await groups.overview(repo) == [("partners", 1)]


# --- the campaign plan: the wizard's reminder buttons fit the deadline -------------------------
async def test_the_wizard_drops_reminders_that_would_come_after_the_deadline(db: Database) -> None:
    chat = CampaignChat(Catalog(), "Europe/Berlin", lambda: NOW)
    async with db.transaction() as repo:
        ctx = await admin_ctx(repo)
        campaign = await draft(repo)
        campaign.created_by = ctx.participant.pseudonym
        # Someone the campaign can reach: a plan for nobody is never offered a start.
        partners = await repo.ensure_group("partners", "seed")
        await repo.add_member(partners.id, ctx.participant.id)
        await chat.tap(ctx, (campaign.id, "d", 7), 99)
        await chat.tap(ctx, (campaign.id, "r", "3,7"), 99)
        preview = ctx.out.replies[-1]
        assert isinstance(preview, EditText) and "Please check" in preview.text
        # 7 days after the start is the deadline itself: that reminder could never go out.
        assert "Reminders after: 3 days" in preview.text
        assert campaign.remind_after == [3 * 86400]
        await chat.tap(ctx, (campaign.id, "ok"), 99)
        assert campaign.status is CampaignStatus.SCHEDULED


async def test_a_draft_whose_deadline_is_not_after_its_start_is_not_started(db: Database) -> None:
    chat = CampaignChat(Catalog(), "Europe/Berlin", lambda: NOW)
    async with db.transaction() as repo:
        ctx = await admin_ctx(repo)
        campaign = await draft(repo)
        campaign.created_by = ctx.participant.pseudonym
        campaign.start_at = campaign.deadline  # e.g. a stale start button tapped late
        await chat.tap(ctx, (campaign.id, "ok"), 99)
        shown = ctx.out.replies[-1]
        assert "This plan cannot work" in shown.text
        assert [label for row in shown.buttons for label, _ in row] == ["✖ Discard"]
        assert campaign.status is CampaignStatus.DRAFT
        actions = list(await repo.session.scalars(select(AuditEntry.action)))
        assert "campaign_started" not in actions


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (RunStatus.COMPLETE, RunStatus.ACTIVE),  # a finished interview never reopens
        (RunStatus.INCOMPLETE, RunStatus.PAUSED),
        (RunStatus.PAUSED, RunStatus.COMPLETE),  # answering resumes it first
    ],
)
async def test_a_run_never_jumps_its_lifecycle(db: Database, start, to) -> None:
    async with db.transaction() as repo:
        identity = await repo.add_participant(7, 7, "A", None, "en")
        version = await repo.flow_version(FLOW, "1", "hash", {})
        run = await repo.add_run(identity.participant.id, version.id, "en", {})
        run.status = start
    async with db.transaction() as repo:
        run, _identity = await repo.lock_run(run.id)
        with pytest.raises(IllegalTransition):
            set_run_status(run, to)
        set_run_status(run, start)  # staying put is allowed
    async with db.transaction() as repo:
        assert (await repo.lock_run(run.id))[0].status is start


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Stage.NEW, Stage.READY),  # nobody takes part without the notice
        (Stage.MINOR, Stage.LANGUAGE),
        (Stage.LANGUAGE, Stage.READY),
    ],
)
async def test_onboarding_never_skips_the_notice(db: Database, start, to) -> None:
    async with db.transaction() as repo:
        participant = (await repo.add_participant(8, 8, "B", None, "en")).participant
        participant.stage = start
    async with db.transaction() as repo:
        participant = await repo.participant(participant.id)
        with pytest.raises(IllegalTransition):
            set_stage(participant, to)
    async with db.transaction() as repo:
        assert (await repo.participant(participant.id)).stage is start
