"""Flood control: a person sending too many updates gets one notice, then a short silence.

Group messages are counted twice: for the group, and for the person (together with their
private messages: one budget per person wherever they write). A group that floods and a
person flooding are both stopped, with at most one notice per group and pause. Kept in
memory on purpose: it protects the bot right now and means nothing after a restart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field

MAX_TRACKED = 10_000


@dataclass
class _Sender:
    times: deque[float] = field(default_factory=deque)
    muted_until: float = 0.0


class FloodGuard:
    """More than `limit` updates within `window` seconds: notice once, drop for `pause`."""

    ALLOW, NOTICE, DROP = "allow", "notice", "drop"
    # A group message: only this person is muted (everywhere); the others are still heard.
    MEMBER_NOTICE = "member-notice"

    def __init__(self, limit: int = 20, window: float = 10.0, pause: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self.pause = pause
        self._senders: dict[Hashable, _Sender] = {}

    def check(self, user_id: int, now: float) -> str:
        """ALLOW to handle the update, NOTICE to tell the person once, DROP to ignore it."""
        sender = self._sender(user_id, now)
        if now < sender.muted_until:
            return self.DROP
        return self.NOTICE if self._count(sender, now) else self.ALLOW

    def check_group(self, chat_id: int, user_id: int, now: float) -> str:
        """A message in a group: ALLOW, NOTICE (the group is muted), MEMBER_NOTICE (only this
        person is muted) or DROP. A group gets at most one notice per pause."""
        group = self._sender(("group", chat_id), now)
        member = self._sender(user_id, now)
        if now < group.muted_until or now < member.muted_until:
            return self.DROP
        group_full = self._count(group, now)
        member_full = self._count(member, now)
        if not (group_full or member_full):
            return self.ALLOW
        noticed = self._sender(("noticed", chat_id), now)
        if now < noticed.muted_until:
            return self.DROP
        noticed.muted_until = now + self.pause
        return self.NOTICE if group_full else self.MEMBER_NOTICE

    def _count(self, sender: _Sender, now: float) -> bool:
        # Record one update; True when it is one too many (the sender is muted from now on).
        sender.times.append(now)
        while sender.times and sender.times[0] <= now - self.window:
            sender.times.popleft()
        if len(sender.times) > self.limit:
            sender.muted_until = now + self.pause
            sender.times.clear()
            return True
        return False

    def _sender(self, key: Hashable, now: float) -> _Sender:
        sender = self._senders.get(key)
        if sender is None:
            if len(self._senders) >= MAX_TRACKED:
                self._forget(now)
            sender = self._senders[key] = _Sender()
        return sender

    def _forget(self, now: float) -> None:
        # Bound memory: drop senders who have been quiet for a whole window.
        quiet = [
            key
            for key, s in self._senders.items()
            if now >= s.muted_until and (not s.times or s.times[-1] <= now - self.window)
        ]
        for key in quiet:
            del self._senders[key]
