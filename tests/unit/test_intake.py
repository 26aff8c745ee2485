"""The intake pipeline: fetching never waits for handlers; confirming never runs ahead."""

from __future__ import annotations

import asyncio
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram.intake import Intake


class FakeTelegram:
    """getUpdates as Telegram does it: an offset confirms everything below it."""

    def __init__(self, updates: list[tuple[int, int]]) -> None:
        self.pending = list(updates)  # (update id, chat), in id order
        self.offsets: list[int | None] = []
        self.handled: set[int] = set()
        self.violations: list[str] = []

    async def fetch(self, offset, timeout):
        self.offsets.append(offset)
        if offset is not None:
            unhandled = [u for u, _ in self.pending if u < offset and u not in self.handled]
            if unhandled:
                self.violations.append(f"offset {offset} confirms unhandled {unhandled}")
            self.pending = [(u, c) for u, c in self.pending if u >= offset]
        await asyncio.sleep(0)
        return [(u, {"id": u, "chat": c}) for u, c in self.pending[:100]]


async def _run(updates, delays, concurrency=8):
    tg = FakeTelegram(updates)
    seen: dict[int, list[int]] = {}
    stop = asyncio.Event()

    async def handle(update):
        await asyncio.sleep(delays[update["id"] % len(delays)])
        seen.setdefault(update["chat"], []).append(update["id"])
        tg.handled.add(update["id"])
        if len(tg.handled) == len(updates):
            stop.set()

    intake = Intake(tg.fetch, handle, key_of=lambda u: u["chat"], concurrency=concurrency)
    await asyncio.wait_for(intake.run(stop), timeout=30)
    return tg, seen


@settings(max_examples=40, deadline=None)
@given(
    chats=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=60),
    delays=st.lists(st.sampled_from([0.0, 0.001, 0.003, 0.01]), min_size=1, max_size=8),
)
def test_per_chat_order_and_watermark_hold_under_concurrency(chats, delays):
    updates = [(100 + i, chat) for i, chat in enumerate(chats)]
    tg, seen = asyncio.run(_run(updates, delays))
    assert tg.violations == []
    for chat, ids in seen.items():
        assert ids == [u for u, c in updates if c == chat]  # in order, each exactly once
    assert sum(len(ids) for ids in seen.values()) == len(updates)
    assert tg.offsets[-1] == updates[-1][0] + 1  # everything confirmed on the way out


def test_a_slow_chat_does_not_hold_up_the_others():
    order: list[str] = []
    stop = asyncio.Event()
    release = asyncio.Event()

    async def fetch(offset, timeout):
        await asyncio.sleep(0.001)
        if offset is None:
            return [(1, "slow"), (2, "fast")]
        if offset <= 3:
            return [(u, c) for u, c in [(1, "slow"), (2, "fast"), (3, "fast")] if u >= offset]
        return []

    async def handle(update):
        if update == "slow":
            await release.wait()
        order.append(update)
        if order.count("fast") == 2:
            release.set()
        if len(order) == 3:
            stop.set()

    intake = Intake(fetch, handle, key_of=lambda u: hash(u))
    asyncio.run(asyncio.wait_for(intake.run(stop), timeout=10))
    assert order == ["fast", "fast", "slow"]


def test_unparseable_updates_are_confirmed_and_skipped():
    stop = asyncio.Event()
    offsets = []
    handled = []

    async def fetch(offset, timeout):
        offsets.append(offset)
        if offset is None:
            return [(7, None), (8, "ok")]
        return []

    async def handle(update):
        handled.append(update)
        stop.set()

    intake = Intake(fetch, handle, key_of=lambda u: 1)
    asyncio.run(asyncio.wait_for(intake.run(stop), timeout=10))
    assert handled == ["ok"]
    assert offsets[-1] == 9


def test_random_delays_keep_order_for_a_room():
    rng = random.Random(3)
    updates = [(1000 + i, rng.randrange(300)) for i in range(900)]
    tg, seen = asyncio.run(_run(updates, [0.0, 0.002, 0.0005], concurrency=64))
    assert tg.violations == []
    for chat, ids in seen.items():
        assert ids == [u for u, c in updates if c == chat]
