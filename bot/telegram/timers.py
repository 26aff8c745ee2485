"""Timers as rows: one sweep handles every merge window and poll timer that came due.

A due time is a database row (`runs.collect_until`, `polls.closes_at`), never a scheduled job
that can be dropped as "missed" after a restart. The sweep runs at start-up (before any update
is handled), every `SWEEP_SECONDS`, and when a timer it was told about comes due. Each due row
is handled in the lanes of the chats it concerns, so it never overlaps with those chats'
updates; the handling transaction locks the row and checks it again, so a row is settled or
closed once however many sweeps see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.services.conversation import Conversation
from bot.services.replies import Outcome
from bot.telegram.polling import ChatLanes

log = logging.getLogger(__name__)

SWEEP_SECONDS = 2.0  # the safety net: known merge windows and poll timers wake it themselves
WAKE_SLACK = 0.05  # wake a little after the due time, so the row is due when read
# Wake-ups are rounded up to this grid: many people answering at once then share sweeps
# (each a transaction) instead of one each, for at most this much more waiting.
WAKE_GRID = 0.1
DB_SLOTS = 4  # due rows handled at once (each takes a connection)
RETRY_MAX = 60.0

Key = tuple[str, int]  # ("settle", run id) or ("close", poll id)


class TimerSweep:
    """Finds due rows and handles each once, in its chats' lanes."""

    def __init__(
        self,
        conversation: Conversation,
        deliver: Callable[[Outcome], Awaitable[None]],
        lanes: ChatLanes,
    ) -> None:
        self.conversation = conversation
        self.deliver = deliver
        self.lanes = lanes
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(DB_SLOTS)
        self._busy: dict[Key, asyncio.Task] = {}
        self._retry: dict[Key, tuple[int, float]] = {}  # failures, not before (monotonic)
        self._wakes: set[int] = set()  # grid slots a wake-up is set for
        self._known: dict[int, set[tuple[int, int]]] = {}  # slot -> {(run id, chat id)}
        self._unknown: set[int] = set()  # slots that need a sweep

    def wake_at(self, at: datetime, run_id: int | None = None, chat_id: int | None = None) -> None:
        """Sweep again when `at` has come (the time itself is already a row). With the run
        and its chat known, that merge window is settled then without a sweep's query."""
        loop = asyncio.get_running_loop()
        delay = max(0.0, (at - datetime.now(UTC)).total_seconds()) + WAKE_SLACK
        slot = math.ceil((loop.time() + delay) / WAKE_GRID)
        if run_id is not None and chat_id is not None:
            self._known.setdefault(slot, set()).add((run_id, chat_id))
        else:
            self._unknown.add(slot)
        if slot in self._wakes:
            return
        self._wakes.add(slot)
        loop.call_at(slot * WAKE_GRID, self._woken, slot)

    def _woken(self, slot: int) -> None:
        self._wakes.discard(slot)
        # Known merge windows start at once; the settle locks the row and checks it again,
        # so one that changed meanwhile is rescheduled or left alone. Only a wake-up for
        # something unknown (a poll timer) costs a sweep; the periodic one finds the rest.
        for run_id, chat_id in self._known.pop(slot, ()):
            self._start(("settle", run_id), (chat_id,))
        if slot in self._unknown:
            self._unknown.discard(slot)
            self._wake.set()

    async def catch_up(self) -> None:
        """Start handling everything due now, and return once each due row holds its chats'
        lanes: updates fetched afterwards come after it (used at start-up)."""
        for holding in await self.sweep():
            await holding.wait()

    async def run(self, stop: asyncio.Event, every: float = SWEEP_SECONDS) -> None:
        """Sweep until `stop` is set, then let the rows in hand finish."""
        failures = 0
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.sweep()
                failures = 0
            except Exception:
                failures += 1
                log.exception("timer sweep failed")
            wait = min(RETRY_MAX, every * 2**failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
        await asyncio.gather(*self._busy.values(), return_exceptions=True)

    async def sweep(self) -> list[asyncio.Event]:
        """One pass: each due row not already in hand is handled in the background; the events
        are set once the rows hold their lanes."""
        settles, closes = await self.conversation.due_timers()
        due = [("settle", i, c) for i, c in settles] + [("close", i, c) for i, c in closes]
        # A row handled elsewhere meanwhile is no longer due: forget its failures.
        due_keys = {(kind, ident) for kind, ident, _ in due}
        self._retry = {k: v for k, v in self._retry.items() if k in due_keys}
        started = []
        for kind, ident, chats in due:
            holding = self._start((kind, ident), chats)
            if holding is not None:
                started.append(holding)
        return started

    def _start(self, key: Key, chats: tuple[int, ...]) -> asyncio.Event | None:
        """Handle a due row in the background, unless in hand or backing off; the event is
        set once it holds its lanes."""
        if key in self._busy or self._retry.get(key, (0, 0.0))[1] > time.monotonic():
            return None
        holding = asyncio.Event()
        task = asyncio.create_task(self._handle(key, chats, holding))
        self._busy[key] = task
        task.add_done_callback(lambda _task: self._busy.pop(key, None))
        return holding

    async def _handle(self, key: Key, chats: tuple[int, ...], holding: asyncio.Event) -> None:
        kind, ident = key
        try:
            async with self.lanes.hold(*chats):
                holding.set()
                outcome = await self._claim(key)
                if outcome is not None:
                    await self.deliver(outcome)
        except Exception:
            log.exception("delivering after %s %s failed", kind, ident)
        finally:
            holding.set()

    async def _claim(self, key: Key) -> Outcome | None:
        """Settle or close in one transaction; a failure is retried later, backing off."""
        kind, ident = key
        try:
            async with self._slots:
                if kind == "settle":
                    outcome = await self.conversation.settle_text(ident)
                else:
                    outcome = await self.conversation.close_poll_due(ident)
        except Exception:
            failures = self._retry.get(key, (0, 0.0))[0] + 1
            delay = min(RETRY_MAX, SWEEP_SECONDS * 2**failures)
            self._retry[key] = (failures, time.monotonic() + delay)
            log.exception("%s %s failed; retrying in %.0fs", kind, ident, delay)
            return None
        self._retry.pop(key, None)
        return outcome
