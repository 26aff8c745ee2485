"""The pipeline under load: a tap or an answer never waits for bulk traffic; a crash in the
middle of a burst from many chats loses no update and handles none twice."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from bench.campaigns import ADMIN, FIRST_PERSON, seed
from storage.models import Consent, Identity, ProcessedUpdate
from tests.e2e.conftest import BotProcess
from tests.e2e.helpers import _query, act, onboard

pytestmark = pytest.mark.e2e

CAMPAIGN_SIZE = 1000


def _sends_to_campaign(fake_api) -> list[float]:
    return [
        c.time for c in fake_api.calls_of("sendMessage") if int(c.params["chat_id"]) >= FIRST_PERSON
    ]


def _call_time(fake_api, method: str, predicate) -> float:
    found = [c.time for c in fake_api.calls_of(method) if predicate(c.params)]
    assert found, f"no {method} call matched"
    return found[0]


def test_taps_and_answers_go_before_a_campaign_that_is_going_out(
    fake_api, bot_env, migrated_url, tmp_path
):
    asyncio.run(seed(migrated_url, CAMPAIGN_SIZE))
    for i in range(CAMPAIGN_SIZE):
        fake_api.started_user(FIRST_PERSON + i, f"P{i}", "en")
    fake_api.started_user(ADMIN, "Admin", "de")  # gets the campaign's progress message
    bot_env["BACKBONE_SEND_RATE"] = "25"  # 1,000 invitations take 40 s
    bot = BotProcess(fake_api, bot_env, tmp_path)
    bot.start()
    try:
        deadline = time.monotonic() + 30
        while len(_sends_to_campaign(fake_api)) < 50:
            assert time.monotonic() < deadline, "the campaign did not start"
            time.sleep(0.1)
        lea = fake_api.user(501, "Lea", "de")
        onboard(lea, expect="Wie würdest du dich")  # during the campaign
        act(lea, lambda: lea.send("Ich bin neugierig."), "Wie gut weißt du")
        query_id = lea.press("4")
        lea.wait_for("Was hast du nach der Schule vor?", timeout=30)
        acked = _call_time(
            fake_api, "answerCallbackQuery", lambda p: p["callback_query_id"] == query_id
        )
        replied = _call_time(
            fake_api,
            "sendMessage",
            lambda p: int(p["chat_id"]) == 501 and "Was hast du" in p.get("text", ""),
        )
        # The campaign goes on; Lea's tap and her next question did not wait for it.
        deadline = time.monotonic() + 120
        while len(_sends_to_campaign(fake_api)) < CAMPAIGN_SIZE:
            assert time.monotonic() < deadline, "the campaign did not finish"
            time.sleep(0.5)
        sends = sorted(_sends_to_campaign(fake_api))
        assert len(sends) == CAMPAIGN_SIZE  # and nobody got it twice
        later = [t for t in sends if t > max(acked, replied)]
        assert len(later) > CAMPAIGN_SIZE / 2, "Lea waited for most of the campaign"
    finally:
        bot.stop()


def _counts(url: str):
    async def fn(session):
        identities = Counter((await session.scalars(select(Identity.telegram_user_id))).all())
        consents = await session.execute(
            select(Identity.telegram_user_id, func.count(Consent.id))
            .join(Consent, Consent.participant_id == Identity.participant_id)
            .group_by(Identity.telegram_user_id)
        )
        claimed = set((await session.scalars(select(ProcessedUpdate.update_id))).all())
        return identities, dict(consents.all()), claimed

    return _query(url, fn)


def test_sigkill_in_a_burst_from_many_chats_loses_nothing_and_doubles_nothing(
    bot, fake_api, migrated_url
):
    people = [fake_api.user(700 + i, f"P{i}", "en") for i in range(40)]
    starts = [p.send("/start") for p in people]  # 40 chats at once
    time.sleep(0.4)
    bot.kill()  # some handled, some in flight, some not fetched yet
    bot.start()
    fake_api.wait_idle(timeout=60, quiet=1.0)
    for p in people:
        # A reply queued when the plug was pulled is gone (its update was committed and is
        # not handled again): the person asks again, as anyone would.
        if not any("/privacy" in m.content for m in p.messages()):
            p.send("/start")
        p.wait_for("/privacy", timeout=60)
    fake_api.wait_idle(timeout=60, quiet=1.0)
    queries = [p.press("✅") for p in people]  # the second burst: 40 consents
    taps = [fake_api.callback_queries[q].update_id for q in queries]
    time.sleep(0.3)
    bot.kill()
    bot.start()
    fake_api.wait_idle(timeout=60, quiet=2.0)
    identities, consents, claimed = _counts(migrated_url)
    ids = [p.id for p in people]
    assert {uid: identities[uid] for uid in ids} == dict.fromkeys(ids, 1)
    assert {uid: consents.get(uid) for uid in ids} == dict.fromkeys(ids, 1)
    # none lost: every update was handled (claimed) and confirmed to Telegram
    every = [*starts, *taps]
    assert set(every) <= claimed
    deadline = time.monotonic() + 30
    while not all(fake_api.update_confirmed(u) for u in every):
        assert time.monotonic() < deadline, "updates were never confirmed"
        time.sleep(0.2)


def test_a_fragment_shows_typing_and_a_finished_answer_needs_no_full_window(
    fake_api, bot_env, tmp_path
):
    bot_env["BACKBONE_TEXT_MERGE_SECONDS"] = "4"
    bot = BotProcess(fake_api, bot_env, tmp_path)
    bot.start()
    try:
        lea = fake_api.user(601, "Lea", "de")
        onboard(lea, expect="Wie würdest du dich")
        sent = time.monotonic()
        act(lea, lambda: lea.send("Ich bin neugierig und mag Musik."), "Wie gut weißt du")
        finished = time.monotonic() - sent
        # The next question follows within a second: no "typing…" for that.
        assert not any(action == "typing" for _, action in fake_api.chat_actions(601))
        assert finished < 4  # a third of the window, not all of it
        act(lea, lambda: lea.press("4"), "Was hast du nach der Schule vor?")
        act(lea, lambda: lea.press("Ausbildung"), "Welche Ausbildung")
        sent = time.monotonic()
        act(lea, lambda: lea.send("Tischlerin"), "Nebenjob")  # a fragment: the full window
        assert time.monotonic() - sent >= 4
        # …during which the bot shows it is waiting for more.
        assert any(action == "typing" for _, action in fake_api.chat_actions(601))
    finally:
        bot.stop()
