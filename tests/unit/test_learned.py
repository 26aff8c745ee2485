"""Message ids learned from sends are written in batches, and waited for per chat."""

from __future__ import annotations

import asyncio

from bot.telegram.learned import Learned, LearnedIds


class SlowWriter:
    """Records each batch; each write takes until `release` is set."""

    def __init__(self, fail_first: bool = False) -> None:
        self.batches: list[Learned] = []
        self.release = asyncio.Event()
        self.fail_first = fail_first

    async def __call__(self, batch: Learned) -> None:
        self.batches.append(batch)
        await self.release.wait()
        if self.fail_first:
            self.fail_first = False
            raise RuntimeError("database gone")


async def test_ids_that_arrive_during_a_write_go_into_one_next_batch():
    writer = SlowWriter()
    learned = LearnedIds(writer)
    learned.prompt(1, run_id=10, message_id=100)
    await asyncio.sleep(0)  # the first write starts with one id
    for chat in (2, 3, 4):
        learned.prompt(chat, run_id=10 + chat, message_id=100 + chat)
    learned.results(5, poll_id=7, message_id=500)
    writer.release.set()
    await learned.flush()
    assert [b.prompts for b in writer.batches] == [[(10, 100)], [(12, 102), (13, 103), (14, 104)]]
    assert writer.batches[1].results == [(7, 500)]


async def test_wait_returns_only_once_the_chats_newest_id_is_written():
    writer = SlowWriter()
    learned = LearnedIds(writer)
    learned.prompt(1, 10, 100)
    await asyncio.sleep(0)
    learned.prompt(1, 10, 101)  # a newer question of the same chat, while the first is written
    waiting = asyncio.create_task(learned.wait(1))
    other = asyncio.create_task(learned.wait(2))  # nothing pending there
    await asyncio.sleep(0.01)
    assert other.done() and not waiting.done()
    writer.release.set()
    await asyncio.wait_for(waiting, 1)
    assert [b.prompts for b in writer.batches] == [[(10, 100)], [(10, 101)]]


async def test_a_failed_write_is_logged_and_does_not_hold_anyone(caplog):
    writer = SlowWriter(fail_first=True)
    learned = LearnedIds(writer)
    learned.prompt(1, 10, 100)
    writer.release.set()
    await asyncio.wait_for(learned.wait(1), 1)
    assert "could not store 1 message ids" in caplog.text
    learned.prompt(1, 10, 101)  # the next id is written as usual
    await learned.flush()
    assert writer.batches[-1].prompts == [(10, 101)]
