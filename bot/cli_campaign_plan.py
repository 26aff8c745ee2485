"""`backbone campaigns create`'s options: their types and help, how they become a checked
plan (bad ones: one line, exit 2), and the preview staff confirm. bot.cli_campaigns has the
commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from bot.cli_common import _fail, _group_names

if TYPE_CHECKING:
    from bot.services.campaigns import Audience, PlanError

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


_FlowOpt = Annotated[str, typer.Option("--flow", help="Id of a flow in FLOWS_DIR.")]
_DeadlineOpt = Annotated[
    str,
    typer.Option(
        "--deadline",
        help="ISO date-time (local time unless it has a zone); a bare date means 23:59.",
    ),
]
_GroupOpt = Annotated[
    list[str] | None, typer.Option("--group", help="Group to invite (repeatable).")
]
_StartOpt = Annotated[str, typer.Option("--start", help="'now' or an ISO date-time (local time).")]
_RemindOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--remind-after",
        help="Remind non-finishers this long after the invitation, e.g. 3d (repeatable; "
        "default 3d and 7d).",
    ),
]
_MaxOpt = Annotated[
    int, typer.Option("--max-reminders", help="At most this many reminders (0: none).")
]
_QuietOpt = Annotated[
    str, typer.Option("--quiet", help="Quiet hours, local time: nothing is sent then.")
]
_EveryOpt = Annotated[
    int | None,
    typer.Option("--every-months", help="Repeat: the next wave this many months later."),
]
_InvitationOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--invitation",
        help="Own invitation text per language, LANG=TEXT; {title} and {deadline} are "
        "filled in (repeatable).",
    ),
]
_ReminderOpt = Annotated[
    list[str] | None,
    typer.Option("--reminder", help="Own reminder text per language, LANG=TEXT."),
]
_YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@dataclass(frozen=True)
class _Options:
    """`campaign create`'s options as typed, before they are checked."""

    flow: str
    groups: list[str]
    start: str
    deadline: str
    remind_after: list[str] | None
    max_reminders: int
    quiet: str
    every_months: int | None
    texts: dict[str, list[str] | None]


def checked_plan(options: _Options, zone: ZoneInfo, now: datetime):
    """The options as a validated plan; bad ones end here with exit 2 and one line."""
    from bot.services.campaigns import Plan, PlanError, parse_duration, parse_quiet, validate_plan

    groups = _group_names(options.groups)
    if not groups:
        _fail("give at least one --group NAME")
    texts = {kind: _texts(kind, items) for kind, items in options.texts.items() if items}
    start = options.start.strip().lower()
    start_at = now if start == "now" else _moment("--start", options.start, zone)
    deadline_at = _moment("--deadline", options.deadline, zone, end_of_day=True)
    try:
        remind = [parse_duration(r) for r in (options.remind_after or DEFAULT_REMINDERS)]
        quiet_hours = parse_quiet(options.quiet)
    except ValueError as exc:
        _fail(f"--remind-after/--quiet: {exc}")
        raise  # unreachable
    plan = Plan(
        options.flow,
        groups,
        start_at,
        deadline_at,
        remind_after=remind,
        max_reminders=options.max_reminders,
        quiet=quiet_hours,
        every_months=options.every_months,
        texts=texts,
    )
    try:
        # The default reminders fit the campaign: none after the deadline or beyond the maximum.
        return validate_plan(plan, now, presets=not options.remind_after)
    except PlanError as exc:
        _fail(_plan_problem(exc, plan, zone))
        raise  # unreachable


def print_preview(plan, title: str, audience: Audience, zone: ZoneInfo, start_now: bool) -> None:
    """What staff check before they confirm: the plan, and who would be invited."""
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
    typer.echo("\n".join(lines))
