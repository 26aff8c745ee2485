"""Outgoing message pacing within Telegram's limits (Bots FAQ): ~30 messages/s overall,
~1/s per chat and 20/min per group (edits count). Button acknowledgements are not messages
and are never delayed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# Telegram counts messages as it receives them, and requests granted one second apart can
# arrive a little closer together (connection setup, a busy event loop): at 25/s the fake
# saw at most 28 in a second. Right at 30/s that jitter draws 429s unless WINDOW is ~1.1.
WINDOW = 1.0


class SendPacer:
    """At most `per_second` messages in any `WINDOW` seconds, direct replies first, plus a
    minimum gap per chat for bulk messages.

    A sliding window, not a token bucket: a full bucket plus its refill allowed twice the rate
    (at the start of a campaign and after every 429 pause). Slots are handed out when they
    come free, urgent waiters (direct replies to what a person just did) before bulk ones
    (ballots, campaign messages, results pushes), so a person in an interview is never stuck
    behind a campaign. The window starts full: right after a restart the previous process may
    have used this second's budget, and nothing here remembers it."""

    def __init__(
        self,
        per_second: float = 25.0,
        per_chat_gap: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.per_chat_gap = per_chat_gap
        self.clock = clock
        self._limit = max(1, int(per_second))
        self._window = WINDOW * self._limit / per_second  # 2 s for 0.5/s, 1 s for 25/s
        self._granted: deque[float] = deque([clock()] * self._limit)  # when slots were used
        self._waiting: tuple[deque[asyncio.Future], deque[asyncio.Future]] = (deque(), deque())
        self._pump: asyncio.Task | None = None
        self._next_for_chat: dict[int, float] = {}

    @property
    def waiting(self) -> int:
        """Messages waiting for a slot."""
        return len(self._waiting[0]) + len(self._waiting[1])

    async def wait(self, chat_id: int | None, urgent: bool = False) -> None:
        """Wait until a message to `chat_id` may go out. `urgent` skips the per-chat gap and
        the queue of bulk messages, never the overall limit."""
        now = self.clock()
        if chat_id is not None:
            at = now if urgent else max(now, self._next_for_chat.get(chat_id, 0.0))
            self._next_for_chat[chat_id] = at + self.per_chat_gap
            if len(self._next_for_chat) > 50_000:
                self._next_for_chat = {c: t for c, t in self._next_for_chat.items() if t > now}
            if at > now:
                await asyncio.sleep(at - now)
        if not self.waiting and self._take():
            return
        slot = asyncio.get_running_loop().create_future()
        self._waiting[0 if urgent else 1].append(slot)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._hand_out())
        await slot

    def _take(self) -> bool:
        now = self.clock()
        while self._granted and self._granted[0] <= now - self._window:
            self._granted.popleft()
        if len(self._granted) >= self._limit:
            return False
        self._granted.append(now)
        return True

    async def _hand_out(self) -> None:
        while self.waiting:
            if not self._take():
                await asyncio.sleep(max(0.0, self._granted[0] + self._window - self.clock()))
                continue
            queue = self._waiting[0] if self._waiting[0] else self._waiting[1]
            slot = queue.popleft()
            if slot.cancelled():
                self._granted.pop()  # nobody took it
            else:
                slot.set_result(None)


GROUP_PER_MINUTE = 20
GROUP_WINDOW = 60.0
# Replies waiting for one group beyond which non-essential ones (hints) are dropped: at
# 20/min, ten waiting replies are already half a minute behind.
GROUP_BACKLOG = 10

Send = Callable[[], Awaitable[object]]


class GroupQueues:
    """Replies to groups, sent in order by one background task per group, at most
    `per_minute` in any `window` seconds, so no handler ever waits for a group's budget."""

    def __init__(
        self,
        per_minute: int = GROUP_PER_MINUTE,
        backlog: int = GROUP_BACKLOG,
        window: float = GROUP_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.backlog = backlog
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self._queues: dict[int, asyncio.Queue[tuple[Send, bool]]] = {}
        self._tasks: dict[int, asyncio.Task] = {}
        self._sent: dict[int, deque[float]] = {}  # when each counted send to a group ended

    def put(self, chat_id: int, send: Send, counts: bool = True, essential: bool = True) -> bool:
        """Queue `send` for `chat_id`; False if it was dropped (a hint, and the queue is long).
        `counts`: the call puts or edits a message (leaving a chat does not)."""
        queue = self._queues.setdefault(chat_id, asyncio.Queue())
        if not essential and queue.qsize() >= self.backlog:
            log.warning("group %s: %d replies waiting; a hint was dropped", chat_id, queue.qsize())
            return False
        queue.put_nowait((send, counts))
        if chat_id not in self._tasks:
            task = asyncio.create_task(self._drain(chat_id, queue))
            self._tasks[chat_id] = task
        return True

    def waiting(self, chat_id: int) -> int:
        """How many replies to `chat_id` are queued (not counting one being sent)."""
        queue = self._queues.get(chat_id)
        return queue.qsize() if queue else 0

    async def join(self) -> None:
        """Wait until every queued reply was sent (e.g. before a clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _drain(self, chat_id: int, queue: asyncio.Queue[tuple[Send, bool]]) -> None:
        sent = self._sent.setdefault(chat_id, deque())
        try:
            while not queue.empty():
                send, counts = queue.get_nowait()
                if counts:
                    await self._wait_for_budget(sent)
                try:
                    await send()
                except Exception:
                    # One failing reply must not hold up the rest of the group's replies.
                    log.exception("reply to group %s failed", chat_id)
                if counts:
                    # Counted from when the call returned: Telegram has received it by then,
                    # so the next minute's budget can never start too early.
                    sent.append(self.clock())
        finally:
            # No await between the empty check and here: a put() either was seen above or
            # finds no task and starts a new one.
            del self._tasks[chat_id]
            if queue.empty():
                del self._queues[chat_id]
            self._prune()

    async def _wait_for_budget(self, sent: deque[float]) -> None:
        while True:
            now = self.clock()
            while sent and sent[0] <= now - self.window:
                sent.popleft()
            if len(sent) < self.per_minute:
                return
            await self.sleep(sent[0] + self.window - now)

    def _prune(self) -> None:
        now = self.clock()
        for chat_id in [c for c in self._sent if c not in self._tasks]:
            times = self._sent[chat_id]
            if not times or times[-1] <= now - self.window:
                del self._sent[chat_id]
