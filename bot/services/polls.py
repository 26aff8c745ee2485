"""Live polls for round tables: sessions with a join code, polls, votes, live results.

Staff open sessions and polls; participants join by link, QR code or typed code and vote
with buttons (or a few words). Every tap is checked against the database: the poll must be
open and the person must have joined its session. Anonymous polls store no link from a vote
to a person: a per-poll secret lets people change their vote while the poll is open and is
erased when it closes.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path

from bot.i18n import Translator
from bot.services import callbacks, staff
from bot.services.charts import results_png
from bot.services.context import Ctx
from bot.services.poll_groups import GroupPolls
from bot.services.poll_views import (
    BALLOT_MARK,
    CODE_PATTERN,
    SESSION_PREFIX,
    answers_ballot,
    ballot,
    is_ballot,
    new_code,
    results,
    results_text,
    spec_of,
    voter_key,
)
from bot.services.poll_votes import Voting
from bot.services.projector import new_token, projector_link
from bot.services.qrcodes import qr_png
from bot.services.replies import (
    Broadcast,
    ClosePollTimer,
    EditText,
    Keyboard,
    Outcome,
    ResultsChanged,
    SendPhoto,
    SendText,
    StopNativePoll,
)
from bot.services.results_back import public_poll_text
from bot.services.small_cells import DEFAULT_MIN_CELL_SIZE
from flows.agenda import Agenda, AgendaError, PollSpec, load_agenda, parse_quick_poll
from storage import polls as queries
from storage import questions as question_queries
from storage.models import Poll, PollSession
from storage.repo import Repo
from storage.statuses import PollStatus, SessionStatus

__all__ = [
    "BALLOT_MARK",
    "CODE_PATTERN",
    "SESSION_PREFIX",
    "PollDesk",
    "answers_ballot",
    "ballot",
    "is_ballot",
    "results",
    "results_text",
    "voter_key",
]


# --- facilitator commands ------------------------------------------------------------


class PollDesk(GroupPolls, Voting):
    """The poll use cases; one instance per bot, called inside the update's transaction."""

    def __init__(self, flows_dir: Path, clock, min_cell_size: int = DEFAULT_MIN_CELL_SIZE):
        self.agendas_dir = Path(flows_dir) / "agendas"
        self.clock = clock
        # What participants see of results (--show-results) hides smaller cells.
        self.min_cell_size = min_cell_size
        self.bot_username = "backbone_bot"
        # The web server's public address (set by the composition root); None: no projector.
        self.projector_url: str | None = None

    # /session <title> | /session end | /session --agenda <id>
    async def session_command(self, ctx: Ctx, args: str) -> None:
        """Open or end the facilitator's session."""
        if staff.refuse(ctx):
            return
        t = ctx.t
        current = await queries.open_session_of(ctx.repo, ctx.participant.id)
        words = args.split()
        if words[:1] == ["end"]:
            if current is None:
                ctx.say(t.gettext("You have no open session."))
                return
            await self.end_session(ctx, current)
            return
        if current is not None:
            text = t.gettext(
                "Your session “{title}” (code {code}) is still open. /session end closes it."
            ).format(title=current.title, code=current.code)
            if self.projector_url and current.projector_token:  # a lost link is found again
                url = projector_link(self.projector_url, current.projector_token)
                text += "\n" + t.gettext("Projector: {url}").format(url=url)
            ctx.say(text)
            return
        agenda: Agenda | None = None
        if words[:1] == ["--agenda"]:
            if len(words) != 2:
                ctx.say(t.gettext("Usage: /session --agenda <agenda id>"))
                return
            agenda = self._agenda(words[1])
            if agenda is None:
                ctx.say(t.gettext("There is no valid agenda called {name}.").format(name=words[1]))
                return
            title = agenda.title
        else:
            title = args.strip()
        if not title:
            ctx.say(
                t.gettext("Usage: /session <title>, /session --agenda <agenda id>, /session end")
            )
            return
        session = await self._new_session(ctx, title[:200], agenda)
        link = staff.deep_link(self.bot_username, SESSION_PREFIX + session.code)
        await ctx.repo.audit(ctx.participant.pseudonym, "session_opened", {"code": session.code})
        text = t.gettext(
            "Session “{title}” is open.\nJoin code: {code}\nLink: {link}\n\n"
            "Show the QR code on the projector. Open a poll with /poll Question? | A | B"
        ).format(title=session.title, code=session.code, link=link)
        if self.projector_url:
            session.projector_token = new_token()
            url = projector_link(self.projector_url, session.projector_token)
            text += "\n" + t.gettext("Projector: {url}").format(url=url)
        keys = None
        if agenda is not None:
            text += "\n\n" + t.ngettext(
                "The agenda has {n} poll.", "The agenda has {n} polls.", len(agenda.polls)
            ).format(n=len(agenda.polls))
            keys = self._next_keys(session, agenda, t)
        ctx.say(text, keys)
        ctx.out.replies.append(SendPhoto(ctx.chat_id, qr_png(link), f"{session.code} · {link}"))

    def _agenda(self, name: str) -> Agenda | None:
        path = self.agendas_dir / f"{name}.yaml"
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", name) or not path.exists():
            return None
        try:
            return load_agenda(path)
        except AgendaError:
            return None

    async def _new_session(self, ctx: Ctx, title: str, agenda: Agenda | None) -> PollSession:
        return await queries.add_session(
            ctx.repo,
            new_code,
            title=title,
            facilitator_id=ctx.participant.id,
            facilitator_chat_id=ctx.chat_id,
            agenda=agenda.model_dump(mode="json") if agenda else None,
        )

    def _next_keys(self, session: PollSession, agenda: Agenda, t: Translator) -> Keyboard | None:
        if session.agenda_position >= len(agenda.polls):
            return None
        upcoming = agenda.polls[session.agenda_position]
        label = t.gettext("▶ Next poll: {question}").format(question=upcoming.question)[:60]
        return [[(label, callbacks.button(callbacks.NextPoll(session.id)))]]

    async def end_session(self, ctx: Ctx, session: PollSession) -> None:
        """Close the open poll (final results) and the session."""
        poll = await queries.open_poll_of(ctx.repo, session.id)
        if poll is not None:
            await self.close(ctx.repo, poll, ctx.t, ctx.out)
        queries.close_session(session, self.clock())
        await question_queries.erase_salt(ctx.repo, session.id)  # questions: unlinkable now
        joined = await queries.member_count(ctx.repo, session.id)
        polls = await queries.poll_count(ctx.repo, session.id)
        await ctx.repo.audit(ctx.participant.pseudonym, "session_closed", {"code": session.code})
        ctx.say(
            ctx.t.gettext("Session “{title}” ended: {joined} joined, {polls} polls.").format(
                title=session.title, joined=joined, polls=polls
            )
        )

    # /poll ...
    async def poll_command(self, ctx: Ctx, args: str) -> None:
        """Open an ad-hoc poll in the facilitator's session."""
        if staff.refuse(ctx):
            return
        t = ctx.t
        spec = parse_quick_poll(args)
        if isinstance(spec, list):
            ctx.say(
                t.gettext("I could not read that poll: {problems}").format(problems="; ".join(spec))
                + "\n\n"
                + t.gettext(
                    "Example: /poll Which topic first? | Internships | Applications | Mentoring\n"
                    "Options: --multi, --scale 1-5, --words, --named, --timer 60, --show-results"
                )
            )
            return
        session = await queries.open_session_of(ctx.repo, ctx.participant.id)
        if session is None:
            ctx.say(t.gettext("Open a session first: /session <title>"))
            return
        await self.open_poll(ctx, session, spec)

    async def open_poll(self, ctx: Ctx, session: PollSession, spec: PollSpec) -> None:
        """Open a poll: close the previous one, push the new one to everyone who joined."""
        previous = await queries.open_poll_of(ctx.repo, session.id)
        if previous is not None:
            await self.close(ctx.repo, previous, ctx.t, ctx.out)
        now = self.clock()
        poll = await queries.add_poll(
            ctx.repo,
            session_id=session.id,
            spec=spec.model_dump(mode="json"),
            anonymous=spec.anonymous,
            salt=secrets.token_hex(16),
            opened_by=ctx.participant.pseudonym,
            opened_at=now,
            closes_at=now + timedelta(seconds=spec.timer) if spec.timer else None,
            results_chat_id=session.facilitator_chat_id,
        )
        await ctx.repo.audit(
            ctx.participant.pseudonym, "poll_opened", {"session": session.code, "poll": poll.id}
        )
        res = await results(ctx.repo, poll)
        ctx.out.replies.append(
            SendText(
                session.facilitator_chat_id,
                results_text(spec, res, ctx.t, final=False),
                [[(ctx.t.gettext("⏹ Close poll"), callbacks.button(callbacks.ClosePoll(poll.id)))]],
                results_poll_id=poll.id,
            )
        )
        members = await ctx.repo.session_member_chats(session.id)
        text, keys = ballot(poll, ctx.t)
        busy, _ = ballot(poll, ctx.t, interview_open=True)
        ctx.out.replies.append(
            Broadcast([(chat, busy if in_run else text, keys) for chat, in_run in members])
        )
        if poll.closes_at is not None:
            ctx.out.replies.append(ClosePollTimer(poll.id, poll.closes_at))

    # /close
    async def close_command(self, ctx: Ctx) -> None:
        """Close the open poll of the facilitator's session."""
        if staff.refuse(ctx):
            return
        session = await queries.open_session_of(ctx.repo, ctx.participant.id)
        poll = await queries.open_poll_of(ctx.repo, session.id) if session else None
        if poll is None:
            ctx.say(ctx.t.gettext("There is no open poll."))
            return
        await self.close(ctx.repo, poll, ctx.t, ctx.out)

    async def close(self, repo: Repo, poll: Poll, t: Translator, out: Outcome) -> None:
        """Close a poll: final results to the facilitator (text and chart), maybe to all."""
        if poll.status != PollStatus.OPEN:
            return
        spec = spec_of(poll)
        queries.close_poll(poll, self.clock())
        res = await results(repo, poll)
        final = results_text(spec, res, t, final=True)
        keys = None
        session = await queries.poll_session(repo, poll.session_id)
        if session is not None and session.agenda:
            keys = self._next_keys(session, Agenda.model_validate(session.agenda), t)
        if poll.results_message_id and poll.results_chat_id:
            out.replies.append(EditText(poll.results_chat_id, poll.results_message_id, final, keys))
        elif poll.results_chat_id:
            out.replies.append(SendText(poll.results_chat_id, final, keys))
        caption = t.gettext("{voters} voted · {joined} joined").format(
            voters=res.voters, joined=res.joined
        )
        if poll.results_chat_id:
            png = results_png(spec.question, res.rows, res.voters, caption)
            out.replies.append(SendPhoto(poll.results_chat_id, png, spec.question[:1024]))
        if poll.native_message_id and poll.group_chat_id:
            out.replies.append(StopNativePoll(poll.group_chat_id, poll.native_message_id))
        if spec.show_results and session is not None:
            members = await queries.member_chats(repo, session.id)
            public = public_poll_text(spec, res, t, self.min_cell_size)
            out.replies.append(Broadcast([(chat, public, None) for chat in members]))

    async def close_due(self, repo: Repo, poll_id: int, t: Translator) -> Outcome:
        """The timer fired: close the poll if it is still open and due."""
        out = Outcome()
        poll = await queries.poll(repo, poll_id)
        if poll is None or poll.status != PollStatus.OPEN or poll.closes_at is None:
            return out
        if poll.closes_at > self.clock():
            out.replies.append(ClosePollTimer(poll.id, poll.closes_at))
            return out
        await self.close(repo, poll, t, out)
        return out

    async def staff_tap(self, ctx: Ctx, kind: str, target_id: int) -> None:
        """⏹ Close (k:<poll>) and ▶ Next poll (n:<session>): checked against the database."""
        t = ctx.t
        if kind == "k":
            poll = await queries.poll(ctx.repo, target_id)
            session = await queries.poll_session(ctx.repo, poll.session_id) if poll else None
        else:
            poll = None
            session = await queries.poll_session(ctx.repo, target_id)
        owner = session is not None and (
            session.facilitator_id == ctx.participant.id or ctx.role == "admin"
        )
        if not ctx.is_staff or not owner:
            ctx.ack(t.gettext("Sorry, this button is only for the facilitator."), alert=True)
            return
        if kind == "k":
            if poll.status != PollStatus.OPEN:
                ctx.ack(t.gettext("This poll is already closed."))
                return
            ctx.ack(t.gettext("Closed."))
            await self.close(ctx.repo, poll, t, ctx.out)
            return
        if session.status != SessionStatus.OPEN or not session.agenda:
            ctx.ack(t.gettext("This session is over."))
            return
        agenda = Agenda.model_validate(session.agenda)
        if session.agenda_position >= len(agenda.polls):
            ctx.ack(t.gettext("That was the last poll of the agenda."))
            return
        spec = agenda.polls[session.agenda_position]
        session.agenda_position += 1
        ctx.ack("▶")
        await self.open_poll(ctx, session, spec)

    # --- participants ----------------------------------------------------------------
    async def join(self, ctx: Ctx, code: str) -> bool:
        """Join a session by code: the open poll's ballot right away, or one line saying
        the questions will come here (the welcome and the notice came before, if at all)."""
        t = ctx.t
        session = await queries.session_by_code(ctx.repo, code)
        if session is None or session.status != SessionStatus.OPEN:
            ctx.say(t.gettext("There is no open session with the code {code}.").format(code=code))
            return False
        await queries.add_member(ctx.repo, session.id, ctx.participant.id)
        poll = await queries.open_poll_of(ctx.repo, session.id)
        if poll is None:
            ctx.say(
                t.gettext("You joined “{title}”. The questions will appear here.").format(
                    title=session.title
                )
            )
            return True
        in_run = await ctx.repo.open_run(ctx.participant.id) is not None
        text, keys = ballot(poll, t, interview_open=in_run)
        ctx.say(text, keys)
        ctx.out.replies.append(ResultsChanged(poll.id))
        return True

    async def live_view(self, repo: Repo, poll_id: int, t: Translator) -> EditText | None:
        """The facilitator's live results message as it should look now."""
        poll = await queries.poll(repo, poll_id)
        if poll is None or not poll.results_message_id or poll.status != PollStatus.OPEN:
            return None
        res = await results(repo, poll)
        keys = [[(t.gettext("⏹ Close poll"), callbacks.button(callbacks.ClosePoll(poll.id)))]]
        return EditText(
            poll.results_chat_id,
            poll.results_message_id,
            results_text(spec_of(poll), res, t, final=False),
            keys,
        )

    async def remember_results_message(self, repo: Repo, poll_id: int, message_id: int) -> None:
        """Store the id of the facilitator's live results message."""
        poll = await queries.poll(repo, poll_id)
        if poll is not None:
            poll.results_message_id = message_id

    async def due_timers(self, repo: Repo) -> list[ClosePollTimer]:
        """Open polls with a timer (rebuilt as jobs on start-up)."""
        return [ClosePollTimer(p.id, p.closes_at) for p in await queries.timed_open_polls(repo)]

    async def open_polls(self, repo: Repo) -> list[int]:
        """Ids of open polls (their live results are refreshed after a restart)."""
        return await queries.open_poll_ids(repo)
