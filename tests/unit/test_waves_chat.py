"""In the chat: the next wave of a flow asks about the person's answer from the last one."""

from __future__ import annotations

from pathlib import Path

from bot.services.catalog import FlowCatalog
from bot.services.conversation import Conversation
from bot.services.events import Command, Text
from storage.migrate import upgrade_async
from storage.repo import Database
from tests.unit.test_conversation import Clock, Harness

WAVE = """
id: panel
title: Panel
version: "{version}"
language: en
steps:
  - id: follow_up
    type: text
    text: "Last time you wanted {{previous.plans}}. How is that going?"
    when: previous.plans != None
  - id: plans
    type: text
    text: "What do you plan next?"
"""


async def test_the_second_wave_quotes_the_first(tmp_path: Path):
    flows = tmp_path / "flows"
    flows.mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await upgrade_async(url)
    db = Database(url)
    clock = Clock()
    try:
        sent = []
        person = None
        for version, answer in (("1", "an apprenticeship"), ("2", "Going well.")):
            (flows / "panel.yaml").write_text(WAVE.format(version=version), encoding="utf-8")
            conv = Conversation(db, FlowCatalog(flows), clock=clock, text_merge_seconds=0)
            if person is None:
                person = Harness(conv, clock, lang="en")
                await person.do(Command("start", "panel"))
                await person.press("✅")
            else:  # half a year later: the same person, a new version of the flow
                person.conv = conv
                await person.do(Command("start", "panel"))
            sent.append(person.last().text)
            await person.do(Text(answer))
        assert sent[0] == "What do you plan next?"  # no previous wave: no follow-up
        assert sent[1] == "Last time you wanted an apprenticeship. How is that going?"
    finally:
        await db.dispose()
