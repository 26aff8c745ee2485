"""Flood control: a person sending too many updates gets one notice, then a short silence.

Kept in memory on purpose: it protects the bot right now and means nothing after a restart.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Sender:
    times: deque[float] = field(default_factory=deque)
    muted_until: float = 0.0


class FloodGuard:
    """More than `limit` updates within `window` seconds: notice once, drop for `pause`."""

    ALLOW, NOTICE, DROP = "allow", "notice", "drop"

    def __init__(self, limit: int = 20, window: float = 10.0, pause: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self.pause = pause
        self._senders: dict[int, _Sender] = {}

    def check(self, user_id: int, now: float) -> str:
        """ALLOW to handle the update, NOTICE to tell the person once, DROP to ignore it."""
        sender = self._senders.setdefault(user_id, _Sender())
        if now < sender.muted_until:
            return self.DROP
        sender.times.append(now)
        while sender.times and sender.times[0] <= now - self.window:
            sender.times.popleft()
        if len(sender.times) > self.limit:
            sender.muted_until = now + self.pause
            sender.times.clear()
            return self.NOTICE
        if len(self._senders) > 10_000:
            self._forget(now)
        return self.ALLOW

    def _forget(self, now: float) -> None:
        # Bound memory: drop senders who have been quiet for a whole window.
        quiet = [
            uid
            for uid, s in self._senders.items()
            if now >= s.muted_until and (not s.times or s.times[-1] <= now - self.window)
        ]
        for uid in quiet:
            del self._senders[uid]
