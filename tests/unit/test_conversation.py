"""The interview use case, driven in-process with a real SQLite database and a fake clock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services.catalog import FlowCatalog
from bot.services.conversation import NOTICE_VERSION, Conversation
from bot.services.events import Command, Edited, Media, Tap, Text
from bot.services.replies import ClearButtons, EditText, Outcome, Person, Schedule, SendText
from flows.engine import OtherInput, PhotoInput
from storage.migrate import upgrade_async
from storage.models import Answer, Run
from storage.repo import Database

FLOW = """
id: mini
title: Mini
version: "1"
language: de
steps:
  - id: hello
    type: message
    text: Hallo {first_name}!
  - id: about
    type: text
    text: Wer bist du, {first_name}?
    max_length: 20
  - id: mood
    type: scale
    text: Wie geht's?
    min: 1
    max: 5
  - id: tags
    type: multiple_choice
    text: Was magst du?
    options:
      a: Alpha
      b: Beta
      c: Gamma
    max: 2
  - id: age
    type: number
    text: Alter?
    min: 10
    max: 30
  - id: pic
    type: photo
    text: Foto?
    optional: true
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Harness:
    """One simulated person talking to the use case."""

    def __init__(self, conv: Conversation, clock: Clock, user_id: int = 42, lang: str = "de"):
        self.conv = conv
        self.clock = clock
        self.person = Person(user_id, user_id, "Lea", None, lang)
        self.ids = itertools.count(1000 * user_id)
        self.prompt_id = itertools.count(1)
        self.sent: list[SendText] = []

    async def do(self, event, update_id: int | None = None) -> Outcome:
        out = await self.conv.handle(update_id or next(self.ids), self.person, event)
        await self._deliver(out)
        return out

    async def _deliver(self, out: Outcome) -> None:
        for reply in out.replies:
            if isinstance(reply, SendText):
                self.sent.append(reply)
                if reply.prompt_run_id:
                    prompt = (reply.prompt_run_id, next(self.prompt_id))
                    await self.conv.remember_messages([prompt])

    async def settle(self) -> None:
        self.clock.now += timedelta(seconds=5)
        for schedule in await self.conv.pending_settles():
            await self._deliver(await self.conv.settle_text(schedule.run_id))

    def last(self) -> SendText:
        return self.sent[-1]

    def button(self, label: str) -> str:
        for message in reversed(self.sent):
            for row in message.buttons or []:
                for text, data in row:
                    if label in text:
                        return data
        raise AssertionError(f"no button {label!r}")

    async def press(self, label: str) -> Outcome:
        return await self.do(Tap(self.button(label), 1))

    async def onboard(self) -> None:
        await self.do(Command("start", "mini"))
        await self.press("✅")


@pytest.fixture
async def env(tmp_path: Path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "mini.yaml").write_text(FLOW, encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await upgrade_async(url)
    db = Database(url)
    clock = Clock()
    conv = Conversation(db, FlowCatalog(tmp_path / "flows"), clock=clock, text_merge_seconds=3)
    yield conv, clock, db
    await db.dispose()


async def answers(db: Database) -> dict[str, object]:
    async with db.transaction() as repo:
        rows = (await repo.session.scalars(select(Answer))).all()
        return {a.step_id: a.value for a in rows}


async def test_onboarding_consent_and_deep_link_start(env):
    conv, clock, db = env
    h = Harness(conv, clock)
    await h.do(Command("start", "mini"))
    assert "Datenschutz" in h.last().text or "pseudonym" in h.last().text.lower()
    assert h.last().buttons[0][0][1] == f"c:{NOTICE_VERSION}:16"
    await h.press("✅")
    assert h.sent[-2].text == "Hallo Lea!"
    assert h.last().text == "Wer bist du, Lea?"


async def test_full_run_with_merge_back_and_change(env):
    conv, clock, db = env
    h = Harness(conv, clock)
    await h.onboard()
    out = await h.do(Text("Ich bin"))
    assert any(isinstance(r, Schedule) for r in out.replies)
    await h.do(Text("Lea"))
    await h.settle()
    assert (await answers(db))["about"] == "Ich bin\nLea"
    async with db.transaction() as repo:
        about = (await repo.session.scalars(select(Answer).where(Answer.step_id == "about"))).one()
        # the exact wording, with the name masked so answers carry no identity
        assert about.shown_text == "Wer bist du, {first_name}?"
    assert h.last().text.startswith("Wie geht's?")
    await h.press("4")
    # multiple choice: toggle two, done
    out = await h.press("Alpha")
    assert isinstance(out.replies[0], EditText) and "✅ Alpha" in str(out.replies[0].buttons)
    await h.press("Gamma")
    out = await h.press("✔")
    assert h.last().text == "Alter?"
    # back, change the selection
    await h.do(Command("back"))
    assert h.last().text.startswith("Was magst du?")
    await h.press("Alpha")  # untoggle
    await h.press("✔")
    await h.do(Text("17"))
    await h.press("Überspringen")
    stored = await answers(db)
    assert stored["mood"] == 4
    assert stored["tags"] == ["c"]
    assert stored["age"] == 17
    assert stored["pic"] is None
    async with db.transaction() as repo:
        run = (await repo.session.scalars(select(Run))).one()
        assert run.status == "complete"
        tags = await repo.answer(run.id, "tags")
        assert tags.revision == 2


async def test_invalid_inputs_get_hints_and_store_nothing(env):
    conv, clock, db = env
    h = Harness(conv, clock)
    await h.onboard()
    await h.do(Media(OtherInput("sticker")))
    assert "Wer bist du, Lea?" in h.last().text and h.last().text != "Wer bist du, Lea?"
    await h.do(Text("x" * 25))
    assert "25" in h.last().text
    assert await answers(db) == {}
    await h.do(Text("Lea"))
    await h.settle()
    await h.do(Text("sieben"))  # scale wants a button / number
    assert "Wie geht's?" in h.last().text
    await h.press("3")
    await h.press("✔")  # too few
    await h.press("Alpha")
    await h.press("Beta")
    await h.press("Gamma")  # third one: too many
    await h.press("✔")
    await h.do(Text("99"))
    assert "10" in h.last().text and "30" in h.last().text
    stored = await answers(db)
    assert set(stored) == {"about", "mood", "tags"}
    assert len(stored["tags"]) == 2


async def test_stale_button_and_forged_data(env):
    conv, clock, db = env
    h = Harness(conv, clock)
    await h.onboard()
    await h.do(Text("Lea"))
    await h.settle()
    old = h.button("4")
    await h.press("4")
    out = await h.do(Tap(old, 1))
    assert (
        out.callback_text
        and "earlier" in out.callback_text.lower()
        or "früher" in (out.callback_text or "")
    )
    assert h.last().text.startswith("Was magst du?") or "Was magst du?" in h.last().text
    out = await h.do(Tap("r:999:1:opt:1", 1))
    assert out.callback_text
    out = await h.do(Tap("garbage", 1))
    assert out.callback_alert
    assert (await answers(db))["mood"] == 4


async def test_duplicate_update_is_handled_once(env):
    conv, clock, db = env
    h = Harness(conv, clock)
    await h.onboard()
    await h.do(Text("Lea"))
    await h.settle()
    await h.do(Tap(h.button("2"), 1), update_id=77)
    out = await h.do(Tap(h.button("2"), 1), update_id=77)
    assert out.replies == []
    async with db.transaction() as repo:
        assert await repo.session.scalar(select(func.count(Answer.id))) == 2


async def test_pause_resume_cancel(env):
    conv, clock, db = env
    h = Harness(conv, clock)
    await h.onboard()
    await h.do(Command("pause"))
    await h.do(Text("hallo?"))
    assert h.last().text.endswith("Wer bist du, Lea?")
    assert await answers(db) == {}  # the wake-up message is not an answer
    await h.do(Text("Lea"))
    await h.do(Command("cancel"))  # settles the collected text first
    async with db.transaction() as repo:
        run = (await repo.session.scalars(select(Run))).one()
        assert run.status == "incomplete"
    assert (await answers(db)) == {"about": "Lea"}


async def test_language_switch_mid_run(env):
    conv, clock, db = env
    h = Harness(conv, clock)
    await h.onboard()
    await h.do(Command("language"))
    await h.press("English")
    assert h.last().text == "Wer bist du, Lea?"  # the flow has no English: source language
    await h.do(Command("help"))
    assert "/back" in h.last().text


async def test_edit_is_not_an_answer(env):
    conv, clock, db = env
    h = Harness(conv, clock)
    await h.onboard()
    await h.do(Edited())
    assert await answers(db) == {}


async def test_photo_is_stored_by_file_id(env):
    conv, clock, db = env
    h = Harness(conv, clock)
    await h.onboard()
    await h.do(Text("Lea"))
    await h.settle()
    await h.press("1")
    await h.press("Beta")
    await h.press("✔")
    await h.do(Text("20"))
    await h.do(Media(PhotoInput("FILE1", "UNIQ1", 640, 480)))
    pic = (await answers(db))["pic"]
    assert pic["file_id"] == "FILE1" and pic["path"] is None


async def test_two_people_do_not_mix(env):
    conv, clock, db = env
    a, b = Harness(conv, clock, 1), Harness(conv, clock, 2, "en")
    await a.onboard()
    await b.onboard()
    await a.do(Text("Anna"))
    await b.do(Text("Ben"))
    await a.settle()
    async with db.transaction() as repo:
        rows = (await repo.session.scalars(select(Answer).order_by(Answer.run_id))).all()
        assert [r.value for r in rows] == ["Anna", "Ben"]
    assert not any(isinstance(r, ClearButtons) for r in [])
