"""Live results and campaign progress: at most one edit per message every few seconds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

RESULTS_EDIT_GAP = 3.0
Key = tuple[str, int]  # ("poll", poll id) or ("campaign", campaign id)


class Refresher:
    """Coalesces "figures changed" signals: however many votes or deliveries come in, the
    message behind a key is refreshed at most once every `gap` seconds, showing them all."""

    def __init__(self, show: Callable[[Key], Awaitable[None]], gap: float = RESULTS_EDIT_GAP):
        self.show = show
        self.gap = gap
        self._due: dict[Key, asyncio.Task] = {}
        self._last: dict[Key, float] = {}

    def changed(self, key: Key) -> None:
        """The figures behind `key` changed."""
        if key in self._due:
            return  # an edit is already scheduled; it will show this change too
        wait = self._last.get(key, 0.0) + self.gap - time.monotonic()
        self._due[key] = asyncio.create_task(self._later(key, wait))

    async def _later(self, key: Key, wait: float) -> None:
        try:
            if wait > 0:
                await asyncio.sleep(wait)
            self._last[key] = time.monotonic()
            del self._due[key]
            await self.show(key)
        except Exception:
            self._due.pop(key, None)
            log.exception("refreshing %s %s", *key)
