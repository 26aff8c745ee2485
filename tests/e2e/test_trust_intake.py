"""Intake and timers a person can trust: an update the bot cannot read never stops it, timers
that came due while the bot was down run once after the restart, and the bot token never
reaches the log."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from flows import SHIPPED_DIR
from tests.e2e.conftest import TOKEN, BotProcess
from tests.e2e.helpers import act, answers, onboard, runs
from tests.e2e.test_polls import join, open_session, polls, votes

pytestmark = pytest.mark.e2e

# Someone the bot has never seen: nothing about them may reach the log.
STRANGER = {
    "id": 4711001,
    "is_bot": False,
    "first_name": "Zoraida",
    "last_name": "Quenneville",
    "username": "zoraida_q",
    "language_code": "de",
}
PRIVATE = ("Zoraida", "Quenneville", "zoraida_q", "4711001", "Lindenallee")

MERGE_FLOW = """
id: merge-test
title: Merge-Test
version: "1"
language: de
steps:
  - id: q1
    type: text
    text: Erste Frage?
  - id: q2
    type: text
    text: Zweite Frage?
  - id: q3
    type: text
    text: Dritte Frage?
  - id: q4
    type: text
    text: Vierte Frage?
  - id: bye
    type: message
    text: Danke!
"""
PROMPTS = ["Erste Frage?", "Zweite Frage?", "Dritte Frage?", "Vierte Frage?"]


def wait_until(condition, timeout: float = 15.0, what: str = "condition"):
    """Poll `condition` (a state the test waits for, not a time) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def sleep_past(moment: datetime, margin: float) -> None:
    """Sleep until `margin` seconds after `moment` (a due time read from the database)."""
    remaining = (moment - datetime.now(UTC)).total_seconds() + margin
    if remaining > 0:
        time.sleep(remaining)


def prompt_counts(user) -> Counter:
    return Counter(p for m in user.messages() for p in PROMPTS if p in m.content)


def test_an_unreadable_update_is_confirmed_skipped_and_never_stops_the_bot(bot, fake_api):
    # A poll answer as older self-hosted Bot API servers send it (no option_persistent_ids,
    # which python-telegram-bot requires), and two updates that are not updates at all.
    stale_vote = fake_api.inject_raw_update(
        {"poll_answer": {"poll_id": "5000000001", "user": STRANGER, "option_ids": [0]}}
    )
    no_chat = fake_api.inject_raw_update(
        {"message": {"message_id": 9, "from": STRANGER, "text": "Lindenallee 7, 2. Stock"}}
    )
    garbage = fake_api.inject_raw_update({"message": "Zoraida Quenneville"})
    bad = [stale_vote, no_chat, garbage]

    lea = fake_api.user(301, "Lea", "de")
    onboard(lea, expect="Wie würdest du dich")  # two round trips: every bad update is behind
    assert bot.proc.poll() is None, bot.log()
    assert all(fake_api.update_confirmed(uid) for uid in bad)
    first_log = bot.log()
    for uid in bad:
        assert f"update {uid} could not be read" in first_log
    for secret in PRIVATE:
        assert secret not in first_log

    # After a restart the confirmed updates are not fetched again.
    bot.kill()
    bot.start()
    act(lea, lambda: lea.send("Ich bin Lea"), "Wie gut weißt du")
    assert [fake_api.times_delivered(uid) for uid in bad] == [1, 1, 1]
    assert bot.proc.poll() is None
    for secret in PRIVATE:
        assert secret not in bot.log()


def test_the_bot_token_never_appears_in_the_log(fake_api, bot_env, tmp_path):
    bot_env["BACKBONE_LOG_LEVEL"] = "DEBUG"
    bot = BotProcess(fake_api, bot_env, tmp_path)
    bot.start()
    try:
        lea = fake_api.user(302, "Lea", "de")
        onboard(lea, expect="Wie würdest du dich")
        act(lea, lambda: lea.send("Ich bin Lea"), "Wie gut weißt du")
    finally:
        bot.stop()
    log = bot.log()
    secret = TOKEN.partition(":")[2]
    for form in (TOKEN, secret, TOKEN.replace(":", "%3A")):
        assert form not in log
    assert "DEBUG" in log and "getUpdates" in log  # the chatty level really was on
    assert "bot<token>" in log  # PTB and httpx log the URL; the token in it is masked


def test_merge_windows_that_ended_while_the_bot_was_down_settle_once(
    fake_api, bot_env, migrated_url, tmp_path
):
    flows_dir = tmp_path / "flows"
    shutil.copytree(SHIPPED_DIR, flows_dir)
    (flows_dir / "merge-test.yaml").write_text(MERGE_FLOW, encoding="utf-8")
    bot_env["BACKBONE_FLOWS_DIR"] = str(flows_dir)
    # Long enough that the bot is killed well inside the window.
    bot_env["BACKBONE_TEXT_MERGE_SECONDS"] = "4"
    bot = BotProcess(fake_api, bot_env, tmp_path)
    bot.start()
    text = "Ich heiße Lea"
    try:
        lea = fake_api.user(303, "Lea", "de")
        onboard(lea, payload="merge-test", expect="Erste Frage?")
        lea.send(text)
        for n in (1, 2, 3):
            # The answer to question n is stored and its window is still open: kill the bot.
            wait_until(
                lambda n=n: {a["step_id"] for a in answers(migrated_url)} >= {f"q{n}"},
                what=f"the answer to q{n}",
            )
            [run] = runs(migrated_url)
            assert run.collect_until is not None, "window already closed: kill came too late"
            bot.kill()
            # Nothing came back, so the person types it again; the window ends meanwhile.
            if n < 3:
                lea.send(text)
            sleep_past(run.collect_until, margin=2.0)
            mark = lea.last()
            bot.start()
            # The window is settled before the retyped text is read: it answers the next one.
            lea.wait_for(PROMPTS[n], since=mark, timeout=15)
    finally:
        # A clean stop lets anything in hand finish; then nothing may have come twice.
        bot.stop()
    assert prompt_counts(lea) == {p: 1 for p in PROMPTS}
    stored = answers(migrated_url)
    assert Counter(a["step_id"] for a in stored) == {"q1": 1, "q2": 1, "q3": 1}
    assert {a["step_id"]: a["value"] for a in stored} == {"q1": text, "q2": text, "q3": text}
    assert all(a["revision"] == 1 for a in stored)
    [run] = runs(migrated_url)
    assert run.collect_until is None and run.state["current"] == "q4"


def test_a_poll_timer_that_ran_out_while_the_bot_was_down_closes_the_poll_once(
    bot, fake_api, migrated_url
):
    admin, code = open_session(fake_api)
    anna = join(fake_api, 631, code)
    act(admin, lambda: admin.send("/poll --timer 10 Kurz? | Ja | Nein"), "Kurz?")
    anna.wait_for("Kurz?")
    anna.press("Ja")
    wait_until(lambda: len(votes(migrated_url)) == 1, what="the vote")
    bot.kill()
    [poll] = polls(migrated_url)
    assert poll.status == "open"
    sleep_past(poll.closes_at, margin=2.0)

    def final_pictures() -> int:
        return sum(1 for m in admin.messages() if m.kind == "photo" and "Kurz?" in m.content)

    bot.start()
    admin.wait_for(lambda m: m.kind == "photo" and "Kurz?" in m.content, timeout=15)
    # Restart twice more; a round trip each time shows the start-up sweep is done.
    for _ in range(2):
        act(admin, lambda: admin.send("/help"), "/mydata")
        bot.kill()
        bot.start()
    act(admin, lambda: admin.send("/help"), "/mydata")
    assert final_pictures() == 1
    [poll] = polls(migrated_url)
    assert poll.status == "closed" and poll.closed_at is not None
