"""Questions from the room: participants ask (/ask), everyone upvotes with a tap (/questions),
the projector lists the top ones live, the facilitator marks one answered or hides it.

Anonymous like an anonymous poll: a question keeps no link to the person who asked, only a
key made with the session's salt (see storage/models_questions.py); the salt is erased when
the session ends. Every tap is checked against the database: the question must be open, its
session open, the person a member of it (upvotes) or its facilitator (answered / hidden).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import timedelta

from bot.i18n import Translator
from bot.services import callbacks
from bot.services.context import Ctx
from bot.services.replies import EditText, Keyboard
from storage import polls as poll_queries
from storage import questions as queries
from storage.models import PollSession
from storage.models_questions import QuestionStatus, RoomQuestion, set_question_status
from storage.repo import Repo
from storage.statuses import SessionStatus, Stage

QUESTION_MIN = 3  # characters
QUESTION_MAX = 300
RATE_LIMIT = 3  # questions per person ...
RATE_WINDOW = timedelta(minutes=5)  # ... within this time
SESSION_LIMIT = 20  # questions per person and session
LIST_LIMIT = 10  # questions in a chat list (the projector shows fewer)
_SPACE = re.compile(r"\s+")
# Control, surrogate, private-use and unassigned code points: Telegram cannot carry some of
# them, none belongs in a question on a projector.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})


def clean_question(text: str) -> str | None:
    """The question with its white space collapsed, or None if it cannot be shown."""
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES and ch not in "\n\t\r" for ch in text):
        return None
    return _SPACE.sub(" ", text).strip()


def author_key(salt: str, participant_id: int) -> str:
    """The person's key in one session's questions and upvotes (useless once the salt goes)."""
    return hashlib.sha256(f"{salt}:p{participant_id}".encode()).hexdigest()


class RoomQuestions:
    """The use cases of questions from the room; called inside the update's transaction."""

    def __init__(self, clock) -> None:
        self.clock = clock

    # /ask <question>
    async def ask(self, ctx: Ctx, args: str) -> None:
        """A participant asks a question in the open session they joined last."""
        t = ctx.t
        session = await queries.newest_joined_open_session(ctx.repo, ctx.participant.id)
        if session is None:
            ctx.say(t.gettext("Join a session first: scan its QR code or send its join code."))
            return
        text = clean_question(args)
        if text is None:
            ctx.say(t.gettext("Your question contains characters I cannot show. Please retype it."))
            return
        if len(text) < QUESTION_MIN or len(text) > QUESTION_MAX:
            ctx.say(
                t.gettext("Usage: /ask <your question> ({low} to {high} characters)").format(
                    low=QUESTION_MIN, high=QUESTION_MAX
                )
            )
            return
        salt = await queries.room_salt(ctx.repo, session.id)
        if salt is None:  # pragma: no cover - an open session's salt is never erased
            ctx.say(t.gettext("This session is over."))
            return
        key = author_key(salt, ctx.participant.id)
        now = self.clock()
        recent = await queries.asked_since(ctx.repo, session.id, key, now - RATE_WINDOW)
        total = await queries.asked_since(ctx.repo, session.id, key, session.created_at)
        if recent >= RATE_LIMIT or total >= SESSION_LIMIT:
            ctx.say(t.gettext("You have asked several questions just now. Please wait a little."))
            return
        await queries.add_question(ctx.repo, session.id, text, key, now)
        ctx.say(
            t.gettext(
                "✓ Your question is on the list (without your name). /questions shows all "
                "questions; tap one to upvote it."
            )
        )

    # /questions
    async def list_command(self, ctx: Ctx, args: str) -> None:
        """The facilitator's list with ✅/🙈 buttons, or a participant's with upvote buttons."""
        t = ctx.t
        if ctx.is_staff:
            own = await poll_queries.open_session_of(ctx.repo, ctx.participant.id)
            if own is not None:
                ctx.say(*await self.moderator_list(ctx.repo, own, t))
                return
        session = await queries.newest_joined_open_session(ctx.repo, ctx.participant.id)
        if session is None:
            ctx.say(t.gettext("Join a session first: scan its QR code or send its join code."))
            return
        ctx.say(*await self.participant_list(ctx.repo, session, ctx.participant.id, t))

    async def participant_list(
        self, repo: Repo, session: PollSession, participant_id: int, t: Translator
    ) -> tuple[str, Keyboard | None]:
        """The open questions with one upvote button each (none for the person's own)."""
        listed = await queries.open_questions(repo, session.id, LIST_LIMIT)
        head = "❓ " + t.gettext("Questions from the room") + f" · {session.title}"
        if not listed:
            return head + "\n\n" + t.gettext(
                "No questions yet. Ask one: /ask <your question>"
            ), None
        salt = await queries.room_salt(repo, session.id) or ""
        key = author_key(salt, participant_id)
        mine = await queries.upvoted_by(repo, [q.id for q in listed], key)
        lines, buttons = [head, ""], []
        for number, q in enumerate(listed, start=1):
            own = q.author_key == key
            mark = " " + t.gettext("(yours)") if own else ""
            lines.append(f"{number}. ▲ {q.upvotes} · {q.text}{mark}")
            if not own:
                label = f"{'✓ ' if q.id in mine else ''}▲ {number}"
                buttons.append((label, callbacks.button(callbacks.Upvote(q.id))))
        lines += ["", t.gettext("Tap a number to upvote; tap it again to take the upvote back.")]
        keys = [buttons[i : i + 5] for i in range(0, len(buttons), 5)] or None
        return "\n".join(lines)[:4096], keys

    async def moderator_list(
        self, repo: Repo, session: PollSession, t: Translator
    ) -> tuple[str, Keyboard | None]:
        """The facilitator's list: ✅ answered and 🙈 hide for each open question."""
        listed = await queries.open_questions(repo, session.id, LIST_LIMIT)
        head = "❓ " + t.gettext("Questions from the room") + f" · {session.title}"
        if not listed:
            return head + "\n\n" + t.gettext("No questions yet."), None
        lines, keys = [head, ""], []
        for number, q in enumerate(listed, start=1):
            lines.append(f"{number}. ▲ {q.upvotes} · {q.text}")
            keys.append(
                [
                    (f"✅ {number}", callbacks.button(callbacks.ModerateQuestion(q.id, "a"))),
                    (f"🙈 {number}", callbacks.button(callbacks.ModerateQuestion(q.id, "h"))),
                ]
            )
        lines += [
            "",
            t.gettext("✅ marks a question answered, 🙈 hides it; both take it off the projector."),
        ]
        return "\n".join(lines)[:4096], keys

    # --- taps --------------------------------------------------------------------------
    async def _open_question(self, ctx: Ctx, question_id: int):
        """The question and its session if both are open; else acknowledges why not."""
        t = ctx.t
        question = await queries.question(ctx.repo, question_id)
        session = (
            await poll_queries.poll_session(ctx.repo, question.session_id) if question else None
        )
        if question is None or session is None or ctx.participant.stage != Stage.READY:
            ctx.ack(t.gettext("This button does not work."), alert=True)
            return None
        if session.status != SessionStatus.OPEN:
            ctx.ack(t.gettext("This session is over."), alert=True)
            return None
        return question, session

    async def upvote_tap(self, ctx: Ctx, question_id: int, message_id: int | None) -> None:
        """▲ on a participant's list: upvote, or take the upvote back."""
        t = ctx.t
        found = await self._open_question(ctx, question_id)
        if found is None:
            return
        question, session = found
        if not await poll_queries.is_member(ctx.repo, session.id, ctx.participant.id):
            ctx.ack(t.gettext("You have not joined this session."), alert=True)
            return
        if question.status != QuestionStatus.OPEN:
            ctx.ack(t.gettext("This question has been answered or taken off the list."))
            return  # the list is edited only after a change: Telegram refuses a same edit
        key = author_key(await queries.room_salt(ctx.repo, session.id) or "", ctx.participant.id)
        if question.author_key == key:
            ctx.ack(t.gettext("You cannot upvote your own question."), alert=True)
            return
        up = await queries.toggle_upvote(ctx.repo, question.id, key, self.clock())
        ctx.ack(t.gettext("▲ Upvoted.") if up else t.gettext("Upvote taken back."))
        if message_id is not None:
            text, keys = await self.participant_list(ctx.repo, session, ctx.participant.id, t)
            ctx.out.replies.append(EditText(ctx.chat_id, message_id, text, keys))

    async def moderate_tap(
        self, ctx: Ctx, question_id: int, action: str, message_id: int | None
    ) -> None:
        """✅ / 🙈 on the facilitator's list: only the session's facilitator (or an admin)."""
        t = ctx.t
        found = await self._open_question(ctx, question_id)
        if found is None:
            return
        question, session = found
        owner = session.facilitator_id == ctx.participant.id or ctx.role == "admin"
        if not ctx.is_staff or not owner:
            ctx.ack(t.gettext("Sorry, this button is only for the facilitator."), alert=True)
            return
        if question.status != QuestionStatus.OPEN:
            ctx.ack(t.gettext("This question has been answered or taken off the list."))
            return
        await self._decide(ctx, question, session, action)
        if message_id is not None:
            text, keys = await self.moderator_list(ctx.repo, session, t)
            ctx.out.replies.append(EditText(ctx.chat_id, message_id, text, keys))

    async def _decide(
        self, ctx: Ctx, question: RoomQuestion, session: PollSession, action: str
    ) -> None:
        to = QuestionStatus.ANSWERED if action == "a" else QuestionStatus.HIDDEN
        await self.mark(ctx.repo, question, session, to, ctx.participant.pseudonym)
        answered = to is QuestionStatus.ANSWERED
        ctx.ack(ctx.t.gettext("Marked as answered.") if answered else ctx.t.gettext("Hidden."))

    async def mark(
        self,
        repo: Repo,
        question: RoomQuestion,
        session: PollSession,
        to: QuestionStatus,
        actor: str,
    ) -> None:
        """Answered or hidden (from the chat, or a console that checked the role): the status
        change and its audit entry. IllegalTransition if the question is not open."""
        set_question_status(question, to, self.clock())
        await repo.audit(
            actor, f"question_{to.value}", {"session": session.code, "question": question.id}
        )
