"""Authority in-process: whose commands these are, links checked when used, /revoke voiding
links, /agecheck corrections and the age gate (real SQLite database, fake clock)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot, Update

from bot.services.catalog import FlowCatalog
from bot.services.conversation import NOTICE_VERSION, Conversation
from bot.services.events import Command, GroupMessage, Tap, Text
from bot.telegram.convert import parse_command, to_event, to_group_event
from storage.migrate import upgrade_async
from storage.models import AuditEntry, Consent, Invite, Participant, Run
from storage.repo import Database
from tests.unit.test_conversation import FLOW, Clock, Harness

BOT_ID = 999_000_002
BOT = Bot(f"{BOT_ID}:x")
ADMIN = 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/close", ("close", "")),
        ("/close@OurBot", ("close", "")),
        ("/Close@ourbot now", ("close", "now")),
        ("/close@some_other_bot", None),
        ("/start@other_bot reporter-interview", None),
        ("/help@", ("help", "")),
    ],
)
def test_commands_for_other_bots_are_not_ours(text, expected):
    assert parse_command(text, "OurBot") == expected


def _update(chat: dict, text: str) -> Update:
    user = {"id": 5, "is_bot": False, "first_name": "Sam", "language_code": "en"}
    message = {"message_id": 1, "date": 0, "chat": chat, "from": user, "text": text}
    return Update.de_json({"update_id": 1, "message": message}, BOT)


def test_adapter_drops_commands_for_other_bots_in_private_and_groups():
    private = {"id": 5, "type": "private", "first_name": "Sam"}
    group = {"id": -100, "type": "group", "title": "G"}
    assert to_event(_update(private, "/help@some_other_bot"), "OurBot") is None
    assert to_event(_update(private, "/help@ourbot"), "OurBot")[1] == Command("help", "")
    assert to_event(_update(private, "hello @some_other_bot"), "OurBot")[1] == Text(
        "hello @some_other_bot"
    )
    assert to_group_event(_update(group, "/close@some_other_bot"), BOT_ID, "OurBot") is None
    _, event = to_group_event(_update(group, "/close@OURBOT"), BOT_ID, "OurBot")
    assert event == GroupMessage(-100, "close", "")


@pytest.fixture
async def env(tmp_path: Path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "mini.yaml").write_text(FLOW, encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await upgrade_async(url)
    db = Database(url)
    clock = Clock()
    conv = Conversation(
        db,
        FlowCatalog(tmp_path / "flows"),
        clock=clock,
        text_merge_seconds=0,
        admin_ids=frozenset({ADMIN}),
    )
    yield conv, clock, db
    await db.dispose()


async def _all(db: Database, model) -> list:
    async with db.transaction() as repo:
        return list((await repo.session.scalars(select(model))).all())


async def _person(db: Database, pseudonym: str) -> Participant:
    async with db.transaction() as repo:
        return await repo.participant_by_pseudonym(pseudonym)


async def _code(h: Harness) -> str:
    await h.do(Command("whoami"))
    return re.search(r"P-[0-9A-Z]{6}", h.last().text).group(0)


async def test_under_16_then_16_plus_is_refused_and_audited(env):
    conv, clock, db = env
    kid = Harness(conv, clock, user_id=11)
    await kid.do(Command("start", "mini"))
    sixteen = kid.button("✅")
    await kid.press("unter 16")
    out = await kid.do(Tap(sixteen, 1))
    assert "Eltern" in kid.last().text and out.callback_text is None
    assert await _all(db, Consent) == [] and await _all(db, Run) == []
    (entry,) = [e for e in await _all(db, AuditEntry) if e.action == "age_gate_refused"]
    assert entry.details == {"notice_version": NOTICE_VERSION}
    # a new notice version does not offer a way round either
    conv.notice_version = "2099-1"
    await kid.do(Command("start"))
    assert "Eltern" in kid.last().text and kid.last().buttons is None


async def test_agecheck_corrects_both_ways_admins_only(env):
    conv, clock, db = env
    admin = Harness(conv, clock, user_id=ADMIN, lang="en")
    await admin.onboard()
    kid = Harness(conv, clock, user_id=12)
    await kid.onboard()  # said 16+, runs the interview
    code = await _code(kid)

    await kid.do(Command("agecheck", f"{code} under16"))
    assert "nur für das Backbone-Team" in kid.last().text
    await admin.do(Command("agecheck", f"{code} 15"))
    assert "Usage: /agecheck" in admin.last().text

    await admin.do(Command("agecheck", f"{code} under16"))
    assert "under 16" in admin.last().text
    person = await _person(db, code)
    assert (person.age_band, person.stage) == ("under16", "minor")
    consents = [c for c in await _all(db, Consent) if c.participant_id == person.id]
    assert [c.withdrawn_at is not None for c in consents] == [True]
    assert [r.status for r in await _all(db, Run) if r.participant_id == person.id] == [
        "incomplete"
    ]
    await kid.do(Text("weiter"))
    assert "Eltern" in kid.last().text

    await admin.do(Command("agecheck", f"{code} 16plus"))
    person = await _person(db, code)
    assert (person.age_band, person.stage) == ("16plus", "consent")
    await kid.do(Command("start", "mini"))
    await kid.press("✅")
    assert kid.last().text == "Wer bist du, Lea?"
    corrections = [e for e in await _all(db, AuditEntry) if e.action == "age_band_corrected"]
    assert [e.details["age_band"] for e in corrections] == ["under16", "16plus"]
    assert corrections[0].details["consents_withdrawn"] == 1


async def test_revoke_voids_open_role_links_at_once(env):
    conv, clock, db = env
    admin = Harness(conv, clock, user_id=ADMIN, lang="en")
    await admin.onboard()
    bob = Harness(conv, clock, user_id=13, lang="en")
    await bob.onboard()
    await admin.do(Command("grant", "admin"))
    await bob.do(Command("start", admin.last().text.split("?start=")[1]))
    await bob.do(Command("grant", "facilitator"))
    link = bob.last().text.split("?start=")[1]
    await bob.do(Command("grant", "admin"))
    bob_code = await _code(bob)

    # same instant as the revoke (frozen clock): voided all the same
    await admin.do(Command("revoke", bob_code))
    assert "2 open role links they made no longer work" in admin.last().text
    voided = [i for i in await _all(db, Invite) if i.created_by == bob_code]
    assert len(voided) == 2 and all(i.expires_at <= clock.now for i in voided)
    carl = Harness(conv, clock, user_id=14, lang="en")
    await carl.do(Command("start", link))
    assert "no longer an admin" in carl.sent[0].text
    assert (await _person(db, await _code(carl))).role == "participant"


async def test_parental_consent_rests_on_an_admin_who_still_is_one(env):
    conv, clock, db = env
    admin = Harness(conv, clock, user_id=ADMIN, lang="en")
    await admin.onboard()
    bob = Harness(conv, clock, user_id=15, lang="en")
    await bob.onboard()
    await admin.do(Command("grant", "admin"))
    await bob.do(Command("start", admin.last().text.split("?start=")[1]))
    await bob.do(Command("invite", "school-c-7a --parental-consent-on-file"))
    bobs_link = re.search(r"\?start=(\S+)", bob.last().text).group(1)
    kid = Harness(conv, clock, user_id=16)
    await kid.do(Command("start", bobs_link))  # joined while Bob was an admin
    await admin.do(Command("revoke", await _code(bob)))

    await kid.press("unter 16")
    assert "Eltern" in kid.last().text
    assert not [c for c in await _all(db, Consent) if c.given_by == "parent"]
    # another admin confirms it again with a new link for the same group
    await admin.do(Command("invite", "school-c-7a --parental-consent-on-file"))
    await kid.do(Command("start", re.search(r"\?start=(\S+)", admin.last().text).group(1)))
    assert any("Deine Schule hat die Einwilligung deiner Eltern" in m.text for m in kid.sent[-3:])
    (consent,) = [c for c in await _all(db, Consent) if c.given_by == "parent"]
    assert consent.confirmed_by == await _code(admin)
