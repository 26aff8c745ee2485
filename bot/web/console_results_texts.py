"""Texts of the console's results page and of the exports added with it (panel,
person-level, SPSS / Stata), translated for one locale."""

from __future__ import annotations

from bot.i18n import Translator
from bot.services import results_back


def results(t: Translator) -> dict[str, str]:
    """The results page, its preview and its notes."""
    return {
        "title": t.gettext("Results back to the people"),
        "hint": t.gettext(
            "The results of a finished campaign or an ended session go to everyone who took "
            "part, in their language. Answers of small groups are hidden; free text is never "
            "sent. You see a preview first; the bot sends the messages, never in quiet hours."
        ),
        "none": t.gettext("No campaign is over and no session has ended yet."),
        "kind_campaign": t.gettext("Campaign #{id}"),
        "kind_session": t.gettext("Session {code}"),
        "sent": t.gettext("Results sent"),
        "never": t.gettext("not yet"),
        "sending": t.gettext(
            "{at} by {actor}: {planned} planned, {sent} sent, {skipped} skipped, "
            "{pending} waiting, {failed} failed"
        ),
        "intro": t.gettext("Intro text (optional, sent as written, at most {max} characters)"),
        "prepare": t.gettext("Preview"),
        "preview_title": t.gettext("Check the results before they are sent"),
        "took_part": t.gettext("Took part: {n}"),
        "reachable": t.gettext("Will get the message: {n}"),
        "not_reached": t.gettext(
            "Not sent to: {opted} opted out or without consent, {blocked} unreachable "
            "(blocked the bot), {unlinked} deleted or without a Telegram link"
        ),
        "sample": t.gettext(
            "The message as a person with your language gets it (everyone gets it in their "
            "language, with a chart per question):"
        ),
        "again": t.gettext("Send again"),
        "confirm": t.gettext("Send the results"),
        "cancel": t.gettext("Cancel"),
        "nothing_yet": t.gettext("Nothing has been sent yet."),
        "cancelled": t.gettext("Cancelled: nothing was sent."),
        "again_needed": t.gettext(
            "These results were sent before. To send them again, tick “Send again”. "
            "Nothing was sent."
        ),
        "bad_source": t.gettext("Choose a finished campaign or an ended session."),
    }


def times(t: Translator, n: int) -> str:
    """How often results were sent."""
    return t.ngettext("{n} time", "{n} times", n).format(n=n)


def sent_before(t: Translator, n: int) -> str:
    """The preview's warning for results sent before."""
    return t.ngettext(
        "These results were sent before: {n} time. Everyone who took part would get them "
        "once more.",
        "These results were sent before: {n} times. Everyone who took part would get them "
        "once more.",
        n,
    ).format(n=n)


def planned(t: Translator, n: int) -> str:
    """After the confirmation."""
    return t.ngettext(
        "{n} message planned: the bot sends it soon (never in quiet hours).",
        "{n} messages planned: the bot sends them soon (never in quiet hours).",
        n,
    ).format(n=n)


def refusal(t: Translator, error: results_back.Refused) -> str:
    """Why the use case refused, in the reader's language (the console has a checkbox where
    the chat and the CLI say --again)."""
    if error.reason == "sent_before":
        return results(t)["again_needed"]
    return results_back.refusal_text(error, t)


def exports(t: Translator) -> dict[str, str]:
    """The exports page's new forms and refusals."""
    return {
        "export_panel": t.gettext("Panel: a flow's answers linked across waves"),
        "panel_hint": t.gettext(
            "One row per person (wide) or per person and wave (long); a wave is a campaign, "
            "or the half-year or month of a run outside campaigns."
        ),
        "panel_wide": t.gettext("wide: one row per person"),
        "panel_long": t.gettext("long: one row per person and wave"),
        "period": t.gettext("Waves outside campaigns"),
        "half_years": t.gettext("half-years (2026-H2)"),
        "months": t.gettext("months (2026-11)"),
        "export_person": t.gettext("Person-level workbook"),
        "person_hint": t.gettext(
            "Every flow and every named poll joined per pseudonym in one Excel workbook, "
            "with a codebook sheet."
        ),
        "stats_long": t.gettext(
            "SPSS and Stata files have one row per interview: choose the wide layout (or "
            "the panel export for waves)."
        ),
        "stats_zip": t.gettext("SPSS and Stata files come as a ZIP with their codebook."),
    }
