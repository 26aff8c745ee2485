"""Continuous intake: fetch while handlers run, confirm only up to a watermark.

Telegram's getUpdates(offset=X) confirms every update below X. So the offset sent is always
the *watermark*: the lowest update id not yet handled and committed (or one past the newest
when nothing is in flight). Fetching with that offset returns the in-flight updates again,
which are skipped by id; new ones go to their chat's lane at once. So a slow handler never
holds up fetching, and a crash still loses nothing: whatever was not committed was never
confirmed and is delivered again (and deduplicated by update id in the database).

Lanes: updates of one chat are handled one after another, in order; chats in parallel, at
most `concurrency` at a time. Lanes live only in this process — with several worker processes
the per-chat order would have to come from the database (a per-chat claim) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

# (update id, the update as fetched); `read` turns it into the object handlers take, or
# None when it cannot be read. Only new ids are read: a fetch below the watermark brings the
# in-flight updates again, and reading them over and over would cost more than handling.
Fetched = list[tuple[int, Any]]
Fetch = Callable[[int | None, int], Awaitable[Fetched]]
Handle = Callable[[Any], Awaitable[None]]
KeyOf = Callable[[Any], int]

LONG_POLL = 20  # seconds getUpdates may wait when nothing is in flight
# Seconds between fetches while updates are in flight: a new update waits at most this long.
# At 0.05 a busy bot made about one getUpdates per update; 0.1 halves that (bench.interview).
LOOKAHEAD_PAUSE = 0.1
BATCH = 100  # the most updates one getUpdates returns (Telegram's default limit)


class Intake:
    """Fetches continuously, hands each update to its chat's lane, tracks the watermark."""

    def __init__(
        self,
        fetch: Fetch,
        handle: Handle,
        key_of: KeyOf,
        concurrency: int = 64,
        after: Callable[[int], Awaitable[None]] | None = None,
        fatal: tuple[type[BaseException], ...] = (),
        read: Callable[[Any], Any | None] = lambda update: update,
    ) -> None:
        self._fetch = fetch
        self._handle = handle
        self._key_of = key_of
        self._after = after  # awaited before each update of a chat, outside the slots
        self._fatal = fatal
        self._read = read
        self._slots = asyncio.Semaphore(concurrency)
        self._in_flight: set[int] = set()
        self._newest: int | None = None
        self._lanes: dict[int, deque[tuple[int, Any]]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._moved = asyncio.Event()  # the watermark moved
        self._idle = asyncio.Event()  # nothing in flight any more

    @property
    def watermark(self) -> int | None:
        """The offset to confirm with: every update below it was handled and committed."""
        if self._in_flight:
            return min(self._in_flight)
        return None if self._newest is None else self._newest + 1

    @property
    def in_flight(self) -> int:
        """Updates fetched but not yet handled."""
        return len(self._in_flight)

    def take(self, fetched: Fetched) -> int:
        """Queue what a fetch brought that is new; returns how many were new."""
        new = 0
        for update_id, raw in fetched:
            if update_id in self._in_flight or (
                self._newest is not None and update_id <= self._newest
            ):
                continue  # in flight already (fetched again below the watermark) or done
            self._newest = update_id
            new += 1
            update = self._read(raw)
            if update is None:
                continue  # unreadable (read logs it): confirmed with the next fetch
            self._in_flight.add(update_id)
            key = self._key_of(update)
            lane = self._lanes.get(key)
            if lane is not None:
                lane.append((update_id, update))
                continue
            self._lanes[key] = deque([(update_id, update)])
            task = asyncio.create_task(self._drain(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return new

    async def _drain(self, key: int) -> None:
        lane = self._lanes[key]
        try:
            while lane:
                update_id, update = lane[0]
                if self._after is not None:
                    await self._after(key)
                try:
                    async with self._slots:
                        await self._handle(update)
                except Exception:
                    # The handler logs and answers for itself; this only keeps the lane going.
                    log.exception("update %s: handler failed", update_id)
                lane.popleft()
                lowest = update_id == min(self._in_flight)
                self._in_flight.discard(update_id)
                if lowest:
                    self._moved.set()
                if not self._in_flight:
                    self._idle.set()
        finally:
            del self._lanes[key]

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch until `stop` is set (a long poll in progress is abandoned then), let the
        lanes finish, and confirm what they handled."""
        stopping = asyncio.create_task(stop.wait())
        try:
            await self._fetch_until(stop, stopping)
        finally:
            stopping.cancel()
        await self.drain()
        try:  # confirm what was handled; the rest is delivered again after the restart
            await self._fetch(self.watermark, 0)
        except Exception as exc:
            log.info("could not confirm the last updates on the way out (%s)", exc)

    async def _fetch_until(self, stop: asyncio.Event, stopping: asyncio.Task) -> None:
        backoff = 1.0
        while not stop.is_set():
            timeout = 0 if self._in_flight else LONG_POLL
            fetching = asyncio.create_task(self._fetch(self.watermark, timeout))
            await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not fetching.done():
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fetching
                return
            try:
                fetched = fetching.result()
            except self._fatal:
                raise
            except Exception as exc:  # network trouble: retried with a backoff
                log.warning("getUpdates failed (%s); retrying in %.0fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30)
                continue
            backoff = 1.0
            self._moved.clear()
            self._idle.clear()
            self.take(fetched)
            if not self._in_flight:
                continue
            # Asking again before the watermark moves brings the in-flight updates again (and
            # at most a few new ones): after a full batch wait for it to move. Otherwise ask
            # again after LOOKAHEAD_PAUSE (a new update waits at most that long), or as soon
            # as nothing is in flight: then the long poll brings the next update at once.
            if len(fetched) >= BATCH:
                await self._until(self._moved, stopping, None)
            else:
                await self._until(self._idle, stopping, LOOKAHEAD_PAUSE)

    @staticmethod
    async def _until(event: asyncio.Event, stopping: asyncio.Task, timeout: float | None):
        waiting = asyncio.create_task(event.wait())
        first = asyncio.FIRST_COMPLETED
        await asyncio.wait({waiting, stopping}, timeout=timeout, return_when=first)
        waiting.cancel()

    async def drain(self, timeout: float = 15.0) -> None:
        """Wait (bounded) for the lanes in hand to finish."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
