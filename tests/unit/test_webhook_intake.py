"""The webhook intake on its own: the answer waits for the handler, lanes keep a chat's order,
unreadable updates are skipped with 200, nothing new is taken while stopping."""

from __future__ import annotations

import asyncio
import json

import pytest
from telegram import Bot

from bot.telegram.polling import ChatLanes
from bot.telegram.webhook import WebhookIntake, new_secret

SECRET = "s3cret_-token"


def message(update_id: int, chat: int, text: str = "hi") -> bytes:
    person = {"id": chat, "is_bot": False, "first_name": "Lea"}
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_700_000_000,
                "chat": {"id": chat, "type": "private", "first_name": "Lea"},
                "from": person,
                "text": text,
            },
        }
    ).encode()


def intake(handle, **kw) -> WebhookIntake:
    bot = Bot("123456:TEST-token")
    return WebhookIntake(bot, "https://bot.example.org/t/x", SECRET, handle, ChatLanes(), **kw)


def test_the_secret_is_compared_exactly():
    hook = intake(None)
    assert hook.path == "/t/x"
    assert hook.secret_ok(SECRET)
    for wrong in (None, "", SECRET[:-1], SECRET + "x", SECRET.upper(), "ä" + SECRET):
        assert not hook.secret_ok(wrong)
    made = {new_secret() for _ in range(20)}
    assert len(made) == 20
    assert all(1 <= len(s) <= 256 and s.replace("-", "").replace("_", "").isalnum() for s in made)


async def test_the_answer_comes_only_after_the_handler_finished():
    gate, done = asyncio.Event(), []

    async def handle(update):
        await gate.wait()
        done.append(update.update_id)

    hook = intake(handle)
    answer = asyncio.create_task(hook.receive(message(1, 10)))
    await asyncio.sleep(0.05)
    assert not answer.done()  # Telegram still waits: a crash now means a redelivery
    gate.set()
    assert await answer == 200
    assert done == [1]


async def test_one_chat_in_order_chats_in_parallel_and_a_dropped_request_still_finishes():
    seen: list[tuple[str, int]] = []

    async def handle(update):
        seen.append(("start", update.update_id))
        await asyncio.sleep(0.05 if update.update_id == 1 else 0.01)
        seen.append(("end", update.update_id))

    hook = intake(handle)
    first = asyncio.create_task(hook.receive(message(1, 10)))
    await asyncio.sleep(0)
    second = asyncio.create_task(hook.receive(message(2, 10)))
    other = asyncio.create_task(hook.receive(message(3, 20)))
    await asyncio.sleep(0.02)
    first.cancel()  # the connection dropped: the handling goes on (shielded)
    assert await asyncio.gather(second, other) == [200, 200]
    assert seen.index(("end", 1)) < seen.index(("start", 2))  # chat 10 in order
    assert seen.index(("start", 3)) < seen.index(("end", 1))  # chat 20 did not wait
    assert ("end", 1) in seen


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"message": {"text": "no id"}}', 200),  # nothing to confirm by: skipped
        (b'{"update_id": 7, "message": "Zoraida"}', 200),  # unreadable: skipped
    ],
)
async def test_bodies_that_are_no_update_are_never_handled(body, status):
    handled = []

    async def handle(update):
        handled.append(update)

    assert await intake(handle).receive(body) == status
    assert handled == []


async def test_while_stopping_new_updates_get_503_and_those_in_hand_finish():
    gate, done = asyncio.Event(), []

    async def handle(update):
        await gate.wait()
        done.append(update.update_id)

    hook = intake(handle)
    stop = asyncio.Event()
    running = asyncio.create_task(hook.run(stop))
    in_hand = asyncio.create_task(hook.receive(message(1, 10)))
    await asyncio.sleep(0.01)
    stop.set()
    await asyncio.sleep(0.01)
    assert await hook.receive(message(2, 20)) == 503  # Telegram delivers it after the restart
    assert not running.done()  # waits for the one in hand
    gate.set()
    assert await in_hand == 200
    await asyncio.wait_for(running, 5)
    assert done == [1]


async def test_a_failing_handler_is_logged_and_answered(caplog):
    async def handle(update):
        raise RuntimeError("boom")

    assert await intake(handle).receive(message(1, 10)) == 200
    assert "update 1: handler failed" in caplog.text
