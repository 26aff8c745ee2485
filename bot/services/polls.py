"""Live polls for round tables: sessions with a join code, polls, votes, live results.

Staff open sessions and polls; participants join by link, QR code or typed code and vote
with buttons (or a few words). Every tap is checked against the database: the poll must be
open and the person must have joined its session. Anonymous polls store no link from a vote
to a person: a per-poll secret lets people change their vote while the poll is open and is
erased when it closes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.i18n import Translator
from bot.services import callbacks, staff
from bot.services.charts import results_png
from bot.services.context import Ctx
from bot.services.events import Quote
from bot.services.qrcodes import qr_png
from bot.services.replies import (
    Broadcast,
    ClosePollTimer,
    EditText,
    Keyboard,
    NativePoll,
    Outcome,
    ResultsChanged,
    SendPhoto,
    SendText,
    StopNativePoll,
)
from flows.agenda import Agenda, AgendaError, PollSpec, load_agenda, parse_quick_poll
from storage import polls as queries
from storage.models import Poll, PollSession
from storage.repo import Repo
from storage.statuses import PollStatus, SessionStatus

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
CODE_PATTERN = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
SESSION_PREFIX = "S"  # deep-link payload: /start S<code>
WORD = re.compile(r"^[\w\-']{1,30}$")
BALLOT_MARK = "🗳 "  # every ballot starts with it and the question
# Telegram's clock (a ballot's date) and ours (a poll's opening) may differ a little.
CLOCK_SLACK = timedelta(seconds=60)
BAR_WIDTH = 12


def new_code() -> str:
    """A short join code people can type from a projector (no 0/O, 1/I/L)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def voter_key(poll: Poll, who: str) -> str:
    """The key that finds a voter's own vote while the poll is open."""
    return hashlib.sha256(f"{poll.salt or poll.id}:{who}".encode()).hexdigest()


def spec_of(poll: Poll) -> PollSpec:
    """The poll's question, type and options."""
    return PollSpec.model_validate(poll.spec)


# --- results ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Results:
    """Counts per option (or word), voters and joined people of one poll."""

    rows: list[tuple[str, int]]
    voters: int
    joined: int


async def results(repo: Repo, poll: Poll) -> Results:
    """Current results, computed from the stored votes."""
    spec = spec_of(poll)
    values = await queries.vote_values(repo, poll.id)
    counts: Counter[str] = Counter()
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            counts[str(item)] += 1
    if spec.type == "words":
        rows = counts.most_common(20)
    elif spec.type == "scale":
        rows = [(str(n), counts[str(n)]) for n in range(spec.min, spec.max + 1)]
    else:
        rows = [(label, counts[code]) for code, label in spec.options.items()]
    joined = 0 if poll.session_id is None else await queries.member_count(repo, poll.session_id)
    return Results(rows, len(values), joined)


def results_text(spec: PollSpec, res: Results, t: Translator, final: bool) -> str:
    """Bars, counts and percentages as text (the live message on the facilitator's phone)."""
    head = ("🏁 " if final else "📊 ") + spec.question
    lines = [head, ""]
    for label, count in res.rows:
        share = count / res.voters if res.voters else 0
        bar = "█" * round(share * BAR_WIDTH) + "░" * (BAR_WIDTH - round(share * BAR_WIDTH))
        lines.append(f"{label}\n{bar} {count} · {t.percent(share)}")
    lines.append("")
    summary = t.gettext("{voters} voted · {joined} joined").format(
        voters=res.voters, joined=res.joined
    )
    lines.append(summary + ("" if not final else " · " + t.gettext("closed")))
    return "\n".join(lines)[:4096]


# --- what participants see -----------------------------------------------------------
def ballot(poll: Poll, t: Translator, interview_open: bool = False) -> tuple[str, Keyboard | None]:
    """The poll as a participant sees it: the question and its buttons. A person with an open
    interview learns how their words reach the poll instead (see `answers_ballot`)."""
    spec = spec_of(poll)
    if spec.type == "words":
        n = spec.max_words or 3
        hint = t.ngettext("Answer with one word.", "Answer with one to {n} words.", n)
        text = f"{ballot_head(spec)}\n\n{hint.format(n=n)}"
        if interview_open:
            text += "\n\n" + t.gettext(
                "You have an interview open, so what you type goes to the interview. To answer "
                "this poll, reply to this message: swipe it to the left, or tap and hold it and "
                "choose Reply."
            )
        return text, None
    if spec.type == "scale":
        numbers = [str(n) for n in range(spec.min, spec.max + 1)]
        rows = [numbers[i : i + 6] for i in range(0, len(numbers), 6)]
        keys = [[(n, callbacks.choice("v", f"{poll.id}:{n}")) for n in row] for row in rows]
        legend = ""
        if spec.min_label or spec.max_label:
            legend = (
                f"\n\n{spec.min} = {spec.min_label or ''} … {spec.max} = {spec.max_label or ''}"
            )
        return f"{ballot_head(spec)}{legend}", keys
    keys = [
        [(label, callbacks.choice("v", f"{poll.id}:{code}"))]
        for code, label in spec.options.items()
    ]
    text = ballot_head(spec)
    if spec.type == "multiple_choice":
        text += "\n\n" + t.gettext("Tap all that apply; tap again to remove.")
    return text, keys


def ballot_head(spec: PollSpec) -> str:
    """The first line of every ballot: how a reply to a ballot is recognised."""
    return BALLOT_MARK + spec.question


def is_ballot(quote: Quote | None) -> bool:
    """True if `quote` looks like a ballot of some poll (open, closed or with buttons)."""
    return quote is not None and quote.text.startswith(BALLOT_MARK)


def answers_ballot(poll: Poll, quote: Quote | None) -> bool:
    """True if `quote` (the bot message a person explicitly replied to) is this poll's ballot:
    it starts with the poll's question and was sent after the poll opened."""
    if quote is None:
        return False
    head = ballot_head(spec_of(poll))
    if quote.text != head and not quote.text.startswith(head + "\n"):
        return False
    return poll.opened_at is None or quote.sent_at >= poll.opened_at - CLOCK_SLACK


# --- facilitator commands ------------------------------------------------------------


class PollDesk:
    """The poll use cases; one instance per bot, called inside the update's transaction."""

    def __init__(self, flows_dir: Path, clock) -> None:
        self.agendas_dir = Path(flows_dir) / "agendas"
        self.clock = clock
        self.bot_username = "backbone_bot"

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
            ctx.say(
                t.gettext(
                    "Your session “{title}” (code {code}) is still open. /session end closes it."
                ).format(title=current.title, code=current.code)
            )
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
        return [[(label, callbacks.choice("n", str(session.id)))]]

    async def end_session(self, ctx: Ctx, session: PollSession) -> None:
        """Close the open poll (final results) and the session."""
        poll = await queries.open_poll_of(ctx.repo, session.id)
        if poll is not None:
            await self.close(ctx.repo, poll, ctx.t, ctx.out)
        queries.close_session(session, self.clock())
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
                [[(ctx.t.gettext("⏹ Close poll"), callbacks.choice("k", str(poll.id)))]],
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
            out.replies.append(Broadcast([(chat, final, None) for chat in members]))

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

    async def session_code_typed(self, ctx: Ctx, text: str) -> bool:
        """A typed join code (case-insensitive) of an open session joins it."""
        code = text.strip().upper()
        if not CODE_PATTERN.match(code):
            return False
        if not await queries.open_session_with_code(ctx.repo, code):
            return False
        return await self.join(ctx, code)

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

    async def live_view(self, repo: Repo, poll_id: int, t: Translator) -> EditText | None:
        """The facilitator's live results message as it should look now."""
        poll = await queries.poll(repo, poll_id)
        if poll is None or not poll.results_message_id or poll.status != PollStatus.OPEN:
            return None
        res = await results(repo, poll)
        keys = [[(t.gettext("⏹ Close poll"), callbacks.choice("k", str(poll.id)))]]
        return EditText(
            poll.results_chat_id,
            poll.results_message_id,
            results_text(spec_of(poll), res, t, final=False),
            keys,
        )

    # --- group mode ------------------------------------------------------------------
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
            NativePoll(chat_id, poll.id, spec.question, labels, spec.type == "multiple_choice")
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
