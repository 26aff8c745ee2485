"""Texts more than one router shows: help, the privacy notice, the under-16 note, languages."""

from __future__ import annotations

from bot.i18n import LANGUAGE_NAMES, Translator, available_locales
from bot.services import callbacks
from bot.services.context import STAFF_ROLES
from bot.services.replies import Keyboard


def language_buttons() -> Keyboard:
    """One button per language the bot speaks, each under its own name (German first)."""
    order = list(LANGUAGE_NAMES)
    ranked = sorted(
        available_locales(), key=lambda loc: (order.index(loc) if loc in order else len(order), loc)
    )
    return [
        [(LANGUAGE_NAMES.get(loc, loc), callbacks.button(callbacks.Language(loc)))]
        for loc in ranked
    ]


def help_text(t: Translator, role: str = "participant") -> str:
    """The commands, explained in the person's language (staff see theirs too)."""
    lines = [
        t.gettext("What I understand:"),
        t.gettext("/start – start or continue an interview"),
        t.gettext("/back – go back to the previous question and change your answer"),
        t.gettext("/pause – take a break (send any message to go on)"),
        t.gettext("/resume – continue where you left off"),
        t.gettext("/cancel – stop the interview (your answers so far are kept)"),
        t.gettext("/language – choose another language"),
        t.gettext("/privacy – what happens with your answers"),
        t.gettext("/mydata – get everything we stored about you"),
        t.gettext("/delete – delete your data"),
        t.gettext("/stop – no more invitations or reminders"),
        t.gettext("/ask <question> – a question for the room in your session (anonymous)"),
        t.gettext("/questions – the room's questions: tap ▲ to upvote one"),
        t.gettext("/help – this list"),
    ]
    if role in STAFF_ROLES:
        lines += [
            "",
            t.gettext("For the backbone team:"),
            t.gettext("/whoami – your pseudonym and role"),
            t.gettext(
                "/results campaign <id> | session <CODE> – send the results back to the "
                "people who took part"
            ),
            t.gettext("/console – a login link for the staff console in the browser"),
        ]
    if role == "admin":
        lines += [
            t.gettext("/grant facilitator|admin – a one-time link that gives a role"),
            t.gettext("/revoke P-XXXXXX – take a role away"),
            t.gettext("/agecheck P-XXXXXX 16plus|under16 – correct a person's age"),
            t.gettext("/invite <group> [--parental-consent-on-file] – a link to join a group"),
        ]
    return "\n".join(lines)


def minor_text(t: Translator) -> str:
    """The kind explanation for under-16s without parental consent on file."""
    return t.gettext(
        "Thank you for wanting to take part! Because you are under 16, we need your "
        "parents' consent first. Your school or youth worker has a special link for your "
        "class — once you have joined through it, send /start again."
    )


def privacy_text(t: Translator, version: str, full: bool) -> str:
    """The privacy notice: short on first contact, full on /privacy."""
    short = t.gettext(
        "Before we start: your answers are stored under a pseudonym (a code like P-7K3M9Q), "
        "not your Telegram name or number. The team that runs the alliance uses them to improve "
        "support for young people. Taking part is voluntary; you can skip questions, stop "
        "any time with /cancel, and ask us to delete your data."
    )
    if not full:
        return short + "\n\n" + t.gettext("The full notice: /privacy")
    return (
        short
        + "\n\n"
        + t.gettext(
            "What we store: your answers (texts, choices, voice notes, photos), when you "
            "gave them and the exact question you saw; your language; your consent. "
            "The link between your Telegram account and your pseudonym is kept separately "
            "and is deleted when the data set is anonymised. Exports for analysis contain "
            "only the pseudonym, never your Telegram name, username or phone number."
        )
        + "\n\n"
        + t.gettext("Notice version: {version}").format(version=version)
    )
