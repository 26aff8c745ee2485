"""The polls router: /session, /poll, /close, ballots, join codes and links, words answers,
group polls, and the poll timers and live results the adapter asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import plain_code
from bot.services import callbacks
from bot.services.context import Ctx
from bot.services.events import Tap, Text
from bot.services.polls import CODE_PATTERN, PollDesk, answers_ballot, is_ballot
from bot.services.replies import EditText, Outcome
from storage import polls as queries
from storage.repo import Repo
from storage.statuses import Stage

if TYPE_CHECKING:
    from bot.services.dispatch import Dispatcher


class Polls:
    """Round-table polls in private chats and staff groups; PollDesk does the work."""

    def __init__(self, dispatcher: Dispatcher, desk: PollDesk) -> None:
        self.dispatcher = dispatcher
        self.config = dispatcher.config
        self.desk = desk

    def register(self) -> None:
        """Poll commands, ballot and facilitator buttons, typed codes and words, groups."""
        d = self.dispatcher
        d.command(("session",), self.desk.session_command)
        d.command(("poll",), self.desk.poll_command)
        d.command(("close",), self._close)
        d.payload(callbacks.Vote, self._vote)
        d.payload(callbacks.ClosePoll, self._close_tap)
        d.payload(callbacks.NextPoll, self._next_tap)
        d.link(callbacks.SessionLink, self._join)
        d.text_hook(self._typed)
        d.group_command("poll", self.desk.group_poll)
        d.group_command("close", self._group_close)
        d.on_username(self._set_username)
        d.polls = self

    def _set_username(self, username: str) -> None:
        self.desk.bot_username = username

    async def _close(self, ctx: Ctx, args: str) -> None:
        await self.desk.close_command(ctx)

    async def _group_close(self, repo: Repo, chat_id: int, label: str, args: str, t) -> Outcome:
        return await self.desk.group_close(repo, chat_id, t)

    async def _vote(self, ctx: Ctx, vote: callbacks.Vote, tap: Tap) -> None:
        if ctx.participant.stage != Stage.READY:
            ctx.ack(ctx.t.gettext("This button does not work."), alert=True)
            return
        await self.desk.vote_tap(ctx, vote.poll_id, vote.choice)

    async def _close_tap(self, ctx: Ctx, button: callbacks.ClosePoll, tap: Tap) -> None:
        await self.desk.staff_tap(ctx, "k", button.poll_id)

    async def _next_tap(self, ctx: Ctx, button: callbacks.NextPoll, tap: Tap) -> None:
        await self.desk.staff_tap(ctx, "n", button.session_id)

    async def _join(self, ctx: Ctx, link: callbacks.SessionLink) -> None:
        await self.desk.join(ctx, link.code)

    async def _typed(self, ctx: Ctx, event: Text) -> bool:
        """A typed join code, or words for an open words poll; True if the text was that.
        While an interview is open (active or paused) text belongs to it, and words count
        for a poll only as an explicit reply to that poll's ballot."""
        code = plain_code(event.text).strip().upper()
        if CODE_PATTERN.match(code) and await queries.open_session_with_code(ctx.repo, code):
            link = callbacks.SessionLink(code)
            if ctx.participant.stage != Stage.READY:
                ctx.participant.pending_flow = callbacks.start_payload(link)
                await self.dispatcher.onboard(ctx)
            else:
                await self._join(ctx, link)
            return True
        if ctx.participant.stage != Stage.READY:
            return False
        if event.reply_to is None and await ctx.repo.open_run(ctx.participant.id) is not None:
            return False  # not a reply, and an interview is open: the text is its answer
        poll = await self.desk.words_poll_for(ctx, event.reply_to)
        replied = poll is not None and answers_ballot(poll, event.reply_to)
        if not replied and is_ballot(event.reply_to):
            # Meant for a poll, so never an interview answer; but no open poll takes it.
            ctx.say(
                ctx.t.gettext(
                    "That poll is closed or takes no written answers, so I did not store "
                    "your message."
                )
            )
            return True
        if poll is None:
            return False
        if not replied and await ctx.repo.open_run(ctx.participant.id) is not None:
            return False
        await self.desk.words_answer(ctx, poll, event.text)
        return True

    # --- outside a person's update (the dispatcher opens the transaction) -------------
    async def close_due(self, repo: Repo, poll_id: int) -> Outcome:
        """A poll's timer ran out: close it once."""
        # The lock makes a second caller wait and then find the poll closed.
        if await repo.lock_poll(poll_id) is None:
            return Outcome()
        return await self.desk.close_due(repo, poll_id, self.config.staff_translator())

    async def live_view(self, repo: Repo, poll_id: int) -> EditText | None:
        """The live results message as it should look now."""
        return await self.desk.live_view(repo, poll_id, self.config.staff_translator())

    async def remember_results_message(self, repo: Repo, poll_id: int, message_id: int) -> None:
        """Store the id of a poll's live results message."""
        await self.desk.remember_results_message(repo, poll_id, message_id)

    async def remember_native(self, repo: Repo, poll_id: int, native_id: str, message_id: int):
        """Store the Telegram ids of a native group poll."""
        await self.desk.remember_native(repo, poll_id, native_id, message_id)

    async def timers(self, repo: Repo) -> tuple[list, list[int]]:
        """Open polls' timers and ids."""
        return await self.desk.due_timers(repo), await self.desk.open_polls(repo)

    async def native_answer(self, repo: Repo, native_id: str, user_id: int, options, who):
        """A vote on a native group poll."""
        await self.desk.native_answer(repo, native_id, user_id, options, who)
