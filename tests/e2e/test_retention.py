"""Retention inside `backbone run`: the bot itself deletes the identity link and voice notes
of runs finished longer ago than the flow's retain_identity_months, and audits it."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from storage.models import AuditEntry, Identity, Run, utcnow
from storage.retention import REMOVED
from tests.e2e.conftest import BotProcess
from tests.e2e.helpers import _query, act, answer_map, onboard

pytestmark = pytest.mark.e2e

FLOW = """\
id: retained
title: Kurz
version: "2026-1"
language: de
retain_identity_months: 1
steps:
  - id: story
    type: voice
    text: Erzähl uns was per Sprachnachricht.
  - id: plans
    type: text
    text: Und was hast du vor?
  - id: bye
    type: message
    text: Danke dir!
"""


def _linked(url: str) -> set[int]:
    return _query(url, lambda s: _all(s, select(Identity.participant_id)))


async def _all(session, stmt):
    return set((await session.scalars(stmt)).all())


async def _age(session, days: int) -> None:
    await session.execute(update(Run).values(finished_at=utcnow() - timedelta(days=days)))


def _entries(url: str) -> list[AuditEntry]:
    async def fn(session):
        stmt = select(AuditEntry).where(AuditEntry.action == "retention")
        return list((await session.scalars(stmt)).all())

    return _query(url, fn)


def test_the_running_bot_applies_the_flows_retention_period(
    fake_api, bot_env, migrated_url, tmp_path: Path
):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "retained.yaml").write_text(FLOW, encoding="utf-8")
    bot_env["BACKBONE_FLOWS_DIR"] = str(flows)
    media = Path(bot_env["BACKBONE_MEDIA_DIR"])
    bot = BotProcess(fake_api, bot_env, tmp_path)
    bot.start()
    try:
        lea = fake_api.user(4401, "Lea", "de")
        onboard(lea, "retained", expect="Sprachnachricht")
        act(lea, lambda: lea.send_voice(duration=3, data=b"OggS-voice"), "was hast du vor")
        act(lea, lambda: lea.send("Eine Ausbildung"), "Danke dir!")
        stored = answer_map(migrated_url)
        voice = media / stored["story"]["path"]
        assert voice.read_bytes() == b"OggS-voice"
        # Finished just now: within the period, the sweep at start keeps everything.
        assert len(_linked(migrated_url)) == 1
    finally:
        bot.stop()
    assert "retention" not in bot.log()
    # Twenty days later: still within one month.
    _query(migrated_url, lambda s: _age(s, 20))
    bot.start()
    time.sleep(3)
    bot.stop()
    assert len(_linked(migrated_url)) == 1 and voice.exists()
    assert _entries(migrated_url) == []
    # Two months later the bot's own sweep (at start, then daily) removes link and media.
    _query(migrated_url, lambda s: _age(s, 62))
    bot.start()
    try:
        deadline = time.monotonic() + 15
        while _linked(migrated_url) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _linked(migrated_url) == set()
        assert not voice.exists()
        assert answer_map(migrated_url)["story"] == REMOVED
        assert answer_map(migrated_url)["plans"] == "Eine Ausbildung"  # answers stay
        [entry] = _entries(migrated_url)
        assert entry.actor == "retention"
        assert entry.details["flow"] == "retained" and entry.details["identity_links"] == 1
        assert entry.details["media_files_deleted"] == 1
        # Lea is a stranger to the bot now: /start greets her as someone new.
        act(lea, lambda: lea.send("/start"), "/privacy")
    finally:
        bot.stop()
    assert "Traceback" not in bot.log()
