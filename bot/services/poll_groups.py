"""Polls in a staff Telegram group: native Telegram polls whose answers are stored as votes."""

from __future__ import annotations

import secrets
from typing import Any

from bot.i18n import Translator
from bot.services.poll_views import results, results_text, spec_of, voter_key
from bot.services.replies import NativePoll, Outcome, SendText
from flows.agenda import parse_quick_poll
from storage import polls as queries
from storage.repo import Repo
from storage.statuses import PollStatus


class GroupPolls:
    """Group mode of PollDesk (which supplies `close` and `clock`)."""

    async def group_poll(
        self, repo: Repo, chat_id: int, opener: str, args: str, t: Translator
    ) -> Outcome:
        """/poll in a staff group: a native Telegram poll whose answers are stored as votes."""
        out = Outcome()
        spec = parse_quick_poll(args)
        if isinstance(spec, list) or spec.type == "words":
            problem = (
                "; ".join(spec)
                if isinstance(spec, list)
                else t.gettext("word polls work in private chats only")
            )
            out.replies.append(
                SendText(
                    chat_id,
                    t.gettext("I could not read that poll: {problems}").format(problems=problem),
                )
            )
            return out
        for old in await queries.open_group_polls(repo, chat_id):
            await self.close(repo, old, t, out)
        poll = await queries.add_poll(
            repo,
            spec=spec.model_dump(mode="json"),
            anonymous=spec.anonymous,
            salt=secrets.token_hex(16),
            opened_by=opener,
            group_chat_id=chat_id,
        )
        await repo.audit(opener, "poll_opened", {"group": True, "poll": poll.id})
        if spec.type == "scale":
            labels = [str(n) for n in range(spec.min, spec.max + 1)]
        else:
            labels = list(spec.options.values())
        out.replies.append(
            NativePoll(
                chat_id,
                poll.id,
                spec.question,
                labels,
                spec.type == "multiple_choice",
                hide_results=spec.hide_results,
            )
        )
        return out

    async def group_close(self, repo: Repo, chat_id: int, t: Translator) -> Outcome:
        """/close in a staff group: stop its native poll and post the result."""
        out = Outcome()
        polls = await queries.open_group_polls(repo, chat_id)
        if not polls:
            out.replies.append(SendText(chat_id, t.gettext("There is no open poll.")))
        for poll in polls:
            spec = spec_of(poll)
            res = await results(repo, poll)
            await self.close(repo, poll, t, out)
            out.replies.append(SendText(chat_id, results_text(spec, res, t, final=True)))
        return out

    async def native_answer(
        self,
        repo: Repo,
        native_poll_id: str,
        user_id: int,
        option_ids: list[int],
        participant_id: int | None,
    ) -> bool:
        """A vote (or its withdrawal) on a native group poll; False if the poll is unknown."""
        poll = await queries.poll_by_native(repo, native_poll_id)
        if poll is None or poll.status != PollStatus.OPEN:
            return False
        spec = spec_of(poll)
        if spec.type == "scale":
            codes = [str(n) for n in range(spec.min, spec.max + 1)]
        else:
            codes = list(spec.options)
        chosen = [codes[i] for i in option_ids if 0 <= i < len(codes)]
        key = voter_key(poll, f"tg{user_id}")
        vote = await queries.vote_of(repo, poll.id, key)
        if spec.type == "scale":
            value: Any = int(chosen[0]) if chosen else []
        else:
            value = chosen
        await queries.store_vote(repo, poll, key, participant_id, vote, value, self.clock())
        return True

    async def remember_native(
        self, repo: Repo, poll_id: int, native_poll_id: str, message_id: int
    ) -> None:
        """Store the Telegram ids of a native poll the bot sent."""
        poll = await queries.poll(repo, poll_id)
        if poll is not None:
            poll.native_poll_id = native_poll_id
            poll.native_message_id = message_id
