"""The room, end to end against the real `backbone run`: a poll that hides its results until
it closes, and questions from the room with upvotes, moderation, the projector and the export.
"""

from __future__ import annotations

import csv
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from storage.models_questions import QuestionRoom, RoomQuestion
from tests.e2e.conftest import backbone_command
from tests.e2e.helpers import _query, act
from tests.e2e.test_polls import join, open_session
from tests.e2e.test_web import projector_url, web_bot  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e


def projector_of(admin, base: str) -> str:
    """The projector link from the facilitator's /session reply."""
    reply = next(m for m in reversed(admin.messages()) if m.kind != "photo" and "/p/" in m.content)
    return projector_url(reply.content, base)


def page_until(url: str, ok, timeout: float = 5.0) -> str:
    """The projector page as soon as `ok(html)` holds (AssertionError with it otherwise)."""
    deadline = time.monotonic() + timeout
    while True:
        html = httpx.get(url, timeout=5).text
        if ok(html) or time.monotonic() > deadline:
            assert ok(html), html
            return html
        time.sleep(0.1)


def questions(url: str) -> list[RoomQuestion]:
    async def fn(session):
        return list((await session.scalars(select(RoomQuestion).order_by(RoomQuestion.id))).all())

    return _query(url, fn)


def rooms(url: str) -> list[QuestionRoom]:
    async def fn(session):
        return list((await session.scalars(select(QuestionRoom))).all())

    return _query(url, fn)


def answer_of(person, query_id: str) -> str:
    return person.wait_callback_answer(query_id)["text"]


def test_hidden_results_appear_only_when_the_poll_closes(web_bot, fake_api) -> None:  # noqa: F811
    _, base = web_bot
    admin, code = open_session(fake_api)
    url = projector_of(admin, base)
    anna = join(fake_api, 601, code)
    ben = join(fake_api, 602, code)
    poll = "/poll --hide-results --show-results Wer zuerst? | Schulen | Kammern"
    act(admin, lambda: admin.send(poll), "Wer zuerst?")
    anna.wait_for("Wer zuerst?")
    ben.wait_for("Wer zuerst?")
    answer_of(anna, anna.press("Schulen"))
    answer_of(ben, ben.press("Schulen"))
    # The facilitator keeps the live results on their phone ...
    admin.wait_for("2 abgestimmt", timeout=10)
    # ... the projector shows the question, the answers and the number of votes, no result.
    html = page_until(url, lambda h: "2 Stimmen" in h)
    assert 'id="choices"' in html and "Schulen" in html and "Kammern" in html
    assert 'id="bars"' not in html and "data-count" not in html and "%" not in html
    assert "Die Ergebnisse erscheinen, wenn die Abfrage geschlossen ist." in html
    assert not any("🏁" in m.content or "📊" in m.content for m in anna.messages())

    act(admin, lambda: admin.send("/close"), "🏁")
    html = page_until(url, lambda h: 'id="final"' in h)
    assert 'data-label="Schulen" data-count="2"' in html
    assert 'data-label="Kammern" data-count="0"' in html
    assert "Endergebnis" in html and 'id="choices"' not in html
    anna.wait_for("🏁")  # --show-results: now, after the close


def test_the_agenda_and_the_group_poll_hide_results(bot, fake_api) -> None:
    from tests.e2e.test_trust import add_bot_to_group

    admin = fake_api.user(9000, "Ada", "de")
    group = fake_api.group(-100801, "Steuerkreis")
    group.add(admin)
    add_bot_to_group(fake_api, group, admin)
    group.wait_for("hinzugefügt")
    group.send(admin, "/poll --hide-results Termin? | Montag | Dienstag")
    # Telegram's own option: nobody in the group sees results before the poll stops.
    assert sent_poll(fake_api, 1).params.get("hide_results_until_closes") is True
    group.send(admin, "/poll Ohne? | Ja | Nein")
    assert "hide_results_until_closes" not in sent_poll(fake_api, 2).params


def sent_poll(fake_api, number: int):
    """The `number`th sendPoll call (the fake records a call after answering it)."""
    deadline = time.monotonic() + 10
    while len(fake_api.calls_of("sendPoll")) < number and time.monotonic() < deadline:
        time.sleep(0.05)
    return fake_api.calls_of("sendPoll")[number - 1]


def test_the_example_agenda_hides_the_priorities_poll() -> None:
    from flows.agenda import load_agenda

    shipped = Path(__file__).resolve().parents[2] / "flows/shipped/agendas"
    for path in sorted(shipped.glob("steering-circle*.yaml")):
        agenda = load_agenda(path)
        assert agenda.poll("priorities").hide_results is True, path
        assert agenda.poll("feeling").hide_results is False, path


def ask(person, text: str, expect: str = "auf der Liste"):
    return act(person, lambda: person.send(f"/ask {text}"), expect)


def upvote_button(message, number: int) -> str:
    """The callback data of the ▲ button with this number in a /questions list."""
    for row_labels, row_data in zip(message.buttons, message.callback_data, strict=True):
        for label, data in zip(row_labels, row_data, strict=True):
            if label.endswith(f"▲ {number}"):
                return data
    raise AssertionError(f"no ▲ {number} in {message.buttons}")


def test_questions_reorder_by_upvotes_and_leave_when_answered(
    web_bot,  # noqa: F811
    fake_api,
    bot_env,
    tmp_path,
) -> None:
    _, base = web_bot
    admin, code = open_session(fake_api)
    url = projector_of(admin, base)
    anna = join(fake_api, 601, code)
    ben = join(fake_api, 602, code)
    cem = join(fake_api, 603, code)
    ask(anna, "Wer bezahlt die Fahrtkosten?")
    ask(ben, "Wann   ist das nächste Treffen?")  # white space is collapsed
    html = page_until(url, lambda h: 'id="questions"' in h)
    assert "Schick dem Bot /ask und deine Frage." in html  # the room sees how to ask
    assert html.index("Wer bezahlt") < html.index("Wann ist das nächste Treffen?")

    # Ben's question gets two upvotes: it moves to the top, live.
    listing = act(cem, lambda: cem.send("/questions"), "Fragen aus dem Raum")
    assert "1. ▲ 0 · Wer bezahlt die Fahrtkosten?" in listing.content
    assert answer_of(cem, cem.press("▲ 2", listing.message_id)) == "▲ Unterstützt."
    edited = cem.wait_for(lambda m: m.message_id == listing.message_id and "✓ ▲" in str(m.buttons))
    assert edited.content.splitlines()[2].startswith("1. ▲ 1 · Wann ist")
    mine = act(ben, lambda: ben.send("/questions"), "Fragen aus dem Raum")
    assert "(deine)" in mine.content and len([b for r in mine.buttons for b in r]) == 1
    answer_of(anna, anna.press("▲ 1", act(anna, lambda: anna.send("/questions"), "▲").message_id))
    html = page_until(url, lambda h: 'data-upvotes="2"' in h)
    assert html.index("Wann ist das nächste Treffen?") < html.index("Wer bezahlt")

    # A second tap takes the upvote back.
    again = act(cem, lambda: cem.send("/questions"), "▲")
    assert "zurückgenommen" in answer_of(cem, cem.press("✓ ▲ 1", again.message_id))
    page_until(url, lambda h: 'data-upvotes="1"' in h and 'data-upvotes="2"' not in h)

    # The facilitator marks it answered: it leaves the projector; hides the other one.
    board = act(admin, lambda: admin.send("/questions"), "✅ 1")
    assert "beantwortet" in answer_of(admin, admin.press("✅ 1", board.message_id))
    html = page_until(url, lambda h: "Wann ist das" not in h)
    assert "Wer bezahlt" in html
    board = admin.wait_for(lambda m: m.message_id == board.message_id and "Wann" not in m.content)
    assert answer_of(admin, admin.press("🙈 1", board.message_id)) == "Ausgeblendet."
    page_until(url, lambda h: 'id="questions"' not in h)
    assert [(q.status, q.text) for q in questions(bot_env["BACKBONE_DATABASE_URL"])] == [
        ("hidden", "Wer bezahlt die Fahrtkosten?"),
        ("answered", "Wann ist das nächste Treffen?"),
    ]

    # The export has them (anonymous: no pseudonym column, no key).
    act(admin, lambda: admin.send("/session end"), "beendet")
    out = tmp_path / "room.csv"
    result = subprocess.run(
        [*backbone_command(), "export", "polls", "--session", code, "--output", str(out)],
        env=bot_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with (tmp_path / "room.questions.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["question_no"], r["question"], r["upvotes"], r["status"]) for r in rows] == [
        ("1", "Wer bezahlt die Fahrtkosten?", "0", "hidden"),
        ("2", "Wann ist das nächste Treffen?", "1", "answered"),
    ]
    assert set(rows[0]) == {
        "session", "question_no", "question", "upvotes", "status", "asked_at", "closed_at"
    }  # fmt: skip
    # The session is over: the salt is gone, no key links to anyone any more.
    assert [r.salt for r in rooms(bot_env["BACKBONE_DATABASE_URL"])] == [None]
