"""Hostile input, end to end: forged button data, broken Unicode, words polls vs interviews."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from storage.models import Base, Vote
from tests.e2e.helpers import _query, act, answer_map, onboard, runs
from tests.e2e.test_polls import join, open_session

pytestmark = pytest.mark.e2e

ADMIN = 9000  # in BACKBONE_ADMIN_IDS (see conftest)
REFUSAL = "Dieser Button funktioniert nicht."
SURROGATE = re.compile("[\ud800-\udfff]")
# Button data that looks like ours but is not: digits int() would take or choke on, ids that
# overflow an INTEGER column, stray characters.
FORGED = [
    "v:¹:2",
    "v:٣:a",
    "r:12345678901234567890123:0:opt:a",
    "r:¹:1:opt:3",
    "g:99999999999999999999999",
    "g:¹",
    "f:reporter-interview\n",
    "c:2026-1:16\u0000",
    "x:yes ",
    "l:d\ud83de",
    "q:1",
]
# Forged staff buttons: they reach the id lookups only for staff.
FORGED_STAFF = [
    "k:99999999999999999999999",
    "n:²",
    "w:99999999999999999999999:ok",
    "w:1:g:99999999999999999999999",
    "w:1:d:¹",
]


def votes(url: str) -> list[Vote]:
    async def fn(session):
        return list((await session.scalars(select(Vote).order_by(Vote.id))).all())

    return _query(url, fn)


def broken_strings(url: str) -> list[str]:
    """Every stored string (in any table, inside JSON too) that holds a lone surrogate."""

    def walk(value, where: str, found: list[str]) -> None:
        if isinstance(value, str) and SURROGATE.search(value):
            found.append(where)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k, where, found)
                walk(v, f"{where}.{k}", found)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v, where, found)

    async def fn(session):
        found: list[str] = []
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    walk(value, f"{table.name}.{column}", found)
        return found

    return _query(url, fn)


def tap_refused(user, data: str) -> None:
    qid = user.press_data(data)
    answer = user.wait_callback_answer(qid)
    assert answer["text"] == REFUSAL, (data, answer)
    assert answer["show_alert"], data


def test_malformed_button_data_is_refused_and_changes_nothing(bot, fake_api, migrated_url):
    lea = fake_api.user(501, "Lea", "de")
    onboard(lea, expect="Wie würdest du dich")
    act(lea, lambda: lea.send("Ich bin neugierig"), "Wie gut weißt du")
    before = answer_map(migrated_url)
    for data in FORGED:
        tap_refused(lea, data)
    admin = fake_api.user(ADMIN, "Ada", "de")
    onboard(admin, payload="", expect="Was möchtest du")
    for data in FORGED_STAFF:
        tap_refused(admin, data)
    assert answer_map(migrated_url) == before
    assert votes(migrated_url) == []
    assert "Traceback" not in bot.log()
    # the person's next real answer still works
    act(lea, lambda: lea.press("4"), "Was hast du nach der Schule vor?")
    assert answer_map(migrated_url)["confidence"] == 4
    assert "Traceback" not in bot.log()
    assert "etwas schiefgelaufen" not in " ".join(lea.texts() + admin.texts())


def test_text_with_lone_surrogates_is_refused_and_the_run_goes_on(bot, fake_api, migrated_url):
    # A first name with a lone surrogate is cleaned: the greeting can still be sent.
    lea = fake_api.user(502, "Le\ud83da", "de")
    onboard(lea, expect="Wie würdest du dich")
    assert any("Hallo Le\ufffda!" in m.content for m in lea.messages())
    hint = act(lea, lambda: lea.send("Ich bin \ud83d neugierig"), "nicht lesen")
    assert "Wie würdest du dich" in hint.content  # the hint comes with the question
    act(lea, lambda: lea.send("/start reporter\udc00"), "nicht lesen")
    act(lea, lambda: lea.send("Ich bin neugierig"), "Wie gut weißt du")
    act(lea, lambda: lea.press("2"), "Was hast du nach der Schule vor?")
    stored = answer_map(migrated_url)
    assert stored["self_image"] == "Ich bin neugierig"
    assert stored["confidence"] == 2
    [run] = runs(migrated_url)
    assert run.status == "active"
    assert broken_strings(migrated_url) == []
    assert "Traceback" not in bot.log()


def test_an_open_words_poll_does_not_capture_interview_answers(bot, fake_api, migrated_url):
    admin, code = open_session(fake_api)
    lea = join(fake_api, 503, code)
    ben = join(fake_api, 504, code)  # no interview: plain text answers the poll
    act(lea, lambda: lea.send("/start reporter-interview"), "Wie würdest du dich")
    act(lea, lambda: lea.send("/pause"), "/resume")
    act(admin, lambda: admin.send("/poll --words Ein Wort für heute?"), "Ein Wort für heute?")
    ballot = lea.wait_for("Ein Wort für heute?")
    assert "antworte direkt auf diese Nachricht" in ballot.content  # how to answer the poll
    plain = ben.wait_for("Ein Wort für heute?")
    assert "Interview" not in plain.content
    act(lea, lambda: lea.send("/resume"), "Wie würdest du dich")
    act(lea, lambda: lea.send("tischler"), "Wie gut weißt du")
    assert answer_map(migrated_url) == {"self_image": "tischler"}
    assert votes(migrated_url) == []
    assert not any("Gespeichert: tischler" in text for text in lea.texts())
    # an explicit reply to the ballot is a word for the poll, and the interview stays put
    act(lea, lambda: lea.send("Teamgeist", reply_to=ballot.message_id), "Gespeichert: teamgeist")
    act(ben, lambda: ben.send("Aufbruch"), "Gespeichert: aufbruch")
    deadline = time.monotonic() + 10
    while len(votes(migrated_url)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(v.value for v in votes(migrated_url)) == [["aufbruch"], ["teamgeist"]]
    assert answer_map(migrated_url) == {"self_image": "tischler"}
    act(lea, lambda: lea.press("3"), "Was hast du nach der Schule vor?")
    assert answer_map(migrated_url) == {"self_image": "tischler", "confidence": 3}
    # a reply to the ballot of a closed poll is neither a word nor an interview answer
    act(admin, lambda: admin.send("/close"), lambda m: m.kind == "photo")
    act(lea, lambda: lea.send("Nachzügler", reply_to=ballot.message_id), "nicht gespeichert")
    assert len(votes(migrated_url)) == 2
    assert answer_map(migrated_url) == {"self_image": "tischler", "confidence": 3}
