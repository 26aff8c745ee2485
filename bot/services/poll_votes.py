"""Votes from participants: ballot buttons and words, each checked against the database."""

from __future__ import annotations

from typing import Any

from bot.services import callbacks
from bot.services.context import Ctx
from bot.services.events import Quote
from bot.services.poll_views import WORD, answers_ballot, spec_of, voter_key
from bot.services.replies import ResultsChanged
from flows.agenda import PollSpec
from storage import polls as queries
from storage.models import Poll
from storage.statuses import PollStatus


class Voting:
    """The participants' side of PollDesk (which supplies `clock`)."""

    async def vote_tap(self, ctx: Ctx, poll_id: int, choice: str) -> None:
        """A tap on a ballot button (`v:<poll id>:<option code or number>`, parsed)."""
        t = ctx.t
        poll = await queries.poll(ctx.repo, poll_id)
        if poll is None:
            ctx.ack(t.gettext("This button does not work."), alert=True)
            return
        if poll.status != PollStatus.OPEN:
            ctx.ack(t.gettext("This poll is closed — your tap was not counted."), alert=True)
            return
        if not await queries.is_member(ctx.repo, poll.session_id, ctx.participant.id):
            ctx.ack(t.gettext("You have not joined this session."), alert=True)
            return
        spec = spec_of(poll)
        valid = self._valid_choice(spec, choice)
        if valid is None:
            ctx.ack(t.gettext("This button does not work."), alert=True)
            return
        key = voter_key(poll, f"p{ctx.participant.id}")
        vote = await queries.vote_of(ctx.repo, poll.id, key)
        now = self.clock()
        if spec.type == "multiple_choice":
            chosen = list(vote.value) if vote is not None else []
            if choice in chosen:
                chosen.remove(choice)
                ctx.ack(t.gettext("✓ Removed: {option}").format(option=valid))
            else:
                limit = spec.max or len(spec.options)
                if len(chosen) >= limit:
                    ctx.ack(
                        t.ngettext(
                            "You can choose at most {n} option.",
                            "You can choose at most {n} options.",
                            limit,
                        ).format(n=limit),
                        alert=True,
                    )
                    return
                chosen.append(choice)
                ctx.ack(t.gettext("✓ Added: {option}").format(option=valid))
            stored: Any = [c for c in spec.options if c in chosen]
        else:
            stored = int(choice) if spec.type == "scale" else [choice]
            changed = vote is not None and vote.value != stored
            message = (
                t.gettext("✓ Changed to: {option}") if changed else t.gettext("✓ Saved: {option}")
            )
            ctx.ack(message.format(option=valid))
        await queries.store_vote(ctx.repo, poll, key, ctx.participant.id, vote, stored, now)
        ctx.out.replies.append(ResultsChanged(poll.id))

    def _valid_choice(self, spec: PollSpec, choice: str) -> str | None:
        if spec.type in ("single_choice", "multiple_choice"):
            return spec.options.get(choice)
        if spec.type == "scale":
            return choice if callbacks.number(choice, spec.min, spec.max) is not None else None
        return None

    async def words_poll_for(self, ctx: Ctx, reply_to: Quote | None = None) -> Poll | None:
        """An open words poll in a session this person joined: the one whose ballot they
        replied to, else the first."""
        joined = await queries.open_polls_joined_by(ctx.repo, ctx.participant.id)
        polls = [p for p in joined if spec_of(p).type == "words"]
        replied = [p for p in polls if answers_ballot(p, reply_to)]
        return (replied or polls or [None])[0]

    async def words_answer(self, ctx: Ctx, poll: Poll, text: str) -> None:
        """One to three words for a words poll; a new answer replaces the old one."""
        t = ctx.t
        spec = spec_of(poll)
        words = [w.strip('.,!?;:"“”„()').lower() for w in text.split()]
        words = [w for w in words if w]
        limit = spec.max_words or 3
        if not words or len(words) > limit or not all(WORD.match(w) for w in words):
            ctx.say(
                t.ngettext(
                    "Please answer with one word.", "Please answer with one to {n} words.", limit
                ).format(n=limit)
            )
            return
        key = voter_key(poll, f"p{ctx.participant.id}")
        vote = await queries.vote_of(ctx.repo, poll.id, key)
        phrase = " ".join(words)
        await queries.store_vote(
            ctx.repo, poll, key, ctx.participant.id, vote, [phrase], self.clock()
        )
        ctx.say(t.gettext("✓ Saved: {option}").format(option=phrase))
        ctx.out.replies.append(ResultsChanged(poll.id))
