"""The web pages' texts, translated for one locale (extracted from here like every bot text)."""

from __future__ import annotations

from bot.i18n import Translator
from bot.services.projector import PollView
from bot.services.small_cells import fewer_than


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
        "how_to_ask": t.gettext("Questions for the room: send /ask and your question to the bot."),
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
        out |= _suppressed(t, poll)
        if poll.mean is not None:
            out["mean"] = t.gettext("Average: {mean}").format(mean=t.number(round(poll.mean, 1)))
    return out


def _suppressed(t: Translator, poll: PollView) -> dict[str, str]:
    """Small-cell suppression's texts: "fewer than 5", and the voters as a bound."""
    if not poll.fewer_than:
        return {}
    k, n = poll.fewer_than, poll.voters
    out = {"fewer": fewer_than(k, t), "words_hidden": t.gettext(
        "Words named by fewer than {k} people are not shown."
    ).format(k=k)}  # fmt: skip
    if not poll.voters_exact:
        out["voters"] = (
            t.ngettext("at least {n} vote", "at least {n} votes", n).format(n=n)
            if n
            else t.gettext("fewer than {k} votes").format(k=k)
        )
    return out


def not_found(t: Translator) -> dict[str, str]:
    """The 404 page for a closed session or an unknown address."""
    return {
        "title": t.gettext("Page not found"),
        "text": t.gettext("This projector page does not exist, or its session is over."),
    }
