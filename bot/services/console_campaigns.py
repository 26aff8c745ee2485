"""Campaigns from the staff console: the same plan rules, preview, confirmation and
lifecycle as `backbone campaigns` and /campaign, with the staff member's pseudonym as actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.services import campaigns as cases
from bot.services import groups as group_cases
from bot.services.campaign_plan import (
    Plan,
    PlanError,
    check_reach,
    parse_duration,
    parse_quiet,
    validate_plan,
)
from bot.services.catalog import FlowCatalog
from storage import campaigns as queries
from storage.repo import Database

DEFAULT_REMINDERS = ("3d", "7d")  # as the CLI's


@dataclass(frozen=True)
class CampaignForm:
    """The creation form as typed (strings), so a preview can post it again unchanged."""

    flow: str
    groups: tuple[str, ...]
    start: str  # empty: now
    deadline: str  # YYYY-MM-DDTHH:MM in the bot's time zone
    remind: str  # e.g. "3d 7d"; empty: the defaults that fit
    max_reminders: str
    quiet: str
    every_months: str


def _moment(text: str, zone: ZoneInfo) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PlanError("bad_time") from None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def plan_of_form(form: CampaignForm, catalog: FlowCatalog, zone: ZoneInfo, now: datetime) -> Plan:
    """The form as a validated plan, or PlanError (with the CLI's rules and codes)."""
    if catalog.get(form.flow) is None:
        raise PlanError("no_flow")
    groups = sorted({g.strip().lower() for g in form.groups if g.strip()})
    if not groups:
        raise PlanError("no_group")
    try:
        remind = [parse_duration(r) for r in (form.remind.split() or DEFAULT_REMINDERS)]
        quiet = parse_quiet(form.quiet or "20:00-08:00")
        max_reminders = int(form.max_reminders or 3)
        every = int(form.every_months) if form.every_months.strip() else None
    except ValueError:
        raise PlanError("bad_time") from None
    plan = Plan(
        form.flow,
        groups,
        now if not form.start.strip() else _moment(form.start, zone),
        _moment(form.deadline, zone),
        remind_after=remind,
        max_reminders=max_reminders,
        quiet=quiet,
        every_months=every,
    )
    return validate_plan(plan, now, presets=not form.remind.split())


async def preview(db: Database, plan: Plan) -> cases.Audience:
    """Who would be invited (per group, and how many cannot be reached); LookupError names
    groups that do not exist."""
    async with db.transaction() as repo:
        missing = await group_cases.missing(repo, plan.groups)
        if missing:
            raise LookupError(", ".join(missing))
        return await cases.audience(repo, plan.groups)


async def create(db: Database, plan: Plan, actor: str) -> tuple[int, str]:
    """Create and confirm (the bot's sender invites from the start); PlanError
    ("nobody_reachable") when nobody could get an invitation — then nothing is created."""
    async with db.transaction() as repo:
        missing = await group_cases.missing(repo, plan.groups)
        if missing:
            raise LookupError(", ".join(missing))
        check_reach(await cases.audience(repo, plan.groups))
        campaign = await cases.create(repo, plan, actor)
        await cases.confirm(repo, campaign, actor)
        return campaign.id, str(campaign.status)


async def change(db: Database, campaign_id: int, action: str, actor: str) -> str | None:
    """pause | resume | cancel; the new status, None for an unknown campaign; ValueError
    when the campaign's state does not allow it."""
    if action not in ("pause", "resume", "cancel"):
        raise ValueError(action)
    async with db.transaction() as repo:
        campaign = await queries.campaign(repo, campaign_id)
        if campaign is None:
            return None
        return str(await cases.set_status(repo, campaign, action, actor))
