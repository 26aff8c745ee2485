"""`backbone campaigns …`: check-up campaigns from the shell (`backbone groups …`: cli_groups).

The same use cases as /campaign in Telegram (bot.services.campaigns, campaign_plan);
every change is audited with the actor "cli" and pseudonyms only. Nothing here sends a
message: a confirmed campaign is `scheduled`, and the running bot invites at its start time.

Exit codes: 2 for bad arguments (one line), 1 for something unknown (flow, group, campaign,
pseudonym), a refused change or a declined confirmation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli_campaign_plan import (
    _DeadlineOpt,
    _EveryOpt,
    _FlowOpt,
    _GroupOpt,
    _human,
    _InvitationOpt,
    _local,
    _MaxOpt,
    _Options,
    _QuietOpt,
    _ReminderOpt,
    _RemindOpt,
    _StartOpt,
    _YesOpt,
    checked_plan,
    print_preview,
)
from bot.cli_common import ACTOR, Refused, _confirm, _fail, _settings, _with_db
from bot.cli_groups import groups_app
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services.campaigns import Audience
    from storage.models import Campaign
    from storage.outbox import Progress
    from storage.repo import Database, Repo

campaign_app = typer.Typer(
    help="Check-up campaigns: invite groups to a flow, remind politely, watch the figures.",
    no_args_is_help=True,
)
__all__ = ["campaign_app", "groups_app"]  # groups_app: bot.cli_groups

# --- campaign create -------------------------------------------------------------------------


@campaign_app.command("create")
def campaign_create(
    flow: _FlowOpt,
    deadline: _DeadlineOpt,
    group: _GroupOpt = None,
    start: _StartOpt = "now",
    remind_after: _RemindOpt = None,
    max_reminders: _MaxOpt = 3,
    quiet: _QuietOpt = "20:00-08:00",
    every_months: _EveryOpt = None,
    invitation: _InvitationOpt = None,
    reminder: _ReminderOpt = None,
    retain_identity_months: Annotated[
        int | None,
        typer.Option(
            "--retain-identity-months",
            help="Delete the Telegram link and media of this campaign's finished runs this "
            "many months after they finished (`backbone retention`; default: the flow's).",
        ),
    ] = None,
    yes: _YesOpt = False,
) -> None:
    """Preview a campaign, confirm, and schedule it (the running bot sends the invitations)."""
    from bot.services.retention import MONTHS_MAX

    if retain_identity_months is not None and not 1 <= retain_identity_months <= MONTHS_MAX:
        _fail(f"--retain-identity-months must be between 1 and {MONTHS_MAX}")
    options = _Options(
        flow,
        group or [],
        start,
        deadline,
        remind_after,
        max_reminders,
        quiet,
        every_months,
        {"invitation": invitation, "reminder": reminder},
    )
    settings = _settings()
    plan = checked_plan(options, settings.zone, datetime.now(UTC))
    title = _known_flow_title(settings, plan.flow_id)
    audience = _with_db(settings, lambda db: _audience(db, plan.groups))
    start_now = start.strip().lower() == "now"
    print_preview(plan, title, audience, settings.zone, start_now=start_now)
    if retain_identity_months is not None:
        typer.echo(
            f"Retention: identity links and media go {retain_identity_months} months "
            "after each run finished"
        )
    _refuse_unreachable(audience)
    if not yes and not _agreed():
        typer.echo("Nothing was created, nothing will be sent.")
        raise typer.Exit(1)
    campaign_id, status = _with_db(settings, lambda db: _create(db, plan, retain_identity_months))
    typer.echo(
        f"Campaign {campaign_id} is {status}: the running bot sends the invitations from "
        f"{_local(plan.start_at, settings.zone)}. "
        f"Follow it with `backbone campaigns status {campaign_id}`."
    )


def _known_flow_title(settings: Settings, flow_id: str) -> str:
    from bot.services.catalog import FlowCatalog

    found = FlowCatalog(settings.flows_dir).get(flow_id)
    if found is None:
        _fail(f"no valid flow {flow_id!r} in {settings.flows_dir} (see `backbone flows check`)", 1)
    return found.text("title", settings.default_locale)


def _refuse_unreachable(audience: Audience) -> None:
    """Nobody can be reached: exit 1 (nothing created); some cannot: a warning."""
    from bot.services.campaign_plan import PlanError, check_reach

    try:
        missed = check_reach(audience)
    except PlanError:
        _fail(
            "nobody in this audience can be reached now (see above); nothing was created. "
            "Invite people with `backbone groups invite`.",
            code=1,
        )
        raise  # unreachable
    if missed:
        typer.echo(
            f"Warning: {missed} of {audience.total} cannot be reached now and will not be "
            "invited unless that changes before the start.",
            err=True,
        )


async def _audience(db: Database, groups: list[str]) -> Audience:
    from bot.services import groups as group_cases
    from bot.services.campaigns import audience

    async with db.transaction() as repo:
        missing = await group_cases.missing(repo, groups)
        if missing:
            raise Refused(
                f"no group {', '.join(missing)} (see `backbone groups list`; "
                "`backbone groups create NAME` makes one)"
            )
        return await audience(repo, groups)


def _agreed() -> bool:
    try:
        return typer.confirm("Start this campaign?", default=False)
    except typer.Abort:  # no answer (end of input)
        return False


async def _create(db: Database, plan, retain_months: int | None = None) -> tuple[int, str]:
    from bot.services.campaigns import confirm, create

    async with db.transaction() as repo:
        campaign = await create(repo, plan, ACTOR)
        campaign.retain_identity_months = retain_months
        await confirm(repo, campaign, ACTOR)
        return campaign.id, campaign.status


# --- campaign list / status / pause / resume / cancel ---------------------------------------


def _flow_title(settings: Settings, flow_id: str) -> str:
    from bot.services.catalog import FlowCatalog

    flow = FlowCatalog(settings.flows_dir).get(flow_id)
    return flow.text("title", settings.default_locale) if flow else flow_id


async def _campaign(repo: Repo, campaign_id: int) -> Campaign:
    from storage.campaigns import campaign as find

    campaign = await find(repo, campaign_id)
    if campaign is None:
        raise Refused(f"no campaign {campaign_id} (see `backbone campaigns list`)")
    return campaign


@campaign_app.command("list")
def campaign_list() -> None:
    """Every campaign: id, status, flow, groups, start, deadline, completed of invited."""
    from storage import outbox
    from storage.campaigns import campaigns

    settings = _settings()
    zone = settings.zone

    async def go(db: Database) -> list[tuple[Campaign, Progress]]:
        async with db.transaction() as repo:
            rows = await campaigns(repo)
            return [(c, await outbox.progress(repo, c)) for c in rows]

    rows = _with_db(settings, go)
    if not rows:
        typer.echo("no campaigns yet (`backbone campaigns create --help`)")
        return
    for c, figures in rows:
        typer.echo(
            f"{c.id}  {c.status:<9}  {c.flow_id}  groups: {', '.join(c.groups)}  "
            f"start {_local(c.start_at, zone)}  deadline {_local(c.deadline, zone)}  "
            f"completed {figures.completed} of {figures.invited} invited"
        )


@campaign_app.command("status")
def campaign_status(campaign_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """A campaign's figures: invited, started, completed, reminders, unreachable, …"""
    from storage import outbox

    settings = _settings()
    zone = settings.zone

    async def go(db: Database) -> tuple[Campaign, Progress]:
        async with db.transaction() as repo:
            campaign = await _campaign(repo, campaign_id)
            return campaign, await outbox.progress(repo, campaign)

    c, f = _with_db(settings, go)
    rate = f"{f.completed / f.invited:.0%}" if f.invited else "–"
    reminders = ", ".join(_human(r) for r in c.remind_after[: c.max_reminders]) or "none"
    lines = [
        f"Campaign {c.id}: {c.flow_id} (“{_flow_title(settings, c.flow_id)}”), {c.status}",
        f"Groups: {', '.join(c.groups)}",
        f"Start: {_local(c.start_at, zone)} · deadline: {_local(c.deadline, zone)}",
        f"Reminders after: {reminders} · quiet hours {c.quiet_start}–{c.quiet_end}"
        + (f" · repeats every {c.every_months} months" if c.every_months else ""),
        "",
        f"Invited: {f.invited}",
        f"Started: {f.started}",
        f"Completed: {f.completed} ({rate})",
        f"Reminders sent: {f.reminders}",
        f"Unreachable: {f.unreachable}",
        f"Opted out: {f.opted_out}",
        f"Pending: {f.pending}",
        f"Uncertain: {f.uncertain} (in flight during a restart, not resent)",
        f"Failed: {f.failed}",
    ]
    typer.echo("\n".join(lines))


def _change(campaign_id: int, action: str, ask: str | None = None) -> None:
    """pause / resume / cancel; with `ask`, the campaign is looked up and the question asked
    first (None: no question, the caller's --yes)."""
    from bot.services.campaigns import set_status

    settings = _settings()

    async def look(db: Database) -> str:
        async with db.transaction() as repo:
            return (await _campaign(repo, campaign_id)).status

    # An unknown campaign: exit 1 before the question; one that has ended is refused below
    # without a question.
    if ask is not None and _with_db(settings, look) not in ("cancelled", "finished"):
        _confirm(ask, yes=False)

    async def go(db: Database) -> str:
        async with db.transaction() as repo:
            campaign = await _campaign(repo, campaign_id)
            try:
                return await set_status(repo, campaign, action, ACTOR)
            except ValueError as exc:
                raise Refused(str(exc)) from None

    typer.echo(f"campaign {campaign_id} is now {_with_db(settings, go)}")


@campaign_app.command("pause")
def campaign_pause(campaign_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Hold a scheduled or running campaign: nothing is sent until it is resumed."""
    _change(campaign_id, "pause")


@campaign_app.command("resume")
def campaign_resume(campaign_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Continue a paused campaign."""
    _change(campaign_id, "resume")


@campaign_app.command("cancel")
def campaign_cancel(
    campaign_id: Annotated[int, typer.Argument(metavar="ID")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Stop a campaign for good: no more invitations or reminders (cannot be undone)."""
    question = (
        f"Cancel campaign {campaign_id} for good? Its pending invitations and reminders are "
        "dropped; this cannot be undone."
    )
    _change(campaign_id, "cancel", None if yes else question)
