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


class GroupBudget:
    """At most `per_minute` messages (edits count) to one group in any `window` seconds,
    counted from when each call returned: Telegram has received it by then, so the next
    minute's budget can never start too early."""

    def __init__(
        self,
        per_minute: int = GROUP_PER_MINUTE,
        window: float = GROUP_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self._sent: dict[int, deque[float]] = {}

    async def wait(self, chat_id: int) -> None:
        """Return when one more message to the group fits its budget."""
        sent = self._sent.setdefault(chat_id, deque())
        while True:
            now = self.clock()
            while sent and sent[0] <= now - self.window:
                sent.popleft()
            if len(sent) < self.per_minute:
                return
            await self.sleep(sent[0] + self.window - now)

    def spent(self, chat_id: int) -> None:
        """A message to the group has gone out."""
        self._sent.setdefault(chat_id, deque()).append(self.clock())
        if len(self._sent) > 10_000:  # forget groups quiet for a whole window
            now = self.clock()
            self._sent = {c: t for c, t in self._sent.items() if t and t[-1] > now - self.window}
