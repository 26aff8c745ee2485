"""Outgoing message pacing within Telegram's limits (Bots FAQ): ~30 messages/s overall and
~1/s per chat. Button acknowledgements are not messages and are never delayed."""

from __future__ import annotations

import asyncio
import time
from collections import deque

# Telegram counts messages as it receives them, and requests granted one second apart can
# arrive a little closer together (connection setup, a busy event loop): at 25/s the fake
# saw at most 28 in a second. Right at 30/s that jitter draws 429s unless WINDOW is ~1.1.
WINDOW = 1.0


class SendPacer:
    """At most `per_second` messages in any `WINDOW` seconds, plus a minimum gap per chat.

    Unlike a token bucket holding a second's worth of tokens, this never lets more than
    `per_second` messages out within one second: a full bucket plus its refill allowed twice
    the rate (at the start of a campaign and after every 429 pause)."""

    def __init__(self, per_second: float = 25.0, per_chat_gap: float = 1.0) -> None:
        self.per_second = per_second
        self.per_chat_gap = per_chat_gap
        self._limit = max(1, int(per_second))
        self._window = WINDOW * self._limit / per_second  # 2 s for 0.5/s, 1 s for 25/s
        self._granted: deque[float] = deque()  # send times handed out, in order
        self._next_for_chat: dict[int, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, chat_id: int | None, urgent: bool = False) -> None:
        """Wait until a message to `chat_id` may go out. `urgent` (a direct reply to what
        the person just did) skips the per-chat gap, never the overall limit."""
        async with self._lock:
            now = time.monotonic()
            while self._granted and self._granted[0] <= now - self._window:
                self._granted.popleft()
            at = now
            if len(self._granted) >= self._limit:
                at = max(now, self._granted[-self._limit] + self._window)
            self._granted.append(at)
            delay = at - now
            if chat_id is not None and not urgent:
                delay = max(delay, self._next_for_chat.get(chat_id, 0.0) - now)
            if chat_id is not None:
                self._next_for_chat[chat_id] = now + delay + self.per_chat_gap
                if len(self._next_for_chat) > 50_000:
                    self._next_for_chat = {c: t for c, t in self._next_for_chat.items() if t > now}
        if delay > 0:
            await asyncio.sleep(delay)
