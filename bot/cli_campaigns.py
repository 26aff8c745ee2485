"""`backbone campaign …`: check-up campaigns from the shell (`backbone groups …`: cli_groups).

The same use cases as /campaign in Telegram (bot.services.campaigns, campaign_plan);
every change is audited with the actor "cli" and pseudonyms only. Nothing here sends a
message: a confirmed campaign is `scheduled`, and the running bot invites at its start time.

Exit codes: 2 for bad arguments (one line), 1 for something unknown (flow, group, campaign,
pseudonym), a refused change or a declined confirmation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from bot.cli_common import ACTOR, Refused, _fail, _group_names, _settings, _with_db
from bot.cli_groups import groups_app
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services.campaigns import Audience, PlanError
    from storage.models import Campaign
    from storage.outbox import Progress
    from storage.repo import Database, Repo

campaign_app = typer.Typer(
    help="Check-up campaigns: invite groups to a flow, remind politely, watch the figures.",
    no_args_is_help=True,
)
__all__ = ["campaign_app", "groups_app"]  # groups_app: bot.cli_groups

DEFAULT_REMINDERS = ["3d", "7d"]


# --- arguments -----------------------------------------------------------------------------


def _moment(option: str, value: str, zone: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    """ISO date or date-time; without a zone it is local time (BACKBONE_TIMEZONE)."""
    text = value.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        # A bare date: the whole day counts for a deadline, its first minute for a start.
        clock = time(23, 59) if end_of_day else time(0, 0)
        return datetime.combine(day, clock, tzinfo=zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"{option}: not a date or date-time: {value!r} (e.g. 2026-12-15T18:00)")
        raise  # unreachable
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _human(seconds: int) -> str:
    """3 * 86400 -> '3d' (days, not weeks: staff write 7d, 14d)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _texts(kind: str, items: list[str]) -> dict[str, str]:
    """`LANG=TEXT` options -> {lang: text} (languages and placeholders: validate_plan)."""
    out: dict[str, str] = {}
    for item in items:
        lang, sep, text = item.partition("=")
        lang = lang.strip().lower()
        if not sep or not lang or not text.strip():
            _fail(f'--{kind}: expected LANG=TEXT, e.g. de="Hallo! …", got {item!r}')
        if lang in out:
            _fail(f"--{kind}: {lang} given twice")
        out[lang] = text.strip()
    return out


def _plan_problem(exc: PlanError, plan, zone: ZoneInfo) -> str:
    """One line for a plan validate_plan refused, in the CLI's terms (its options)."""
    v = exc.values
    kind, lang = v.get("kind"), v.get("lang")
    lines = {
        "start_in_past": f"--start is in the past ({_local(plan.start_at, zone)}); use --start now",
        "deadline_before_start": f"--deadline ({_local(plan.deadline, zone)}) must be after "
        f"the start ({_local(plan.start_at, zone)})",
        "negative_max_reminders": "--max-reminders must be 0 or more",
        "reminders_contradict": "--remind-after and --max-reminders 0 contradict each other",
        "reminder_not_positive": "--remind-after must be longer than 0",
        "reminder_after_deadline": "--remind-after "
        + ", ".join(_human(r) for r in v.get("late", []))
        + ": would come after the deadline",
        "too_many_reminders": f"{v.get('planned')} reminders planned but --max-reminders is "
        f"{v.get('allowed')}; give fewer --remind-after or raise --max-reminders",
        "every_months": "--every-months must be between 1 and 24",
        "unknown_language": f"--{kind}: unknown language {lang!r} (the bot speaks "
        + ", ".join(v.get("known", ()))
        + ")",
        "unknown_placeholder": f"--{kind} {lang}: unknown placeholder "
        + ", ".join("{" + u + "}" for u in v.get("names", ()))
        + "; use only {title} and {deadline}",
    }
    return lines.get(exc.code, str(exc))


# --- campaign create -------------------------------------------------------------------------


@campaign_app.command("create")
def campaign_create(
    flow: Annotated[str, typer.Option("--flow", help="Id of a flow in FLOWS_DIR.")],
    deadline: Annotated[
        str,
        typer.Option(
            "--deadline",
            help="ISO date-time (local time unless it has a zone); a bare date means 23:59.",
        ),
    ],
    group: Annotated[
        list[str] | None, typer.Option("--group", help="Group to invite (repeatable).")
    ] = None,
    start: Annotated[
        str, typer.Option("--start", help="'now' or an ISO date-time (local time).")
    ] = "now",
    remind_after: Annotated[
        list[str] | None,
        typer.Option(
            "--remind-after",
            help="Remind non-finishers this long after the invitation, e.g. 3d (repeatable; "
            "default 3d and 7d).",
        ),
    ] = None,
    max_reminders: Annotated[
        int, typer.Option("--max-reminders", help="At most this many reminders (0: none).")
    ] = 3,
    quiet: Annotated[
        str, typer.Option("--quiet", help="Quiet hours, local time: nothing is sent then.")
    ] = "20:00-08:00",
    every_months: Annotated[
        int | None,
        typer.Option("--every-months", help="Repeat: the next wave this many months later."),
    ] = None,
    invitation: Annotated[
        list[str] | None,
        typer.Option(
            "--invitation",
            help="Own invitation text per language, LANG=TEXT; {title} and {deadline} are "
            "filled in (repeatable).",
        ),
    ] = None,
    reminder: Annotated[
        list[str] | None,
        typer.Option("--reminder", help="Own reminder text per language, LANG=TEXT."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Preview a campaign, confirm, and schedule it (the running bot sends the invitations)."""
    from bot.services.campaigns import Plan

    settings = _settings()
    zone = settings.zone
    now = datetime.now(UTC)

    groups = _group_names(group or [])
    if not groups:
        _fail("give at least one --group NAME")
    texts: dict[str, Any] = {}
    for kind, items in (("invitation", invitation), ("reminder", reminder)):
        if items:
            texts[kind] = _texts(kind, items)
    plan = _plan(
        Plan(flow, groups, now, now, max_reminders=max_reminders, every_months=every_months),
        start,
        deadline,
        remind_after,
        quiet,
        texts,
        zone,
        now,
    )

    from bot.services.catalog import FlowCatalog

    found = FlowCatalog(settings.flows_dir).get(flow)
    if found is None:
        _fail(f"no valid flow {flow!r} in {settings.flows_dir} (see `backbone flows check`)", 1)
    audience = _with_db(settings, lambda db: _audience(db, groups))
    title = found.text("title", settings.default_locale)
    _print_preview(plan, title, audience, zone, start_now=start.strip().lower() == "now")
    if not yes and not _agreed():
        typer.echo("Nothing was created, nothing will be sent.")
        raise typer.Exit(1)
    campaign_id, status = _with_db(settings, lambda db: _create(db, plan))
    typer.echo(
        f"Campaign {campaign_id} is {status}: the running bot sends the invitations from "
        f"{_local(plan.start_at, zone)}. Follow it with `backbone campaign status {campaign_id}`."
    )


def _plan(base, start: str, deadline: str, remind_after, quiet: str, texts, zone, now):
    """The options as a validated plan; bad ones end here with exit 2 and one line."""
    from dataclasses import replace

    from bot.services.campaigns import PlanError, parse_duration, parse_quiet, validate_plan

    start_at = now if start.strip().lower() == "now" else _moment("--start", start, zone)
    deadline_at = _moment("--deadline", deadline, zone, end_of_day=True)
    try:
        remind = [parse_duration(r) for r in (remind_after or DEFAULT_REMINDERS)]
        quiet_hours = parse_quiet(quiet)
    except ValueError as exc:
        _fail(f"--remind-after/--quiet: {exc}")
        raise  # unreachable
    plan = replace(
        base,
        start_at=start_at,
        deadline=deadline_at,
        remind_after=remind,
        quiet=quiet_hours,
        texts=texts,
    )
    try:
        # The default reminders fit the campaign: none after the deadline or beyond the maximum.
        return validate_plan(plan, now, presets=not remind_after)
    except PlanError as exc:
        _fail(_plan_problem(exc, plan, zone))
        raise  # unreachable


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


async def _create(db: Database, plan) -> tuple[int, str]:
    from bot.services.campaigns import confirm, create

    async with db.transaction() as repo:
        campaign = await create(repo, plan, ACTOR)
        await confirm(repo, campaign, ACTOR)
        return campaign.id, campaign.status


def _print_preview(plan, title: str, audience: Audience, zone: ZoneInfo, start_now: bool) -> None:
    reminders = plan.remind_after[: plan.max_reminders]
    start = _local(plan.start_at, zone)
    texts = (
        "; ".join(f"{kind}: own text in {', '.join(sorted(v))}" for kind, v in plan.texts.items())
        or "the bot's default texts"
    )
    lines = [
        "Please check before anything is sent:",
        f"  Flow:        {plan.flow_id} (“{title}”)",
        f"  Start:       {'now, ' + start if start_now else start}",
        f"  Deadline:    {_local(plan.deadline, zone)}",
        "  Reminders:   "
        + (
            f"{len(reminders)}, after {', '.join(_human(r) for r in reminders)}, only to "
            "those who have not completed"
            if reminders
            else "none"
        ),
        f"  Quiet hours: {plan.quiet[0]}–{plan.quiet[1]} ({zone.key}): nothing is sent then",
        "  Repeats:     "
        + (f"every {plan.every_months} months" if plan.every_months else "no (one wave)"),
        f"  Texts:       {texts}",
        "",
        "Who would be invited (people in several groups count once):",
    ]
    lines += [f"  {name}: {count}" for name, count in audience.by_group.items()]
    lines.append(f"  total: {audience.total} {'person' if audience.total == 1 else 'people'}")
    skipped = [
        (audience.opted_out, "opted out (/stop)"),
        (audience.unreachable, "blocked the bot"),
        (audience.unlinked, "without a Telegram link"),
    ]
    if any(n for n, _ in skipped):
        lines.append(
            "  not reachable now (skipped): " + ", ".join(f"{n} {why}" for n, why in skipped if n)
        )
    if audience.total == 0:
        lines.append("  (nobody yet: the audience is counted again at the start time)")
    typer.echo("\n".join(lines))


# --- campaign list / status / pause / resume / cancel ---------------------------------------


def _flow_title(settings: Settings, flow_id: str) -> str:
    from bot.services.catalog import FlowCatalog

    flow = FlowCatalog(settings.flows_dir).get(flow_id)
    return flow.text("title", settings.default_locale) if flow else flow_id


async def _campaign(repo: Repo, campaign_id: int) -> Campaign:
    from storage.campaigns import campaign as find

    campaign = await find(repo, campaign_id)
    if campaign is None:
        raise Refused(f"no campaign {campaign_id} (see `backbone campaign list`)")
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
        typer.echo("no campaigns yet (`backbone campaign create --help`)")
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


def _change(campaign_id: int, action: str) -> None:
    from bot.services.campaigns import set_status

    settings = _settings()

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
def campaign_cancel(campaign_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Stop a campaign for good: no more invitations or reminders."""
    _change(campaign_id, "cancel")
