"""Questions from the room against hostile and careless use: forged and replayed buttons,
other sessions' questions, people who did not join, participants playing facilitator, bad
texts and floods. Every refusal is said and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import PollSession
from storage.models_questions import QuestionStatus, QuestionUpvote, RoomQuestion
from tests.e2e.helpers import _query, act, onboard
from tests.e2e.test_polls import join, open_session
from tests.e2e.test_room import answer_of, ask, questions

pytestmark = pytest.mark.e2e

NOT_A_BUTTON = "Dieser Button funktioniert nicht."
NOT_JOINED = "Du bist dieser Sitzung nicht beigetreten."
NOT_YOURS = "Sorry, dieser Button ist nur für die Moderation."


def upvotes(url: str) -> list[QuestionUpvote]:
    async def fn(session):
        return list((await session.scalars(select(QuestionUpvote))).all())

    return _query(url, fn)


def other_session_question(url: str) -> int:
    """An open session nobody here joined, with one question; its question's id."""

    async def fn(session):
        other = PollSession(code="ZZZZZZ", title="Anderswo", facilitator_chat_id=1)
        session.add(other)
        await session.flush()
        question = RoomQuestion(session_id=other.id, text="Fremde Frage?", author_key="k" * 64)
        session.add(question)
        await session.flush()
        await session.commit()
        return question.id

    return _query(url, fn)


def test_forged_foreign_and_unauthorised_taps_change_nothing(bot, fake_api, bot_env) -> None:
    url = bot_env["BACKBONE_DATABASE_URL"]
    admin, code = open_session(fake_api)
    anna = join(fake_api, 601, code)
    ben = join(fake_api, 602, code)
    ask(anna, "Wer bezahlt die Fahrtkosten?")
    (question,) = questions(url)
    listing = act(ben, lambda: ben.send("/questions"), "▲ 1")
    at = listing.message_id

    # Forged and malformed buttons.
    for data in ("u:999999", "u:0", "u:01", f"u:{question.id}:1", f"m:{question.id}:x", "m:1"):
        assert answer_of(ben, ben.press_data(data, at)) == NOT_A_BUTTON, data
    # The own question cannot be upvoted (not even with a made-up button).
    mine = act(anna, lambda: anna.send("/questions"), "(deine)")
    assert "eigene" in answer_of(anna, anna.press_data(f"u:{question.id}", mine.message_id))
    # Someone who did not join; a question of another session.
    dora = fake_api.user(604, "Dora", "de")
    onboard(dora, payload="", expect="Was möchtest du")
    assert answer_of(dora, dora.press_data(f"u:{question.id}")) == NOT_JOINED
    foreign = other_session_question(url)
    assert answer_of(ben, ben.press_data(f"u:{foreign}", at)) == NOT_JOINED
    # A participant playing facilitator.
    for action in ("a", "h"):
        assert answer_of(ben, ben.press_data(f"m:{question.id}:{action}", at)) == NOT_YOURS
    assert upvotes(url) == []
    assert [q.status for q in questions(url)] == [QuestionStatus.OPEN, QuestionStatus.OPEN]

    # A real upvote, then the facilitator answers; replays change nothing.
    assert answer_of(ben, ben.press("▲ 1", at)) == "▲ Unterstützt."
    board = act(admin, lambda: admin.send("/questions"), "✅ 1")
    answer_of(admin, admin.press("✅ 1", board.message_id))
    replay = answer_of(admin, admin.press_data(f"m:{question.id}:h", board.message_id))
    assert "beantwortet" in replay
    assert "beantwortet" in answer_of(ben, ben.press_data(f"u:{question.id}", at))
    assert questions(url)[0].status == QuestionStatus.ANSWERED
    assert len(upvotes(url)) == 1

    # After the session's end every button of it is refused.
    act(admin, lambda: admin.send("/session end"), "beendet")
    ask(anna, "Noch eine Frage?", expect="Tritt zuerst einer Sitzung bei")
    assert answer_of(ben, ben.press_data(f"u:{question.id}", at)) == "Diese Sitzung ist vorbei."
    assert len(questions(url)) == 2  # the foreign one and the first: nothing new


def test_bad_texts_and_floods_are_refused(bot, fake_api, bot_env) -> None:
    url = bot_env["BACKBONE_DATABASE_URL"]
    stranger = fake_api.user(605, "Eve", "de")
    onboard(stranger, payload="", expect="Was möchtest du")
    ask(stranger, "Darf ich fragen?", expect="Tritt zuerst einer Sitzung bei")
    admin, code = open_session(fake_api)
    anna = join(fake_api, 601, code)
    usage = "/ask <deine Frage> (3 bis 300 Zeichen)"
    act(anna, lambda: anna.send("/ask"), usage)
    act(anna, lambda: anna.send("/ask    "), usage)
    act(anna, lambda: anna.send("/ask ab"), usage)
    act(anna, lambda: anna.send("/ask " + "x" * 301), usage)
    for bad in ("Was \u0007 jetzt?", "Private \ue000 Zeichen?", "Null \x00 Byte?"):
        act(anna, lambda bad=bad: anna.send(f"/ask {bad}"), "Zeichen, die ich nicht anzeigen")
    assert questions(url) == []
    # Three questions within five minutes, then a pause.
    for n in range(3):
        ask(anna, f"Frage Nummer {n}?")
    ask(anna, "Noch eine?", expect="mehrere Fragen")
    assert [q.text for q in questions(url)] == [f"Frage Nummer {n}?" for n in range(3)]
    assert all(q.author_key and len(q.author_key) == 64 for q in questions(url))
