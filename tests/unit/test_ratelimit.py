"""Pacing: replies to groups queued per group, in order, within 20 per minute, never
blocking; the overall pacer lets direct replies go first."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.telegram.outbound import Outbound
from bot.telegram.ratelimit import GroupBudget, SendPacer


class VirtualClock:
    """time.monotonic and asyncio.sleep stand-ins: sleeping moves the clock, not the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def recorder(clock: VirtualClock, log: list, label) -> object:
    async def send() -> None:
        log.append((clock.now, label))
        await asyncio.sleep(0)  # like an HTTP call: other tasks get a turn

    return send


def run(coro):
    return asyncio.run(coro)


class NoPacer:
    async def wait(self, chat_id, urgent=False):
        return None


def group_queues(clock: VirtualClock, per_minute: int = 20, backlog: int = 100) -> Outbound:
    """The outbound queue with only the groups' budget in force (on the virtual clock)."""
    budget = GroupBudget(per_minute=per_minute, clock=clock, sleep=clock.sleep)
    return Outbound(NoPacer(), budget, group_backlog=backlog)


def test_group_replies_keep_their_order_within_twenty_per_minute():
    async def go():
        clock = VirtualClock()
        queues = group_queues(clock, per_minute=20, backlog=100)
        sent: list = []
        for i in range(45):
            assert queues.put(-100, recorder(clock, sent, i))
        await queues.join()
        return sent

    sent = run(go())
    assert [label for _, label in sent] == list(range(45))
    times = [t for t, _ in sent]
    assert all(times[i + 20] - times[i] >= 60 for i in range(len(times) - 20))
    assert times[19] == 0 and times[20] == 60 and times[40] == 120


def test_putting_never_waits_for_the_budget():
    async def go():
        clock = VirtualClock()
        queues = group_queues(clock, per_minute=20, backlog=100)
        sent: list = []
        for i in range(100):
            queues.put(-100, recorder(clock, sent, i))  # plain call: nothing to await
        waiting = queues.waiting(-100)
        await queues.join()
        return waiting, len(sent)

    assert run(go()) == (100, 100)


def test_hints_are_dropped_when_the_queue_is_long_essential_replies_never(caplog):
    async def go():
        clock = VirtualClock()
        queues = group_queues(clock, per_minute=20, backlog=3)
        sent: list = []
        results = [
            queues.put(-100, recorder(clock, sent, f"hint {i}"), essential=False) for i in range(5)
        ]
        results.append(queues.put(-100, recorder(clock, sent, "poll")))
        await queues.join()
        return results, [label for _, label in sent]

    with caplog.at_level(logging.WARNING, logger="bot.telegram.outbound"):
        results, labels = run(go())
    assert results == [True, True, True, False, False, True]
    assert labels == ["hint 0", "hint 1", "hint 2", "poll"]
    assert "hint was dropped" in caplog.text


def test_other_groups_do_not_wait_for_a_busy_group():
    async def go():
        clock = VirtualClock()
        queues = group_queues(clock, per_minute=20, backlog=100)
        sent: list = []
        for i in range(30):
            queues.put(-100, recorder(clock, sent, ("busy", i)))
        queues.put(-200, recorder(clock, sent, ("calm", 0)))
        await queues.join()
        return sent

    sent = run(go())
    calm = next(t for t, label in sent if label[0] == "calm")
    assert calm == 0
    assert sent.index((calm, ("calm", 0))) < 20


def test_a_failing_reply_does_not_stop_the_group_and_leaving_is_not_counted(caplog):
    async def go():
        clock = VirtualClock()
        queues = group_queues(clock, per_minute=2, backlog=100)
        sent: list = []

        async def broken() -> None:
            raise RuntimeError("boom")

        queues.put(-100, broken)
        queues.put(-100, recorder(clock, sent, "after"))
        queues.put(-100, recorder(clock, sent, "leave"), counts=False)
        queues.put(-100, recorder(clock, sent, "third"))
        await queues.join()
        return sent

    with caplog.at_level(logging.ERROR, logger="bot.telegram.outbound"):
        sent = run(go())
    assert sent == [(0, "after"), (0, "leave"), (60, "third")]
    assert "sending to chat -100 failed" in caplog.text


@pytest.mark.parametrize("pause", [0.0, 61.0])
def test_a_group_quiet_for_a_minute_has_its_whole_budget_again(pause):
    async def go():
        clock = VirtualClock()
        queues = group_queues(clock, per_minute=20, backlog=100)
        sent: list = []
        for i in range(20):
            queues.put(-100, recorder(clock, sent, i))
        await queues.join()
        clock.now += pause
        queues.put(-100, recorder(clock, sent, "later"))
        await queues.join()
        return sent[-1][0]

    assert run(go()) == (60.0 if pause == 0 else 61.0)


def test_direct_replies_go_before_bulk_and_no_second_carries_more_than_the_limit():

    async def go():
        pacer = SendPacer(per_second=20)
        start = time.monotonic()
        got: list[tuple[str, float]] = []

        async def send(kind: str, chat: int, urgent: bool) -> None:
            await pacer.wait(chat, urgent=urgent)
            got.append((kind, time.monotonic() - start))

        bulk = [asyncio.create_task(send("bulk", 1000 + i, False)) for i in range(60)]
        await asyncio.sleep(0.3)  # the campaign is going out; now someone answers
        direct = [asyncio.create_task(send("direct", 5000 + i, True)) for i in range(3)]
        await asyncio.gather(*bulk, *direct)
        return got

    got = asyncio.run(go())
    kinds = [k for k, _ in got]
    # the three direct replies came before the rest of the queued campaign
    assert kinds.index("direct") < 25 and kinds.count("direct") == 3
    last_direct = max(i for i, k in enumerate(kinds) if k == "direct")
    assert kinds[last_direct + 1 :].count("bulk") > 20
    times = sorted(t for _, t in got)
    assert max(sum(1 for u in times if t <= u < t + 0.999) for t in times) <= 20
    # the window starts full: a restart cannot burst over the limit
    assert times[0] >= 0.99
