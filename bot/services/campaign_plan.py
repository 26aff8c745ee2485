"""A campaign plan and its one validation, shared by the chat wizard and the CLI.

`validate_plan` knows the rules; each front end only words the problem (`PlanError.code`
and `.values`) for its readers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.i18n import available_locales

DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
ALLOWED_PLACEHOLDERS = {"title", "deadline"}
# A start this far in the past still counts as "now" (the time it took to type).
START_SLACK = timedelta(minutes=1)
EVERY_MONTHS = range(1, 25)


def parse_duration(text: str) -> int:
    """'3d' -> seconds; units s, m, h, d, w."""
    match = DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 3d, 12h, 30m)")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def parse_quiet(text: str) -> tuple[str, str]:
    """'20:00-08:00' -> ('20:00', '08:00')."""
    if not QUIET.match(text.strip()):
        raise ValueError(f"not a time range: {text!r} (use e.g. 20:00-08:00)")
    start, end = text.strip().split("-")
    return start, end


@dataclass
class Plan:
    """What staff decide when they create a campaign."""

    flow_id: str
    groups: list[str]
    start_at: datetime
    deadline: datetime
    remind_after: list[int] = field(default_factory=lambda: [3 * 86400, 7 * 86400])
    max_reminders: int = 3
    quiet: tuple[str, str] = ("20:00", "08:00")
    every_months: int | None = None
    texts: dict = field(default_factory=dict)


class PlanError(ValueError):
    """A plan that cannot work. `code` names the rule, `values` hold the details:

    start_in_past, deadline_before_start, negative_max_reminders, reminders_contradict,
    reminder_not_positive, reminder_after_deadline (late), too_many_reminders (planned,
    allowed), every_months (allowed), unknown_language (kind, lang, known),
    unknown_placeholder (kind, lang, names), nobody_reachable (total).
    """

    def __init__(self, code: str, **values: Any) -> None:
        super().__init__(f"{code}: {values}" if values else code)
        self.code = code
        self.values = values


def validate_plan(plan: Plan, now: datetime | None = None, *, presets: bool = False) -> Plan:
    """The plan as it will run, or PlanError for the first rule it breaks.

    With `now`, a start before now is refused. With `presets` (reminders the person did not
    choose one by one: the defaults, or a wizard button), reminders that would come after
    the deadline or beyond `max_reminders` are dropped instead of refused."""
    if now is not None and plan.start_at < now - START_SLACK:
        raise PlanError("start_in_past")
    if plan.deadline <= plan.start_at:
        raise PlanError("deadline_before_start")
    if plan.max_reminders < 0:
        raise PlanError("negative_max_reminders")
    remind = sorted(set(plan.remind_after))
    window = (plan.deadline - plan.start_at).total_seconds()
    if presets:
        remind = [r for r in remind if 0 < r < window][: plan.max_reminders]
    elif remind and plan.max_reminders == 0:
        raise PlanError("reminders_contradict")
    elif any(r <= 0 for r in remind):
        raise PlanError("reminder_not_positive")
    elif late := [r for r in remind if r >= window]:
        raise PlanError("reminder_after_deadline", late=late)
    elif len(remind) > plan.max_reminders:
        raise PlanError("too_many_reminders", planned=len(remind), allowed=plan.max_reminders)
    if plan.every_months is not None and plan.every_months not in EVERY_MONTHS:
        raise PlanError("every_months", allowed=EVERY_MONTHS)
    for kind, by_lang in plan.texts.items():
        for lang, text in by_lang.items():
            _check_text(kind, lang, text)
    return replace(plan, remind_after=remind)


def check_reach(audience: Any) -> int:
    """How many of an audience (campaigns.Audience) cannot be reached now: a warning when
    some cannot, PlanError("nobody_reachable") when nobody can (a campaign that would
    invite no one)."""
    if audience.reachable == 0:
        raise PlanError("nobody_reachable", total=audience.total)
    return audience.total - audience.reachable


def _check_text(kind: str, lang: str, text: str) -> None:
    """An own invitation or reminder text: a language the bot speaks, known placeholders."""
    if lang not in available_locales():
        raise PlanError("unknown_language", kind=kind, lang=lang, known=available_locales())
    unknown = sorted({m for m in PLACEHOLDER.findall(text) if m not in ALLOWED_PLACEHOLDERS})
    if unknown:
        raise PlanError("unknown_placeholder", kind=kind, lang=lang, names=unknown)
