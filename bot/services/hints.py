"""Friendly, localized explanations of why an answer was not taken."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date

from bot.i18n import Translator
from flows.answers import parse_date_text
from flows.engine import Rejected


def _expected(t: Translator, kind: str) -> str:
    return {
        "text": t.gettext("a text message"),
        "choice": t.gettext("one of the buttons"),
        "multi": t.gettext("the buttons (then ✔ Done)"),
        "scale": t.gettext("one of the number buttons"),
        "yes_no": t.gettext("the Yes or No button"),
        "number": t.gettext("a number"),
        "date": t.gettext("a date"),
        "voice": t.gettext("a voice note (hold the microphone button)"),
        "photo": t.gettext("a photo"),
    }.get(kind, t.gettext("a message"))


def _date_example(t: Translator) -> str:
    # The questions write dates day first with the century (15.03.2026). A locale's short
    # format may drop the century (31.03.26) or put the month first (3/31/26, which the
    # parser reads day first): then the example is written the questions' way.
    day = date(2026, 3, 31)
    shown = t.example_date(day)
    if "2026" in shown and parse_date_text(shown, t.locale) == day:
        return shown
    return format_date(day, "dd.MM.yyyy", locale=t.locale)


def hint(rejected: Rejected, t: Translator) -> str:
    """One sentence telling the person what the current question needs."""
    p = rejected.params or {}
    reason = rejected.reason
    if reason == "wrong_kind":
        return t.gettext("Please answer with {what}.").format(
            what=_expected(t, str(p.get("expected", "")))
        )
    if reason == "too_long":
        return t.gettext(
            "That is too long ({length} characters). Please keep it to {max} characters."
        ).format(length=t.number(p.get("length", 0)), max=t.number(p.get("max", 0)))
    if reason == "empty":
        return t.gettext("Please write a few words.")
    if reason == "not_a_number":
        return t.gettext("Please send a number, for example {example}.").format(
            example=t.number(p.get("min", 3) if p.get("min") is not None else 3)
        )
    if reason == "out_of_range":
        return t.gettext("Please send a number from {min} to {max}.").format(
            min=t.number(p.get("min")), max=t.number(p.get("max"))
        )
    if reason == "not_a_date":
        example = _date_example(t)
        return t.gettext("Please send a date, for example {example}.").format(example=example)
    if reason in ("unknown_option", "use_buttons"):
        return t.gettext("Please tap one of the buttons.")
    if reason == "too_few":
        n = int(p.get("min", 1))
        return t.ngettext(
            "Please choose at least {n} option.", "Please choose at least {n} options.", n
        ).format(n=n)
    if reason == "too_many":
        n = int(p.get("max", 1))
        return t.ngettext(
            "Please choose at most {n} option.", "Please choose at most {n} options.", n
        ).format(n=n)
    if reason == "not_optional":
        return t.gettext("This question cannot be skipped.")
    if reason == "finished":
        return t.gettext("This interview is already finished.")
    return t.gettext("I could not take that as an answer.")
