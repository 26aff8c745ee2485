"""Joining a round-table session costs at most two messages: what this is (the session's
title, with the consent buttons where consent is still needed), then the ballot or one line."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import act, onboard
from tests.e2e.test_polls import is_ballot, open_session

pytestmark = pytest.mark.e2e

TITLE = "Runder Tisch"


def bot_messages_until_help(person, since):
    """The bot's messages after `since`, up to the answer to a /help sent now: replies in a
    chat keep their order, so whatever joining sends comes before that answer."""
    answer = act(person, lambda: person.send("/help"), "Das verstehe ich")
    start = since.message_id if since is not None else 0
    return [m for m in person.messages() if start < m.message_id < answer.message_id]


def join_with_consent(fake_api, user_id, code):
    """A new person joins by deep link and agrees; the bot messages up to the /help sync."""
    person = fake_api.user(user_id, f"P{user_id}", "de")
    act(person, lambda: person.send(f"/start S{code}"), "/privacy")
    act(person, lambda: person.press("✅"), lambda m: TITLE in m.content or is_ballot(m))
    return person, bot_messages_until_help(person, None)


def test_joining_with_consent_while_a_poll_is_open_costs_two_messages(bot, fake_api):
    admin, code = open_session(fake_api, TITLE)
    act(admin, lambda: admin.send("/poll Was zuerst? | Praktika | Mentoring"), "Was zuerst?")
    _, sent = join_with_consent(fake_api, 801, code)
    assert len(sent) == 2, [m.content for m in sent]
    notice, ballot = sent
    assert TITLE in notice.content and "/privacy" in notice.content
    assert "Interview-Bot" not in notice.content
    assert any("✅" in label for row in notice.buttons for label in row)
    assert ballot.content.startswith("🗳 Was zuerst?")


def test_joining_with_consent_and_no_open_poll_costs_two_messages(bot, fake_api):
    _, code = open_session(fake_api, TITLE)
    _, sent = join_with_consent(fake_api, 802, code)
    assert len(sent) == 2, [m.content for m in sent]
    notice, line = sent
    assert TITLE in notice.content and "Interview-Bot" not in notice.content
    assert line.content == f"Du bist bei „{TITLE}“ dabei. Die Fragen erscheinen hier."


def test_a_person_who_already_agreed_gets_only_the_ballot_or_the_line(bot, fake_api):
    admin, code = open_session(fake_api, TITLE)
    known = fake_api.user(803, "Kim", "de")
    onboard(known, payload="", expect="Was möchtest du")
    mark = known.last()
    act(known, lambda: known.send(f"/start S{code}"), TITLE)
    sent = bot_messages_until_help(known, mark)
    assert [m.content for m in sent] == [
        f"Du bist bei „{TITLE}“ dabei. Die Fragen erscheinen hier."
    ]
    act(admin, lambda: admin.send("/poll Wie klar? | Sehr | Kaum"), "Wie klar?")
    known.wait_for("Wie klar?")  # members get the new ballot
    other = fake_api.user(804, "Lou", "de")
    onboard(other, payload="", expect="Was möchtest du")
    mark = other.last()
    act(other, lambda: other.send(f"/start S{code}"), "Wie klar?")
    sent = bot_messages_until_help(other, mark)
    assert len(sent) == 1 and sent[0].content.startswith("🗳 Wie klar?"), sent


def test_typing_the_code_also_costs_two_messages(bot, fake_api):
    _, code = open_session(fake_api, TITLE)
    person = fake_api.user(805, "Mo", "de")
    act(person, lambda: person.send(code.lower()), "/privacy")
    act(person, lambda: person.press("✅"), TITLE)
    sent = bot_messages_until_help(person, None)
    assert len(sent) == 2 and TITLE in sent[0].content, [m.content for m in sent]
