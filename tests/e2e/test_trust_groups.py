"""A flooded group is flood-guarded and paced within Telegram's 20 messages per minute per
group, while private chats carry on at once — through the real bot process."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import ProcessedUpdate
from tests.e2e.conftest import BotProcess
from tests.e2e.helpers import _query, act, answer_map, onboard
from tests.e2e.test_trust import add_bot_to_group

pytestmark = pytest.mark.e2e

ADMIN = 9000  # in BACKBONE_ADMIN_IDS (see conftest)
GROUP = -100481
LEA = 481
FLOOD_LIMIT = 40
HINT = "Please use staff commands in a private chat"
NOTICE = "A lot of messages are arriving here very fast"


def processed(url: str) -> set[int]:
    """Update ids the bot recorded as handled."""
    return set(_query(url, lambda s: s.scalars(select(ProcessedUpdate.update_id))).all())


def sends_to(calls, chat_id: int) -> list[int]:
    """Positions in the recorded call order of the messages sent to `chat_id`."""
    return [
        i
        for i, c in enumerate(calls)
        if c.method.startswith("send") and c.params.get("chat_id") == chat_id
    ]


def test_a_flooded_staff_group_never_holds_up_a_private_interview(
    fake_api, bot_env, migrated_url, tmp_path
):
    # A long window and pause: which updates pass the guard does not depend on timing.
    bot_env.update(
        BACKBONE_FLOOD_LIMIT=str(FLOOD_LIMIT),
        BACKBONE_FLOOD_WINDOW="600",
        BACKBONE_FLOOD_PAUSE="600",
    )
    bot = BotProcess(fake_api, bot_env, tmp_path)
    bot.start()
    try:
        lea = fake_api.user(LEA, "Lea", "de")
        onboard(lea, expect="Wie würdest du dich")
        admin = fake_api.user(ADMIN, "Ada", "en")
        group = fake_api.group(GROUP, "Steering circle")
        group.add(admin)
        add_bot_to_group(fake_api, group, admin)
        group.wait_for("Staff added me")
        # From now on a send beyond Telegram's limits is a 429 the test sees.
        fake_api.set_rate_limits(group_per_minute=20, global_per_second=30)
        mark = group.last()
        flood = [group.send(admin, f"/help {i}") for i in range(200)]
        # Lea answers after all 200 commands were sent: her reply must not wait for them.
        act(lea, lambda: lea.send("Ich bin neugierig"), "Wie gut weißt du", timeout=30)
        group.wait_for(NOTICE, since=mark, timeout=120)
        fake_api.wait_idle(timeout=15, quiet=1.0)
    finally:
        bot.stop()

    calls = fake_api.calls
    to_group = sends_to(calls, GROUP)
    lea_step = next(
        i
        for i in sends_to(calls, LEA)
        if "Wie gut weißt du" in str(calls[i].params.get("text", ""))
    )
    # More than a minute's budget was queued for the group, and Lea was answered before the
    # group's 21st message (the first that had to wait for the next minute), not after.
    assert len(to_group) > 20
    assert lea_step < to_group[20]

    # Telegram's 20 per minute per group: never exceeded, and no 429 was ever drawn.
    times = fake_api.send_times(GROUP)
    assert all(times[i + 20] - times[i] >= 60 for i in range(len(times) - 20))
    assert [f for f in fake_api.faults if f.code == 429] == []

    # Far fewer than 200 replies: 40 pass the flood guard, hints beyond a short queue are
    # dropped (and logged), and the group gets exactly one notice, after everything else.
    texts = [m.content for m in group.messages()]
    hints = [t for t in texts if HINT in t]
    assert texts[0].startswith("Hello! Staff added me")
    assert texts[-1].startswith(NOTICE)
    assert sum("a lot of messages" in t.lower() for t in texts) == 1
    assert 20 <= len(hints) < FLOOD_LIMIT
    assert len(texts) == 1 + len(hints) + 1
    assert "hint was dropped" in bot.log()

    # Nothing is recorded for dropped updates; the first 40 were handled once each.
    handled = processed(migrated_url)
    assert set(flood[:FLOOD_LIMIT]) <= handled
    assert not set(flood[FLOOD_LIMIT:]) & handled
    assert answer_map(migrated_url) == {"self_image": "Ich bin neugierig"}
