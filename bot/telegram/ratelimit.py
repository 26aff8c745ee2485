"""Outgoing message pacing within Telegram's limits (Bots FAQ): ~30 messages/s overall and
~1/s per chat. Button acknowledgements are not messages and are never delayed."""

from __future__ import annotations

import asyncio
import time


class SendPacer:
    """A token bucket for all chats plus a minimum gap per chat."""

    def __init__(self, per_second: float = 25.0, per_chat_gap: float = 1.0) -> None:
        self.per_second = per_second
        self.per_chat_gap = per_chat_gap
        self._tokens = per_second
        self._updated = time.monotonic()
        self._next_for_chat: dict[int, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, chat_id: int | None, urgent: bool = False) -> None:
        """Wait until a message to `chat_id` may go out. `urgent` (a direct reply to what
        the person just did) skips the per-chat gap, never the overall limit."""
        async with self._lock:
            now = time.monotonic()
            self._tokens = min(
                self.per_second, self._tokens + (now - self._updated) * self.per_second
            )
            self._updated = now
            delay = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.per_second
            if chat_id is not None and not urgent:
                delay = max(delay, self._next_for_chat.get(chat_id, 0.0) - now)
            self._tokens -= 1
            if chat_id is not None:
                self._next_for_chat[chat_id] = max(now, now + delay) + self.per_chat_gap
                if len(self._next_for_chat) > 50_000:
                    self._next_for_chat = {c: t for c, t in self._next_for_chat.items() if t > now}
        if delay > 0:
            await asyncio.sleep(delay)
