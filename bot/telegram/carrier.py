"""Carrying out replies: one Bot API call per reply, looked up in a table."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InputFile
from telegram.ext import Application

from bot.services.replies import (
    ClearButtons,
    EditText,
    LeaveChat,
    NativePoll,
    SendDocument,
    SendPhoto,
    SendText,
    StopNativePoll,
    Typing,
)
from bot.telegram.convert import keyboard
from bot.telegram.errors import Kind, classify
from bot.telegram.learned import LearnedIds

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
SEND_ATTEMPTS = 4


class Carrier:
    """Turns a reply into its Bot API call, with Telegram's error rules."""

    def __init__(self, app: Application, conversation: Any) -> None:
        self.app = app
        self.conversation = conversation
        # Message ids learned from sends, stored in batches.
        self.learned = LearnedIds(
            lambda batch: conversation.remember_messages(batch.prompts, batch.results)
        )
        # Native polls being sent whose Telegram ids are not stored yet: a vote on one can
        # arrive before that, and must wait for it rather than miss its poll.
        self._native_sending = 0
        self._natives_known = asyncio.Event()
        self._natives_known.set()
        self._table: dict[type, Callable[[Any], Awaitable[None]]] = {
            SendText: self._send_text,
            SendPhoto: self._send_photo,
            SendDocument: self._send_document,
            EditText: self._edit_text,
            ClearButtons: self._clear_buttons,
            NativePoll: self._native_poll,
            StopNativePoll: self._stop_native_poll,
            LeaveChat: self._leave_chat,
            Typing: self._typing,
        }

    @property
    def kinds(self) -> tuple[type, ...]:
        """The reply types that are calls to one chat."""
        return tuple(self._table)

    async def carry_out(self, reply: Any) -> None:
        """Make the call `reply` stands for."""
        await self._table[type(reply)](reply)

    async def call(self, method, **kwargs):
        """Call the Bot API with Telegram's error rules; never resend after a timeout."""
        name = method.__name__
        for attempt in range(SEND_ATTEMPTS):
            try:
                return await method(**kwargs)
            except Exception as exc:
                failure = classify(exc)
                if failure is None:
                    raise
            if failure.kind == Kind.WAIT:
                await asyncio.sleep(failure.seconds)
            elif failure.kind == Kind.TRANSIENT:
                log.warning("network error on %s: %s", name, failure.detail)
                await asyncio.sleep(0.5 * 2**attempt)
            else:
                if failure.kind == Kind.UNCERTAIN:
                    log.warning("%s timed out; not retried (it may have arrived)", name)
                elif failure.kind == Kind.UNREACHABLE:
                    log.info("chat unreachable (%s): %s", kwargs.get("chat_id"), failure.detail)
                elif failure.kind != Kind.NOT_MODIFIED:
                    log.warning("Telegram refused %s: %s", name, failure.detail)
                return None
        return None

    async def _send_text(self, reply: SendText) -> None:
        message = await self.call(
            self.app.bot.send_message,
            chat_id=reply.chat_id,
            text=reply.text[:MAX_TEXT],
            reply_markup=keyboard(reply.buttons),
        )
        if message is None:
            return
        if reply.prompt_run_id is not None:
            self.learned.prompt(reply.chat_id, reply.prompt_run_id, message.message_id)
        if reply.results_poll_id is not None:
            self.learned.results(reply.chat_id, reply.results_poll_id, message.message_id)

    async def _send_photo(self, reply: SendPhoto) -> None:
        await self.call(
            self.app.bot.send_photo,
            chat_id=reply.chat_id,
            photo=InputFile(reply.data, filename="image.png"),
            caption=reply.caption[:MAX_CAPTION] or None,
        )

    async def _send_document(self, reply: SendDocument) -> None:
        await self.call(
            self.app.bot.send_document,
            chat_id=reply.chat_id,
            document=InputFile(reply.data, filename=reply.filename),
            caption=reply.caption[:MAX_CAPTION] or None,
        )

    async def _edit_text(self, reply: EditText) -> None:
        await self.call(
            self.app.bot.edit_message_text,
            chat_id=reply.chat_id,
            message_id=reply.message_id,
            text=reply.text[:MAX_TEXT],
            reply_markup=keyboard(reply.buttons),
        )

    async def _clear_buttons(self, reply: ClearButtons) -> None:
        await self.call(
            self.app.bot.edit_message_reply_markup,
            chat_id=reply.chat_id,
            message_id=reply.message_id,
            reply_markup=None,
        )

    async def native_polls_known(self) -> None:
        """Return once every native poll sent so far has its Telegram ids stored."""
        await self._natives_known.wait()

    async def _native_poll(self, reply: NativePoll) -> None:
        self._native_sending += 1
        self._natives_known.clear()
        try:
            message = await self.call(
                self.app.bot.send_poll,
                chat_id=reply.chat_id,
                question=reply.question[:300],
                options=[o[:100] for o in reply.options],
                is_anonymous=False,
                allows_multiple_answers=reply.multiple,
                hide_results_until_closes=True if reply.hide_results else None,
            )
            if message is not None and message.poll is not None:
                await self.conversation.remember_native_poll(
                    reply.poll_id, message.poll.id, message.message_id
                )
        finally:
            self._native_sending -= 1
            if not self._native_sending:
                self._natives_known.set()

    async def _stop_native_poll(self, reply: StopNativePoll) -> None:
        await self.call(self.app.bot.stop_poll, chat_id=reply.chat_id, message_id=reply.message_id)

    async def _leave_chat(self, reply: LeaveChat) -> None:
        log.info("leaving group %s: not added by staff", reply.chat_id)
        await self.call(self.app.bot.leave_chat, chat_id=reply.chat_id)

    async def _typing(self, reply: Typing) -> None:
        await self.call(self.app.bot.send_chat_action, chat_id=reply.chat_id, action="typing")
