"""Live polls in a round-table session, end to end."""

from __future__ import annotations

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from storage.models import Poll, Vote
from tests.e2e.helpers import _query, act, onboard

pytestmark = pytest.mark.e2e

ADMIN = 9000


def votes(url: str) -> list[Vote]:
    async def fn(session):
        return list((await session.scalars(select(Vote).order_by(Vote.id))).all())

    return _query(url, fn)


def polls(url: str) -> list[Poll]:
    async def fn(session):
        return list((await session.scalars(select(Poll).order_by(Poll.id))).all())

    return _query(url, fn)


def open_session(fake_api, title="Runder Tisch"):
    admin = fake_api.user(ADMIN, "Ada", "de")
    onboard(admin, payload="", expect="Was möchtest du")
    message = act(admin, lambda: admin.send(f"/session {title}"), "?start=")
    code = re.search(r"start=S([A-Z0-9]+)", message.content).group(1)
    admin.wait_for(lambda m: m.kind == "photo")
    return admin, code


def join(fake_api, user_id, code, via="link"):
    person = fake_api.user(user_id, f"P{user_id}", "de")
    action = (
        (lambda: person.send(f"/start S{code}"))
        if via == "link"
        else (lambda: person.send(code.lower()))
    )
    act(person, action, "/privacy")
    # Then one message: the open poll's ballot, or the line naming the session.
    act(person, lambda: person.press("✅"), lambda m: "Runder Tisch" in m.content or is_ballot(m))
    return person


def is_ballot(message) -> bool:
    """A ballot: the poll mark and the question first."""
    return message.content.startswith("🗳")


def test_session_poll_vote_live_results_and_close(bot, fake_api, migrated_url):
    admin, code = open_session(fake_api)
    anna = join(fake_api, 601, code)
    ben = join(fake_api, 602, code, via="typed")
    act(
        admin,
        lambda: admin.send("/poll Was zuerst? | Praktika | Bewerbungen | Mentoring"),
        "Was zuerst?",
    )
    anna.wait_for("Was zuerst?")
    ben.wait_for("Was zuerst?")
    qid = anna.press("Praktika")
    assert "Praktika" in anna.wait_callback_answer(qid)["text"]
    qid = ben.press("Mentoring")
    ben.wait_callback_answer(qid)
    qid = ben.press("Praktika")  # changes the vote
    assert "Praktika" in ben.wait_callback_answer(qid)["text"]
    admin.wait_for("2 abgestimmt", timeout=10)
    # a late joiner gets the open poll at once
    cem = join(fake_api, 603, code)
    cem.wait_for("Was zuerst?")
    act(admin, lambda: admin.send("/close"), lambda m: m.kind == "photo")
    # a closed poll refuses votes
    qid = cem.press("Bewerbungen")
    refusal = cem.wait_callback_answer(qid)["text"].lower()
    assert "beendet" in refusal
    stored = votes(migrated_url)
    assert sorted(v.value for v in stored) == [["a"], ["a"]]
    assert all(v.participant_id is None for v in stored)  # anonymous by default
    [poll] = polls(migrated_url)
    assert poll.status == "closed" and poll.salt is None


def test_participants_cannot_run_polls_and_forged_buttons_fail(bot, fake_api, migrated_url):
    admin, code = open_session(fake_api)
    eve = join(fake_api, 611, code)
    act(eve, lambda: eve.send("/poll Hack? | a | b"), "Backbone-Team")
    act(eve, lambda: eve.send("/session Mine"), "Backbone-Team")
    act(
        admin,
        lambda: admin.send("/poll --named Frage? | Ja | Nein"),
        "Frage?",
    )
    eve.wait_for("Frage?")
    [poll] = polls(migrated_url)
    qid = eve.press_data(f"k:{poll.id}", eve.last().message_id)  # forged close button
    assert eve.wait_callback_answer(qid)["show_alert"]
    qid = eve.press_data(f"v:{poll.id}:zzz", eve.last().message_id)
    assert eve.wait_callback_answer(qid)["show_alert"]
    outsider = fake_api.user(612, "Out", "de")
    onboard(outsider, payload="", expect="Was möchtest du")
    qid = outsider.press_data(f"v:{poll.id}:a", outsider.last().message_id)
    assert outsider.wait_callback_answer(qid)["show_alert"]
    assert polls(migrated_url)[0].status == "open"
    assert votes(migrated_url) == []
    eve.press("Ja")
    time.sleep(1)
    [vote] = votes(migrated_url)
    assert vote.participant_id is not None  # --named: pseudonymous


def test_timer_closes_the_poll(bot, fake_api, migrated_url):
    admin, code = open_session(fake_api)
    join(fake_api, 621, code)
    act(admin, lambda: admin.send("/poll --timer 10 Kurz? | Ja | Nein"), "Kurz?")
    admin.wait_for(lambda m: m.kind == "photo" and m.seq > 0 and "Kurz?" in m.content, timeout=20)
    assert polls(migrated_url)[0].status == "closed"


def test_fifty_people_vote_at_once_with_double_taps_and_changes(bot, fake_api, migrated_url):
    admin, code = open_session(fake_api)
    people = [join(fake_api, 700 + i, code) for i in range(50)]
    act(admin, lambda: admin.send("/poll Welches Thema? | Eins | Zwei | Drei"), "Welches Thema?")
    last_choice = {}

    def vote(i, person):
        person.wait_for("Welches Thema?")
        first = ["Eins", "Zwei", "Drei"][i % 3]
        person.press(first)
        person.press(first)  # double tap
        final = ["Eins", "Zwei", "Drei"][(i + i // 3) % 3]
        person.press(final)
        last_choice[person.id] = {"Eins": "a", "Zwei": "b", "Drei": "c"}[final]

    with ThreadPoolExecutor(25) as pool:
        list(pool.map(lambda args: vote(*args), enumerate(people)))
    deadline = time.monotonic() + 20
    expected = Counter(last_choice.values())
    while time.monotonic() < deadline:
        got = Counter(v.value[0] for v in votes(migrated_url))
        if got == expected and fake_api.updates_pending() == 0:
            break
        time.sleep(0.3)
    assert Counter(v.value[0] for v in votes(migrated_url)) == expected
    assert len(votes(migrated_url)) == 50
    admin.wait_for("50 abgestimmt", timeout=10)


def test_native_group_poll_answers_and_withdrawal(bot, fake_api, migrated_url):
    from tests.e2e.test_trust import add_bot_to_group

    admin = fake_api.user(ADMIN, "Ada", "de")
    group = fake_api.group(-100800, "Steuerkreis")
    group.add(admin)
    add_bot_to_group(fake_api, group, admin)
    group.wait_for("hinzugefügt")
    group.send(admin, "/poll Termin? | Montag | Dienstag")
    native = group.wait_for(lambda m: m.kind == "poll")
    members = [fake_api.user(810 + i, f"M{i}", "de") for i in range(3)]
    for m in members:
        group.add(m)
    group.vote(members[0], native, [0])
    group.vote(members[1], native, [1])
    group.vote(members[2], native, [1])
    group.vote(members[2], native, [])  # withdrawn
    deadline = time.monotonic() + 10
    while len(votes(migrated_url)) != 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(v.value for v in votes(migrated_url)) == [["a"], ["b"]]
    mark = group.last()
    group.send(admin, "/close")
    group.wait_for("Termin?", since=mark)
    assert polls(migrated_url)[0].status == "closed"
