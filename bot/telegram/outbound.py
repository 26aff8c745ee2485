"""One outbound queue for every message and edit the bot sends.

Handlers commit, put what the person must see here, and return: they never wait for sends
to other chats. Each chat has its own FIFO (order kept) drained by one task; every item
waits for the shared pacer, which lets direct replies (`urgent`) go before bulk traffic
(ballots, results pushes) and keeps Telegram's overall and per-chat limits; a group's items
also wait for that group's 20-per-minute budget. The queues and budgets live in this
process only: with several worker processes they would have to move into the database or
Redis (a shared sliding window per chat and overall).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.telegram.ratelimit import GroupBudget

log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[object]]
# Items waiting for one chat beyond which non-essential ones are dropped (and logged). At
# 20/min, ten replies waiting for a group are already half a minute behind; a private chat
# that far behind has someone at the other end who cannot be reached anyway.
GROUP_BACKLOG = 10
CHAT_BACKLOG = 200


class Pacer(Protocol):
    """Waits until a message to a chat may go out (see bot.telegram.ratelimit)."""

    async def wait(self, chat_id: int | None, urgent: bool = False) -> None:
        """Return when the message may be sent."""


@dataclass
class _Item:
    send: Send
    urgent: bool
    counts: bool  # puts or edits a message (leaving a chat does not)


class Outbound:
    """Per-chat FIFO queues drained through one pacer (and, for groups, their budget)."""

    def __init__(
        self,
        pacer: Pacer,
        groups: GroupBudget | None = None,
        group_backlog: int = GROUP_BACKLOG,
        chat_backlog: int = CHAT_BACKLOG,
    ) -> None:
        self.pacer = pacer
        self.groups = groups or GroupBudget()
        self.group_backlog = group_backlog
        self.chat_backlog = chat_backlog
        self._queues: dict[int, deque[_Item]] = {}
        self._idle: dict[int, asyncio.Event] = {}
        self._replied: dict[int, asyncio.Event] = {}  # set: no direct reply is waiting
        self._urgent: dict[int, int] = {}
        self._tasks: set[asyncio.Task] = set()

    def put(
        self,
        chat_id: int,
        send: Send,
        urgent: bool = True,
        essential: bool = True,
        counts: bool = True,
    ) -> bool:
        """Queue one call for `chat_id` after everything queued for that chat; False if it
        was dropped (not `essential`, and the chat's queue is long)."""
        queue = self._queues.get(chat_id)
        backlog = self.group_backlog if chat_id < 0 else self.chat_backlog
        if not essential and queue is not None and len(queue) >= backlog:
            log.warning("chat %s: %d messages waiting; a hint was dropped", chat_id, len(queue))
            return False
        if queue is None:
            queue = self._queues[chat_id] = deque()
            self._idle.setdefault(chat_id, asyncio.Event()).clear()
            task = asyncio.create_task(self._drain(chat_id, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.append(_Item(send, urgent, counts))
        if urgent:
            self._urgent[chat_id] = self._urgent.get(chat_id, 0) + 1
            self._replied.setdefault(chat_id, asyncio.Event()).clear()
        return True

    def waiting(self, chat_id: int) -> int:
        """Items queued for a chat (the one being sent included)."""
        queue = self._queues.get(chat_id)
        return len(queue) if queue else 0

    async def wait_idle(self, chat_id: int) -> None:
        """Return once everything queued for `chat_id` so far has been sent."""
        if chat_id in self._queues:
            await self._idle[chat_id].wait()

    async def wait_replies(self, chat_id: int) -> None:
        """Return once no direct reply is waiting for `chat_id` (bulk items may be)."""
        if self._urgent.get(chat_id):
            await self._replied[chat_id].wait()

    async def _drain(self, chat_id: int, queue: deque[_Item]) -> None:
        try:
            while queue:
                item = queue[0]
                try:
                    await self._send(chat_id, item, queue)
                except Exception:
                    # One failing call must not hold up the rest of the chat's messages.
                    log.exception("sending to chat %s failed", chat_id)
                queue.popleft()
                if item.urgent:
                    self._replied_one(chat_id)
        finally:
            del self._queues[chat_id]
            self._idle.pop(chat_id).set()

    def _replied_one(self, chat_id: int) -> None:
        left = self._urgent[chat_id] - 1
        if left:
            self._urgent[chat_id] = left
            return
        del self._urgent[chat_id]
        self._replied.pop(chat_id).set()

    async def _send(self, chat_id: int, item: _Item, queue: deque[_Item]) -> None:
        group = chat_id < 0 and item.counts
        if group:
            await self.groups.wait(chat_id)
        if item.counts:
            # A direct reply queued behind a bulk item of the same chat lifts that item too:
            # order within the chat stays, and the person is not stuck behind a campaign.
            await self.pacer.wait(chat_id, urgent=any(i.urgent for i in queue))
        try:
            await item.send()
        finally:
            if group:  # a failed call may have reached Telegram too: it counts
                self.groups.spent(chat_id)

    async def join(self, timeout: float | None = None) -> None:
        """Wait until every queue is empty (bounded by `timeout`), e.g. before shutting down."""
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while self._tasks:
            left = None if deadline is None else deadline - asyncio.get_running_loop().time()
            if left is not None and left <= 0:
                return
            await asyncio.wait(set(self._tasks), timeout=left)
