"""Check-up campaigns: invite groups to a flow, remind non-finishers politely, never at night.

The schedule and every message owed are rows (storage/outbox.py); the sender in the
Telegram adapter claims due rows and reports back. Nothing here talks to Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import Translator, negotiate, translator
from bot.services import callbacks
from bot.services.campaign_plan import (
    Plan,
    PlanError,
    parse_duration,
    parse_quiet,
    validate_plan,
)
from bot.services.replies import Keyboard
from storage import campaigns as queries
from storage import outbox
from storage.models import Campaign
from storage.repo import Repo
from storage.statuses import CampaignStatus, IllegalTransition

__all__ = ["Plan", "PlanError", "parse_duration", "parse_quiet", "validate_plan"]


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class QuietHours:
    """Nothing is sent between `start` and `end` local time (may span midnight)."""

    zone: ZoneInfo

    def active(self, campaign: Campaign, now: datetime) -> bool:
        """Is it quiet time for this campaign right now?"""
        local = now.astimezone(self.zone).time()
        start, end = _clock(campaign.quiet_start), _clock(campaign.quiet_end)
        if start == end:
            return False
        if start < end:
            return start <= local < end
        return local >= start or local < end

    def next_morning(self, campaign: Campaign, now: datetime) -> datetime:
        """When quiet time ends."""
        local = now.astimezone(self.zone)
        end = _clock(campaign.quiet_end)
        candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate.astimezone(ZoneInfo("UTC"))


async def preview(repo: Repo, groups: list[str]) -> tuple[dict[str, int], int]:
    """How many would be invited, per group and in all (people in two groups count once)."""
    members = await outbox.audience(repo, groups)
    return {g: len(p) for g, p in members.items()}, len({x for p in members.values() for x in p})


async def create(repo: Repo, plan: Plan, created_by: str, chat_id: int | None = None) -> Campaign:
    """A draft campaign: nothing is sent until it is confirmed."""
    if plan.deadline <= plan.start_at:
        raise PlanError("deadline_before_start")
    return await queries.add_campaign(
        repo,
        flow_id=plan.flow_id,
        groups=sorted(set(plan.groups)),
        status=CampaignStatus.DRAFT,
        start_at=plan.start_at,
        deadline=plan.deadline,
        remind_after=sorted(plan.remind_after),
        max_reminders=plan.max_reminders,
        quiet_start=plan.quiet[0],
        quiet_end=plan.quiet[1],
        texts=plan.texts,
        every_months=plan.every_months,
        created_by=created_by,
        progress_chat_id=chat_id,
    )


def plan_of(campaign: Campaign) -> Plan:
    """A draft's plan as it stands (to validate it again before it is confirmed)."""
    return Plan(
        flow_id=campaign.flow_id,
        groups=list(campaign.groups),
        start_at=campaign.start_at,
        deadline=campaign.deadline,
        remind_after=list(campaign.remind_after),
        max_reminders=campaign.max_reminders,
        quiet=(campaign.quiet_start, campaign.quiet_end),
        every_months=campaign.every_months,
        texts=campaign.texts or {},
    )


async def confirm(repo: Repo, campaign: Campaign, actor: str) -> None:
    """Confirmed: the campaign starts at its start time (the sender invites the audience)."""
    if campaign.status != CampaignStatus.DRAFT:
        raise ValueError(f"campaign {campaign.id} is {campaign.status}, not a draft")
    validate_plan(plan_of(campaign))
    queries.campaign_transition(campaign, CampaignStatus.SCHEDULED)
    await repo.audit(
        actor,
        "campaign_started",
        {"campaign": campaign.id, "flow": campaign.flow_id, "groups": campaign.groups},
    )


async def set_status(repo: Repo, campaign: Campaign, action: str, actor: str) -> str:
    """pause | resume | cancel; returns the new status."""
    target = {"pause": CampaignStatus.PAUSED, "cancel": CampaignStatus.CANCELLED}.get(action)
    if action == "resume":
        # Deliveries created before the pause still stand; a campaign paused before it
        # started goes back to waiting for its start.
        has_rows = await queries.has_deliveries(repo, campaign.id)
        target = CampaignStatus.RUNNING if has_rows else CampaignStatus.SCHEDULED
    refused = ValueError(f"campaign {campaign.id} is {campaign.status}; cannot {action}")
    # Only a paused campaign resumes (the lifecycle alone would let a draft be scheduled).
    if target is None or (action == "resume" and campaign.status != CampaignStatus.PAUSED):
        raise refused
    try:
        queries.campaign_transition(campaign, target)
    except IllegalTransition:
        raise refused from None
    if target == CampaignStatus.CANCELLED:
        await outbox.skip_pending(repo, campaign.id, "campaign cancelled")
    await repo.audit(actor, f"campaign_{action}", {"campaign": campaign.id})
    return target


def add_months(value: datetime, months: int, zone: ZoneInfo | None = None) -> datetime:
    """The same day and local time `months` later (clamped to the month's last day).

    With `zone`, months are added on the local clock, so a 09:00 wave stays at 09:00
    across a daylight-saving change."""
    if zone is not None:
        local = add_months(value.astimezone(zone).replace(tzinfo=None), months)
        return local.replace(tzinfo=zone).astimezone(value.tzinfo or zone)
    month = value.month - 1 + months
    year = value.year + month // 12
    month = month % 12 + 1
    for day in (value.day, 30, 29, 28):
        try:
            return value.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError("impossible date")


async def finish_due(repo: Repo, now: datetime, zone: ZoneInfo) -> list[Campaign]:
    """Campaigns past their deadline finish; recurring ones schedule their next wave."""
    new_waves = []
    for campaign in await queries.past_deadline(repo, now):
        queries.campaign_transition(campaign, CampaignStatus.FINISHED)
        await outbox.skip_pending(repo, campaign.id, "deadline passed")
        if campaign.every_months:
            wave = await queries.add_campaign(
                repo,
                flow_id=campaign.flow_id,
                groups=campaign.groups,
                status=CampaignStatus.SCHEDULED,
                start_at=add_months(campaign.start_at, campaign.every_months, zone),
                deadline=add_months(campaign.deadline, campaign.every_months, zone),
                remind_after=campaign.remind_after,
                max_reminders=campaign.max_reminders,
                quiet_start=campaign.quiet_start,
                quiet_end=campaign.quiet_end,
                texts=campaign.texts,
                every_months=campaign.every_months,
                retain_identity_months=campaign.retain_identity_months,
                previous_id=campaign.id,
                created_by=campaign.created_by,
                progress_chat_id=campaign.progress_chat_id,
            )
            new_waves.append(wave)
    return new_waves


def message_for(
    claimed: outbox.Claimed,
    campaign: Campaign,
    title: str,
    default_locale: str,
    timezone: str,
) -> tuple[str, Keyboard]:
    """The invitation or reminder text in the person's language, with its start button."""
    locale = claimed.locale or negotiate(claimed.language_code, default_locale)
    t = translator(locale, timezone)
    custom = (campaign.texts or {}).get(claimed.kind, {})
    deadline = t.datetime(campaign.deadline)
    if custom.get(locale):
        text = custom[locale]
    elif claimed.kind == "invitation":
        text = t.gettext(
            "Hello! We would like to hear from you: “{title}”. It takes a few minutes — "
            "please answer by {deadline}."
        )
    elif claimed.started:
        text = t.gettext(
            "A friendly reminder: you started “{title}”. Would you like to continue where you "
            "left off? It is open until {deadline}."
        )
    else:
        text = t.gettext(
            "A friendly reminder: “{title}” is still open for you until {deadline}. "
            "It takes only a few minutes."
        )
    text = text.replace("{title}", title).replace("{deadline}", deadline)
    label = t.gettext("▶ Continue") if claimed.started else t.gettext("▶ Start")
    footer = t.gettext("(Send /stop if you do not want these messages.)")
    start = callbacks.button(callbacks.CampaignStart(campaign.id))
    return f"{text}\n\n{footer}", [[(label, start)]]


def status_name(status: str, t: Translator) -> str:
    """A campaign status in the reader's language."""
    names = {
        "draft": t.gettext("draft"),
        "scheduled": t.gettext("scheduled"),
        "running": t.gettext("running"),
        "paused": t.gettext("paused"),
        "cancelled": t.gettext("cancelled"),
        "finished": t.gettext("finished"),
    }
    return names.get(status, status)


def progress_text(campaign: Campaign, figures: outbox.Progress, title: str, t: Translator) -> str:
    """The admin's progress message."""
    rate = figures.completed / figures.invited if figures.invited else 0
    lines = [
        t.gettext("📬 Campaign {id}: “{title}” ({status})").format(
            id=campaign.id, title=title, status=status_name(campaign.status, t)
        ),
        t.gettext("Groups: {groups} · deadline {deadline}").format(
            groups=", ".join(campaign.groups), deadline=t.datetime(campaign.deadline)
        ),
        "",
        t.gettext("Invited: {n}").format(n=figures.invited),
        t.gettext("Started: {n}").format(n=figures.started),
        t.gettext("Completed: {n} ({rate})").format(n=figures.completed, rate=t.percent(rate)),
        t.gettext("Reminders sent: {n}").format(n=figures.reminders),
        t.gettext("Unreachable: {n}").format(n=figures.unreachable),
        t.gettext("Opted out: {n}").format(n=figures.opted_out),
        t.gettext("Pending: {n}").format(n=figures.pending),
    ]
    if figures.uncertain:
        lines.append(
            t.gettext("Uncertain (in flight during a restart, not resent): {n}").format(
                n=figures.uncertain
            )
        )
    if figures.failed:
        lines.append(t.gettext("Failed: {n}").format(n=figures.failed))
    return "\n".join(lines)


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, rendered: where to send what."""

    delivery_id: int
    campaign_id: int
    chat_id: int
    text: str
    buttons: Keyboard


@dataclass(frozen=True)
class Result:
    """What happened to one outgoing message: sent | blocked | retry | failed | uncertain."""

    delivery_id: int
    campaign_id: int
    outcome: str
    error: str = ""
    retry_at: datetime | None = None


class CampaignRunner:
    """The outbox side of campaigns: start due campaigns, claim, record, report progress."""

    def __init__(self, db, catalog, *, default_locale: str, timezone: str, clock) -> None:
        self.db = db
        self.catalog = catalog
        self.default_locale = default_locale
        self.timezone = timezone
        self.quiet = QuietHours(ZoneInfo(timezone))
        self.clock = clock

    async def recover(self) -> int:
        """At start-up: messages that were in flight during a crash become `uncertain`."""
        async with self.db.transaction() as repo:
            return await outbox.recover_in_flight(repo)

    async def claim(self, limit: int) -> list[Outgoing]:
        """Start and finish campaigns as due, then claim up to `limit` messages to send."""
        now = self.clock()
        async with self.db.transaction() as repo:
            await outbox.start_due_campaigns(repo, now)
            await finish_due(repo, now, self.quiet.zone)
            claimed = await outbox.claim_due(
                repo, now, limit, self.quiet.active, self.quiet.next_morning
            )
            campaigns = {
                c.campaign_id: await queries.campaign(repo, c.campaign_id) for c in claimed
            }
        out = []
        for c in claimed:
            campaign = campaigns[c.campaign_id]
            flow = self.catalog.get(campaign.flow_id)
            locale = c.locale or negotiate(c.language_code, self.default_locale)
            title = flow.text("title", locale) if flow else campaign.flow_id
            text, keys = message_for(c, campaign, title, self.default_locale, self.timezone)
            out.append(Outgoing(c.delivery_id, c.campaign_id, c.chat_id, text, keys))
        return out

    async def record(self, results: list[Result]) -> None:
        """Store what happened to the messages of one batch, in one transaction."""
        if not results:
            return
        now = self.clock()
        async with self.db.transaction() as repo:
            for r in results:
                if r.outcome == "sent":
                    await outbox.mark_sent(repo, r.delivery_id, now)
                elif r.outcome == "blocked":
                    await outbox.mark_blocked(repo, r.delivery_id, r.error)
                elif r.outcome == "retry":
                    await outbox.mark_retry(repo, r.delivery_id, r.error, r.retry_at or now)
                else:
                    await outbox.mark_failed(repo, r.delivery_id, r.error, r.outcome)

    async def progress_view(self, campaign_id: int) -> tuple[int, int | None, str] | None:
        """(chat id, message id or None, text) of a campaign's progress message."""
        async with self.db.transaction() as repo:
            campaign = await queries.campaign(repo, campaign_id)
            if campaign is None or campaign.progress_chat_id is None:
                return None
            figures = await outbox.progress(repo, campaign)
            flow = self.catalog.get(campaign.flow_id)
            t = await self._translator_for(repo, campaign.created_by)
            title = flow.text("title", t.locale) if flow else campaign.flow_id
            return (
                campaign.progress_chat_id,
                campaign.progress_message_id,
                progress_text(campaign, figures, title, t),
            )

    async def _translator_for(self, repo: Repo, pseudonym: str) -> Translator:
        """The admin's language (the one who started the campaign), else the default."""
        admin = await repo.participant_by_pseudonym(pseudonym)
        identity = await repo.identity_of(admin.id) if admin else None
        code = identity.language_code if identity else None
        locale = (admin.locale if admin else None) or negotiate(code, self.default_locale)
        return translator(locale, self.timezone)

    async def remember_progress_message(self, campaign_id: int, message_id: int) -> None:
        """Store the id of a campaign's progress message."""
        async with self.db.transaction() as repo:
            campaign = await queries.campaign(repo, campaign_id)
            if campaign is not None:
                campaign.progress_message_id = message_id


@dataclass(frozen=True)
class Audience:
    """Who a campaign for some groups would invite, and how many cannot be messaged now."""

    by_group: dict[str, int]
    total: int
    opted_out: int
    unreachable: int
    unlinked: int
    reachable: int = 0


async def audience(repo: Repo, groups: list[str]) -> Audience:
    """The preview staff see before they confirm a campaign."""
    by_group, total = await preview(repo, groups)
    r = await queries.reach(repo, groups)
    return Audience(by_group, total, r.opted_out, r.unreachable, r.unlinked, r.reachable)
