"""`backbone campaign …` and `backbone groups …`: check-up campaigns and groups from the shell.

The same use cases as /campaign and /group in Telegram (bot.services.campaigns, storage.repo);
every change is audited with the actor "cli" and pseudonyms only. Nothing here sends a
message: a confirmed campaign is `scheduled`, and the running bot invites at its start time.

Exit codes: 2 for bad arguments (one line), 1 for something unknown (flow, group, campaign,
code name), a refused change or a declined confirmation.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer

from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.services.campaigns import Audience, PlanError
    from storage.models import Campaign
    from storage.outbox import Progress
    from storage.repo import Database, Repo

T = TypeVar("T")

campaign_app = typer.Typer(
    help="Check-up campaigns: invite groups to a flow, remind politely, watch the figures.",
    no_args_is_help=True,
)
groups_app = typer.Typer(
    help="Named groups of participants (the audiences of campaigns).", no_args_is_help=True
)

ACTOR = "cli"
BOT_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
DEFAULT_REMINDERS = ["3d", "7d"]
PSEUDONYM = re.compile(r"^P-[A-Z0-9]{4,12}$")


class Refused(Exception):
    """Something unknown or not allowed, found while talking to the database (exit 1)."""


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"backbone: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        _fail(f"configuration error: {exc}")
        raise  # unreachable


def _with_db(settings: Settings, go: Callable[[Database], Awaitable[T]]) -> T:
    """Run `go(db)` against the configured database; Refused becomes exit 1."""
    from storage.repo import Database

    async def _go() -> T:
        db = Database(settings.database_url)
        try:
            return await go(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(_go())
    except Refused as exc:
        _fail(str(exc), code=1)
        raise  # unreachable


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


def _group_names(names: list[str]) -> list[str]:
    from bot.services.staff import GROUP_NAME

    out = []
    for name in names:
        clean = name.strip().lower()
        if not GROUP_NAME.match(clean):
            _fail(f"not a group name: {name!r} (lowercase letters, digits, - and _)")
        if clean not in out:
            out.append(clean)
    return out


def _pseudonyms(values: list[str]) -> list[str]:
    out = []
    for value in values:
        clean = value.strip().upper()
        if not PSEUDONYM.match(clean):
            _fail(f"not a code name: {value!r} (e.g. P-7K3M9Q)")
        if clean not in out:
            out.append(clean)
    return out


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
    from bot.services.campaigns import Plan, PlanError, parse_duration, parse_quiet, validate_plan

    settings = _settings()
    zone = settings.zone
    now = datetime.now(UTC)

    groups = _group_names(group or [])
    if not groups:
        _fail("give at least one --group NAME")
    start_at = now if start.strip().lower() == "now" else _moment("--start", start, zone)
    deadline_at = _moment("--deadline", deadline, zone, end_of_day=True)
    try:
        remind = [parse_duration(r) for r in (remind_after or DEFAULT_REMINDERS)]
        quiet_hours = parse_quiet(quiet)
    except ValueError as exc:
        _fail(f"--remind-after/--quiet: {exc}")
        raise  # unreachable
    texts: dict[str, Any] = {}
    for kind, items in (("invitation", invitation), ("reminder", reminder)):
        if items:
            texts[kind] = _texts(kind, items)
    plan = Plan(
        flow_id=flow,
        groups=groups,
        start_at=start_at,
        deadline=deadline_at,
        remind_after=remind,
        max_reminders=max_reminders,
        quiet=quiet_hours,
        every_months=every_months,
        texts=texts,
    )
    try:
        # The default reminders fit the campaign: none after the deadline or beyond the maximum.
        plan = validate_plan(plan, now, presets=not remind_after)
    except PlanError as exc:
        _fail(_plan_problem(exc, plan, zone))

    from bot.services.catalog import FlowCatalog

    found = FlowCatalog(settings.flows_dir).get(flow)
    if found is None:
        _fail(f"no valid flow {flow!r} in {settings.flows_dir} (see `backbone flows check`)", 1)

    async def look(db: Database) -> Audience:
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

    audience = _with_db(settings, look)
    title = found.text("title", settings.default_locale)
    _print_preview(plan, title, audience, zone, start_now=start.strip().lower() == "now")

    if not yes:
        try:
            agreed = typer.confirm("Start this campaign?", default=False)
        except typer.Abort:  # no answer (end of input)
            agreed = False
        if not agreed:
            typer.echo("Nothing was created, nothing will be sent.")
            raise typer.Exit(1)

    async def go(db: Database) -> tuple[int, str]:
        from bot.services.campaigns import confirm, create

        async with db.transaction() as repo:
            campaign = await create(repo, plan, ACTOR)
            await confirm(repo, campaign, ACTOR)
            return campaign.id, campaign.status

    campaign_id, status = _with_db(settings, go)
    typer.echo(
        f"Campaign {campaign_id} is {status}: the running bot sends the invitations from "
        f"{_local(plan.start_at, zone)}. Follow it with `backbone campaign status {campaign_id}`."
    )


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


# --- groups ----------------------------------------------------------------------------------


async def _group(repo: Repo, name: str):
    group = await repo.group(name)
    if group is None:
        raise Refused(f"no group {name} (see `backbone groups list`)")
    return group


async def _people(repo: Repo, pseudonyms: list[str]) -> list:
    from bot.services.groups import people

    found, unknown = await people(repo, pseudonyms)
    if unknown:
        raise Refused(f"nobody has the code name {', '.join(unknown)}; nothing was changed")
    return found


@groups_app.command("list")
def groups_list() -> None:
    """Every group with its number of members."""
    from bot.services.groups import overview

    settings = _settings()

    async def go(db: Database) -> list[tuple[str, int]]:
        async with db.transaction() as repo:
            return await overview(repo)

    rows = _with_db(settings, go)
    if not rows:
        typer.echo("no groups yet (`backbone groups create NAME`)")
    for name, n in rows:
        typer.echo(f"{name}  {n} member{'' if n == 1 else 's'}")


@groups_app.command("show")
def groups_show(name: Annotated[str, typer.Argument(help="Group name.")]) -> None:
    """A group's members by code name."""
    from bot.services.groups import members as members_of

    settings = _settings()
    (clean,) = _group_names([name])

    async def go(db: Database) -> list[str]:
        async with db.transaction() as repo:
            return await members_of(repo, await _group(repo, clean))

    members = _with_db(settings, go)
    typer.echo(f"{clean}: {len(members)} member{'' if len(members) == 1 else 's'}")
    for pseudonym in members:
        typer.echo(pseudonym)


@groups_app.command("create")
def groups_create(name: Annotated[str, typer.Argument(help="e.g. partners, school-a-9b")]) -> None:
    """Create an empty group."""
    from bot.services.groups import GroupExists, create

    settings = _settings()
    (clean,) = _group_names([name])

    async def go(db: Database) -> None:
        async with db.transaction() as repo:
            try:
                await create(repo, clean, ACTOR)
            except GroupExists:
                raise Refused(f"group {clean} already exists") from None

    _with_db(settings, go)
    typer.echo(f"created group {clean}")


def _membership(name: str, pseudonyms: list[str], add: bool) -> None:
    from bot.services.groups import change_members

    settings = _settings()
    (clean,) = _group_names([name])
    codes = _pseudonyms(pseudonyms)
    if not codes:
        _fail("give at least one code name (P-XXXXXX)")

    async def go(db: Database) -> tuple[list[str], list[str]]:
        async with db.transaction() as repo:
            group = await _group(repo, clean)
            done = await change_members(repo, group, await _people(repo, codes), add, ACTOR)
        return done.changed, done.unchanged

    changed, unchanged = _with_db(settings, go)
    verb, into = ("added", "to") if add else ("removed", "from")
    typer.echo(
        f"{verb} {len(changed)} {into} {clean}" + (f": {', '.join(changed)}" if changed else "")
    )
    if unchanged:
        state = "already in" if add else "not in"
        typer.echo(f"{state} {clean}: {', '.join(unchanged)}")


@groups_app.command("add")
def groups_add(
    name: Annotated[str, typer.Argument(help="Group name.")],
    pseudonyms: Annotated[list[str], typer.Argument(metavar="P-XXXXXX...", help="Code names.")],
) -> None:
    """Put people in a group by code name (all or nothing)."""
    _membership(name, pseudonyms, add=True)


@groups_app.command("remove")
def groups_remove(
    name: Annotated[str, typer.Argument(help="Group name.")],
    pseudonyms: Annotated[list[str], typer.Argument(metavar="P-XXXXXX...", help="Code names.")],
) -> None:
    """Take people out of a group by code name."""
    _membership(name, pseudonyms, add=False)


@groups_app.command("invite")
def groups_invite(
    name: Annotated[str, typer.Argument(help="Group name.")],
    parental: Annotated[
        bool,
        # The same flag as /invite in Telegram (bot.services.staff.PARENTAL_FLAG).
        typer.Option(
            "--parental-consent-on-file",
            help="The parents' consent for this group's under-16s is on file (needs --by).",
        ),
    ] = False,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Code name of the admin who confirms it (recorded)."),
    ] = None,
    bot_username: Annotated[
        str,
        typer.Option("--bot-username", envvar="BACKBONE_BOT_USERNAME", help="The bot's @username."),
    ] = "backbone_bot",
) -> None:
    """Print a join link for a group (valid 90 days), as /invite does in Telegram."""
    from bot.services.groups import invite_link
    from bot.services.staff import GROUP_LINK_VALID

    settings = _settings()
    (clean,) = _group_names([name])
    username = bot_username.strip().removeprefix("@")
    if not BOT_USERNAME.match(username):
        _fail(f"--bot-username: not a Telegram bot username: {bot_username!r}")
    if parental and not by:
        _fail("--parental-consent-on-file needs --by P-XXXXXX (the admin who confirms it)")
    admin = _pseudonyms([by])[0] if by else None

    async def go(db: Database) -> str:
        async with db.transaction() as repo:
            group = await _group(repo, clean)
            if admin is not None:
                (person,) = await _people(repo, [admin])
                identity = await repo.identity_of(person.id)
                is_admin = person.role == "admin" or (
                    identity is not None and identity.telegram_user_id in settings.admin_ids
                )
                if not is_admin:
                    raise Refused(f"{person.pseudonym} is not an admin")
            return await invite_link(
                repo,
                group,
                created_by=admin or ACTOR,
                actor=ACTOR,
                bot_username=username,
                now=datetime.now(UTC),
                parental=parental,
                confirmed_by=admin,
            )

    link = _with_db(settings, go)
    typer.echo(f"Invite link for the group {clean} (valid {GROUP_LINK_VALID.days} days):")
    typer.echo(link)
    if parental:
        typer.echo(
            f"{admin} confirmed that the parents' consent for the under-16s of this group is "
            "on file; this is recorded."
        )
