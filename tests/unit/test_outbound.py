"""The outbound queue: per-chat order, no chat waits for another, bulk never crowds out."""

from __future__ import annotations

import asyncio

from bot.telegram.outbound import CHAT_BACKLOG, Outbound


class SlowPacer:
    """Lets one message out every `gap` seconds, urgent ones first."""

    def __init__(self, gap: float) -> None:
        self.gap = gap
        self.lock = asyncio.Lock()

    async def wait(self, chat_id, urgent=False):
        async with self.lock:
            await asyncio.sleep(self.gap)


def test_order_per_chat_is_kept_and_chats_do_not_wait_for_each_other():
    sent: list[tuple[int, int]] = []

    async def go():
        out = Outbound(SlowPacer(0.001))
        for i in range(5):
            for chat in (1, 2, 3):

                async def send(chat=chat, i=i):
                    sent.append((chat, i))

                out.put(chat, send)
        await out.wait_idle(2)
        await out.join()

    asyncio.run(go())
    for chat in (1, 2, 3):
        assert [i for c, i in sent if c == chat] == [0, 1, 2, 3, 4]
    # chats interleave: chat 3's first message did not wait for chat 1's five
    assert sent.index((3, 0)) < sent.index((1, 4))


def test_a_failing_send_does_not_stop_the_chat_queue():
    sent = []

    async def go():
        out = Outbound(SlowPacer(0))

        async def boom():
            raise RuntimeError("network")

        async def ok():
            sent.append("ok")

        out.put(7, boom)
        out.put(7, ok)
        await out.join()

    asyncio.run(go())
    assert sent == ["ok"]


def test_hints_beyond_the_backlog_are_dropped_but_essential_messages_are_not():
    async def go():
        out = Outbound(SlowPacer(10))  # nothing goes out during the test

        async def noop():
            return None

        kept = [out.put(1, noop, essential=False) for _ in range(CHAT_BACKLOG + 5)]
        out.put(1, noop)
        pending, dropped = out.waiting(1), kept.count(False)
        for task in list(out._tasks):
            task.cancel()
        await asyncio.sleep(0)
        return pending, dropped

    pending, dropped = asyncio.run(go())
    assert dropped == 5
    assert pending == CHAT_BACKLOG + 1
