"""The web pages' texts, translated for one locale (extracted from here like every bot text)."""

from __future__ import annotations

from bot.i18n import Translator
from bot.services.projector import PollView


def labels(t: Translator) -> dict[str, str]:
    """Fixed texts of the projector page."""
    return {
        "join_code": t.gettext("Join code"),
        "how_to_join": t.gettext("Scan the QR code, or send the join code to the bot."),
        "waiting": t.gettext("Waiting for the next question."),
        "answer": t.gettext("Answer"),
        "votes": t.gettext("Votes"),
        "share": t.gettext("Share"),
        "no_words": t.gettext("No words yet."),
        "qr": t.gettext("QR code to join the session"),
        "hidden": t.gettext("The results are shown when the poll closes."),
        "final": t.gettext("Final result"),
        "questions": t.gettext("Questions from the room"),
    }


def counts(
    t: Translator, joined: int, poll: PollView | None, upvotes: tuple[int, ...] = ()
) -> dict:
    """The live counters: people joined, voters, (scales) the mean, each question's upvotes."""
    out: dict = {
        "joined": t.ngettext("{n} person joined", "{n} people joined", joined).format(n=joined),
        "upvotes": [t.ngettext("{n} upvote", "{n} upvotes", n).format(n=n) for n in upvotes],
    }
    if poll is not None:
        out["voters"] = t.ngettext("{n} vote", "{n} votes", poll.voters).format(n=poll.voters)
        if poll.mean is not None:
            out["mean"] = t.gettext("Average: {mean}").format(mean=t.number(round(poll.mean, 1)))
    return out


def not_found(t: Translator) -> dict[str, str]:
    """The 404 page for a closed session or an unknown address."""
    return {
        "title": t.gettext("Page not found"),
        "text": t.gettext("This projector page does not exist, or its session is over."),
    }
