"""The questions router: /ask, /questions, the ▲ upvote and the facilitator's ✅ / 🙈 buttons.

/ask is a command on purpose: typed text may belong to an open interview (README "Trust"),
so a question never comes from plain text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services import callbacks
from bot.services.context import Ctx
from bot.services.events import Tap
from bot.services.room_questions import RoomQuestions

if TYPE_CHECKING:
    from bot.services.dispatch import Dispatcher


class Questions:
    """Questions from the room in private chats; RoomQuestions does the work."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.room = RoomQuestions(dispatcher.config.clock)

    def register(self) -> None:
        """/ask, /questions and their buttons."""
        d = self.dispatcher
        d.command(("ask",), self.room.ask, ready=True)
        d.command(("questions",), self.room.list_command, ready=True)
        d.payload(callbacks.Upvote, self._upvote)
        d.payload(callbacks.ModerateQuestion, self._moderate)

    async def _upvote(self, ctx: Ctx, button: callbacks.Upvote, tap: Tap) -> None:
        await self.room.upvote_tap(ctx, button.question_id, tap.message_id)

    async def _moderate(self, ctx: Ctx, button: callbacks.ModerateQuestion, tap: Tap) -> None:
        await self.room.moderate_tap(ctx, button.question_id, button.action, tap.message_id)
