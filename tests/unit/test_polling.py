"""Intake and timers in-process: reading a batch update by update, per-chat lanes, the timer
sweep, exactly-once settling and closing on a real database, and the token filter."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.app import RedactToken
from bot.services.catalog import FlowCatalog
from bot.services.conversation import Conversation
from bot.services.events import Command, Text
from bot.services.replies import Outcome, SendPhoto, SendText
from bot.telegram.polling import ChatLanes, read_batch
from bot.telegram.timers import TimerSweep
from storage.models import Answer, Poll
from storage.repo import Database
from tests.unit.test_conversation import FLOW, Clock, Harness

BOT = Bot("123456:TEST-token")
USER = {"id": 77, "is_bot": False, "first_name": "Zoraida", "username": "zoraida_q"}
CHAT = {"id": 77, "type": "private", "first_name": "Zoraida"}


def message(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {"message_id": 1, "date": 0, "chat": CHAT, "from": USER, "text": text},
    }


def test_an_unreadable_update_is_skipped_and_its_batch_still_confirmed(caplog):
    raw = [
        message(10, "hallo"),
        {  # as older self-hosted Bot API servers send it: no option_persistent_ids
            "update_id": 11,
            "poll_answer": {"poll_id": "p1", "user": USER, "option_ids": [0]},
        },
        {"update_id": 12, "message": "Zoraida"},
        {"message": {"text": "no id at all"}},
        message(13, "noch da"),
    ]
    with caplog.at_level(logging.WARNING):
        read = read_batch(BOT, raw)
    # every update with an id is there to be confirmed; only the readable ones are handled
    assert [uid for uid, _ in read] == [10, 11, 12, 13]
    assert [u.update_id for _, u in read if u is not None] == [10, 13]
    text = caplog.text
    assert "update 11 could not be read (TypeError)" in text
    assert "update 12 could not be read" in text and "update without id" in text
    assert "Zoraida" not in text and "zoraida_q" not in text and "no id at all" not in text


def test_a_batch_without_any_update_id_cannot_be_confirmed():
    assert read_batch(BOT, [{"message": "x"}, "y"]) == []


async def test_lanes_keep_one_chat_in_order_and_let_others_through():
    lanes = ChatLanes()
    order: list[str] = []
    first_in = asyncio.Event()

    async def slow(chat: int, name: str) -> None:
        async with lanes.hold(chat):
            first_in.set()
            await asyncio.sleep(0.05)
            order.append(name)

    async def quick(*chats: int, name: str) -> None:
        await first_in.wait()
        async with lanes.hold(*chats):
            order.append(name)

    await asyncio.gather(slow(1, "a1"), quick(1, 2, name="a2+b"), quick(3, name="c"))
    assert order == ["c", "a1", "a2+b"]
    assert len(lanes) == 0  # idle lanes are dropped


class FakeConversation:
    """Due rows in memory; records which rows were handled."""

    def __init__(self) -> None:
        self.due = ([(5, (77,))], [(9, (77, -100))])
        self.handled: list[str] = []

    async def due_timers(self):
        return self.due

    async def settle_text(self, run_id: int) -> Outcome:
        self.handled.append(f"settle {run_id}")
        self.due = ([], self.due[1])
        return Outcome()

    async def close_poll_due(self, poll_id: int) -> Outcome:
        self.handled.append(f"close {poll_id}")
        self.due = (self.due[0], [])
        return Outcome()


async def test_the_sweep_waits_for_the_chat_and_handles_each_row_once():
    conv = FakeConversation()
    delivered: list[Outcome] = []

    async def deliver(outcome: Outcome) -> None:
        delivered.append(outcome)

    lanes = ChatLanes()
    sweep = TimerSweep(conv, deliver, lanes)
    async with lanes.hold(77):  # the person's update is being handled
        await sweep.sweep()
        await sweep.sweep()  # a second pass while the rows are in hand starts nothing new
        await asyncio.sleep(0.05)
        assert conv.handled == []
        conv.handled.append("update")
    stop = asyncio.Event()
    stop.set()
    await sweep.run(stop)  # stops at once, after the rows in hand are done
    assert conv.handled == ["update", "settle 5", "close 9"]
    assert len(delivered) == 2


@pytest.fixture
async def conv(migrated_url: str, tmp_path: Path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "mini.yaml").write_text(FLOW, encoding="utf-8")
    db = Database(migrated_url)
    clock = Clock()
    conversation = Conversation(
        db,
        FlowCatalog(tmp_path / "flows"),
        clock=clock,
        text_merge_seconds=3,
        admin_ids=frozenset({42}),
    )
    yield conversation, clock
    await db.dispose()


@pytest.mark.storage
async def test_a_due_merge_window_is_settled_once_however_many_sweeps_see_it(conv):
    conversation, clock = conv
    h = Harness(conversation, clock)
    await h.onboard()
    await h.do(Text("Ich bin Lea"))
    assert await conversation.due_timers() == ([], [])
    clock.now += timedelta(seconds=4)
    [(run_id, chats)], _ = await conversation.due_timers()
    assert chats == (42,)
    outcomes = await asyncio.gather(*(conversation.settle_text(run_id) for _ in range(3)))
    prompts = [r for o in outcomes for r in o.replies if isinstance(r, SendText)]
    assert [p.text for p in prompts if p.text.startswith("Wie geht")] == ["Wie geht's?"]
    async with conversation.db.transaction() as repo:
        [about] = (await repo.session.scalars(select(Answer))).all()
    assert (about.value, about.revision) == ("Ich bin Lea", 1)
    assert await conversation.due_timers() == ([], [])


@pytest.mark.storage
async def test_a_due_poll_timer_closes_the_poll_once(conv):
    conversation, clock = conv
    h = Harness(conversation, clock)
    await h.onboard()
    await h.do(Command("session", "Runder Tisch"))
    await h.do(Command("poll", "--timer 10 Kurz? | Ja | Nein"))
    clock.now += timedelta(seconds=11)
    _, [(poll_id, chats)] = await conversation.due_timers()
    assert chats == (42,)
    outcomes = await asyncio.gather(*(conversation.close_poll_due(poll_id) for _ in range(3)))
    assert sum(isinstance(r, SendPhoto) for o in outcomes for r in o.replies) == 1
    async with conversation.db.transaction() as repo:
        poll = await repo.session.get(Poll, poll_id)
        assert poll.status == "closed"
    assert await conversation.due_timers() == ([], [])


def test_the_token_filter_masks_messages_arguments_and_tracebacks(caplog):
    token = "123456:AAE-secret-part"
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "url %s", ("/bot" + token,), None)
    try:
        raise ValueError(f"https://api/bot{token}/getMe and 123456%3AAAE-secret-part")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert RedactToken(token).filter(record)
    formatted = logging.Formatter().format(record)
    assert "secret-part" not in formatted
    assert "url /bot<token>" in formatted and "bot<token>/getMe" in formatted
