"""One outbound queue for every message and edit the bot sends.

Handlers commit, put what the person must see here, and return: they never wait for sends
to other chats. Each chat has its own FIFO (order kept) drained by one task; every item
waits for the shared pacer, which lets direct replies (`urgent`) go before bulk traffic
(ballots, campaign messages, results pushes) and keeps Telegram's overall, per-chat and
per-group limits. The queues live in this process only: with several worker processes the
pacer's budget would have to move into the database or Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[object]]
# A chat whose queue grows past this gets no more bulk items (they are dropped and logged):
# a person who cannot be reached must not make the bot hold thousands of messages for them.
MAX_QUEUED_PER_CHAT = 200


class Pacer(Protocol):
    """Waits until a message to a chat may go out (see bot.telegram.ratelimit)."""

    async def wait(self, chat_id: int | None, urgent: bool = False) -> None:
        """Return when the message may be sent."""


@dataclass
class _Item:
    send: Send
    urgent: bool


class Outbound:
    """Per-chat FIFO queues drained through one pacer."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self._queues: dict[int, deque[_Item]] = {}
        self._idle: dict[int, asyncio.Event] = {}
        self._tasks: set[asyncio.Task] = set()
        self.dropped = 0

    def put(self, chat_id: int, send: Send, urgent: bool = True) -> None:
        """Queue one call for `chat_id`; it runs after everything queued for that chat."""
        queue = self._queues.get(chat_id)
        if queue is None:
            queue = self._queues[chat_id] = deque()
            self._idle.setdefault(chat_id, asyncio.Event()).clear()
            task = asyncio.create_task(self._drain(chat_id, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif not urgent and len(queue) >= MAX_QUEUED_PER_CHAT:
            self.dropped += 1
            log.warning("chat queue full; a bulk message was dropped")
            return
        queue.append(_Item(send, urgent))

    def pending(self, chat_id: int) -> int:
        """Items still queued for a chat."""
        queue = self._queues.get(chat_id)
        return len(queue) if queue else 0

    async def wait_idle(self, chat_id: int) -> None:
        """Return once everything queued for `chat_id` so far has been sent."""
        if chat_id in self._queues:
            await self._idle[chat_id].wait()

    async def _drain(self, chat_id: int, queue: deque[_Item]) -> None:
        try:
            while queue:
                item = queue[0]
                try:
                    await self.pacer.wait(chat_id, urgent=item.urgent)
                    await item.send()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("sending to a chat failed")
                queue.popleft()
        finally:
            del self._queues[chat_id]
            self._idle.pop(chat_id).set()

    async def join(self, timeout: float = 15.0) -> None:
        """Wait (bounded) until every queue is empty, e.g. before shutting down."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
