"""Crashes, restarts and changed flow files: nothing lost, nothing doubled."""

from __future__ import annotations

import shutil
import time
from collections import Counter

import pytest

from flows import SHIPPED_DIR
from tests.e2e.helpers import act, answer_map, answers, answers_by_run, onboard, runs

pytestmark = pytest.mark.e2e


def test_sigkill_in_the_middle_of_an_interview(bot, fake_api, migrated_url):
    lea = fake_api.user(201, "Lea", "de")
    onboard(lea, expect="Wie würdest du dich")

    # 1. Killed while a free-text answer is still collecting more messages: the answer is
    #    committed, and the merge-window timer is rebuilt from the database after restart.
    lea.send("Ich bin Lea")
    time.sleep(0.3)
    bot.kill()
    bot.start()
    lea.wait_for("Wie gut weißt du", timeout=15)

    # 2. Killed with a tap in flight: Telegram delivers the update again (the bot had not
    #    confirmed it) or the bot had already stored it; either way it is stored once.
    lea.press("4")
    bot.kill()
    bot.start()
    act(lea, lambda: lea.send("/resume"), "Was hast du nach der Schule vor?")

    # 3. Killed right after a choice; the person carries on where they were.
    act(lea, lambda: lea.press("Studium"), "Nebenjob")
    bot.kill()
    bot.start()
    act(lea, lambda: lea.press("Nein"), "Unterstützung")

    rows = answers(migrated_url)
    assert Counter(r["step_id"] for r in rows) == {
        "self_image": 1,
        "confidence": 1,
        "plan": 1,
        "has_job": 1,
    }
    assert answer_map(migrated_url) == {
        "self_image": "Ich bin Lea",
        "confidence": 4,
        "plan": "study",
        "has_job": "no",
    }
    assert all(r["revision"] == 1 for r in rows)
    assert len(runs(migrated_url)) == 1


def test_a_changed_flow_file_does_not_break_runs_in_progress(
    fake_api, bot_env, migrated_url, tmp_path
):
    from tests.e2e.conftest import BotProcess

    flows_dir = tmp_path / "flows"
    shutil.copytree(SHIPPED_DIR, flows_dir)
    bot_env["BACKBONE_FLOWS_DIR"] = str(flows_dir)
    bot = BotProcess(fake_api, bot_env, tmp_path)
    bot.start()
    try:
        old = fake_api.user(202, "Olga", "de")
        onboard(old, expect="Wie würdest du dich")
        act(old, lambda: old.send("Olga"), "Wie gut weißt du")

        # staff edit the flow: new wording, and the follow-up for "unsure" is gone
        path = flows_dir / "reporter-interview.yaml"
        text = path.read_text(encoding="utf-8")
        text = text.replace(
            "Wie gut weißt du gerade, was du nach der Schule machen willst?",
            "Wie sicher bist du bei deinen Plänen?",
        )
        start = text.index("  - id: plan_unsure\n")
        text = text[:start] + text[text.index("  - id: has_job\n") :]
        path.write_text(text, encoding="utf-8")
        time.sleep(2.5)  # the bot re-reads flow files at most every 2 seconds

        # the person in the middle continues on the version they started with
        act(old, lambda: old.press("2"), "Was hast du nach der Schule vor?")
        act(old, lambda: old.press("Weiß noch nicht"), "Was würde dir helfen")

        # a newcomer gets the new version
        new = fake_api.user(203, "Nina", "de")
        onboard(new, expect="Wie würdest du dich")
        act(new, lambda: new.send("Nina"), "Wie sicher bist du bei deinen Plänen?")
        act(new, lambda: new.press("5"), "Was hast du nach der Schule vor?")
        act(new, lambda: new.press("Weiß noch nicht"), "Nebenjob")
    finally:
        bot.stop()

    first, second = runs(migrated_url)
    assert first.flow_version_id != second.flow_version_id
    shown = {(a["run_id"], a["step_id"]): a["shown_text"] for a in answers(migrated_url)}
    assert shown[(first.id, "confidence")].startswith("Wie gut weißt du")
    assert shown[(second.id, "confidence")].startswith("Wie sicher bist du")
    assert (first.id, "plan_unsure") not in shown  # asked, not yet answered
    assert answers_by_run(migrated_url)[second.id]["plan"] == "unsure"
