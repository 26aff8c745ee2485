"""The projector's view of the room and the questions in the poll export, on the database:
hidden results carry no counts, the last poll's final result stays, questions rank by upvotes
then age, answered and hidden ones leave, the export has a questions sheet."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.services.projector import poll_view, questions_view
from storage import polls as poll_queries
from storage import questions as queries
from storage.export_polls import export_polls
from storage.models import Participant, Poll, PollSession, SessionMember, Vote
from storage.models_questions import QuestionStatus, set_question_status
from storage.repo import Database
from storage.statuses import IllegalTransition, PollStatus

pytestmark = pytest.mark.storage

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
SPEC = {
    "id": "poll",
    "type": "single_choice",
    "question": "Wer?",
    "options": {"a": "Schulen", "b": "Kammern"},
    "hide_results": True,
}


async def session_with_people(db: Database, n: int = 3) -> tuple[int, list[int]]:
    async with db.transaction() as repo:
        people = [Participant(pseudonym=f"P-ROOM{i:02d}") for i in range(n)]
        repo.session.add_all(people)
        room = PollSession(code="ROOM42", title="Raum", facilitator_chat_id=1)
        repo.session.add(room)
        await repo.session.flush()
        for p in people:
            repo.session.add(SessionMember(session_id=room.id, participant_id=p.id))
        return room.id, [p.id for p in people]


async def test_hidden_results_then_the_final_result(db: Database) -> None:
    session_id, people = await session_with_people(db)
    async with db.transaction() as repo:
        assert await poll_view(repo, session_id) is None
        poll = Poll(session_id=session_id, spec=SPEC, salt="s", opened_by="P-X", opened_at=T0)
        repo.session.add(poll)
        await repo.session.flush()
        for i in range(len(people)):
            repo.session.add(Vote(poll_id=poll.id, voter_key=f"k{i}", value=["a" if i else "b"]))
    async with db.transaction() as repo:
        view = await poll_view(repo, session_id)
        assert view.hidden and view.bars == () and view.mean is None and not view.final
        assert view.choices == ("Schulen", "Kammern") and view.voters == 3
        poll = await poll_queries.open_poll_of(repo, session_id)
        poll_queries.close_poll(poll, T0 + timedelta(minutes=1))
    async with db.transaction() as repo:
        view = await poll_view(repo, session_id)
        assert view.final and not view.hidden and poll.status == PollStatus.CLOSED
        assert [(b.label, b.count) for b in view.bars] == [("Schulen", 2), ("Kammern", 1)]
        scale = {"id": "poll", "type": "scale", "question": "Wie?", "min": 1, "max": 5}
        repo.session.add(
            Poll(session_id=session_id, spec={**scale, "hide_results": True}, opened_by="P-X")
        )
        await repo.session.flush()
        view = await poll_view(repo, session_id)  # the newest poll: a hidden scale
        assert view.hidden and view.kind == "scale" and view.choices == () and view.bars == ()


async def test_questions_rank_by_upvotes_then_age_and_leave(db: Database, tmp_path: Path) -> None:
    session_id, _ = await session_with_people(db)
    async with db.transaction() as repo:
        salt = await queries.room_salt(repo, session_id)
        assert salt and await queries.room_salt(repo, session_id) == salt  # made once
        first = await queries.add_question(repo, session_id, "Erste?", "a" * 64, T0)
        second = await queries.add_question(repo, session_id, "=Zweite?", "b" * 64, T0)
        third = await queries.add_question(repo, session_id, "Dritte?", "c" * 64, T0)
        assert [q.text for q in await questions_view(repo, session_id)] == [
            "Erste?",
            "=Zweite?",
            "Dritte?",
        ]  # equal upvotes: the oldest first (same moment: the first asked)
        assert await queries.toggle_upvote(repo, third.id, "x" * 64, T0) is True
        assert await queries.toggle_upvote(repo, third.id, "y" * 64, T0) is True
        assert await queries.toggle_upvote(repo, second.id, "x" * 64, T0) is True
        assert await queries.toggle_upvote(repo, second.id, "x" * 64, T0) is False  # back
        assert await queries.upvoted_by(repo, [first.id, third.id], "x" * 64) == {third.id}
        view = await questions_view(repo, session_id)
        assert [(q.text, q.upvotes) for q in view] == [
            ("Dritte?", 2),
            ("Erste?", 0),
            ("=Zweite?", 0),
        ]
        set_question_status(third, QuestionStatus.ANSWERED, T0 + timedelta(minutes=5))
        set_question_status(first, QuestionStatus.HIDDEN, T0 + timedelta(minutes=6))
        with pytest.raises(IllegalTransition):
            set_question_status(first, QuestionStatus.ANSWERED, T0)
        assert [q.text for q in await questions_view(repo, session_id)] == ["=Zweite?"]
        await queries.erase_salt(repo, session_id)
        assert await queries.room_salt(repo, session_id) is None

    # No votes, but questions: the export writes them (a sheet, or a file beside the CSV).
    paths = await export_polls(db, "ROOM42", "csv", tmp_path / "room.csv")
    assert paths[-1] == tmp_path / "room.questions.csv"
    with paths[-1].open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["question"], r["upvotes"], r["status"]) for r in rows] == [
        ("Erste?", "0", "hidden"),
        ("'=Zweite?", "0", "open"),  # a formula is defused, as in every CSV export
        ("Dritte?", "2", "answered"),
    ]
    assert rows[0]["closed_at"] == "2026-12-02T09:06:00Z" and rows[1]["closed_at"] == ""
    xlsx = await export_polls(db, "ROOM42", "xlsx", tmp_path / "room.xlsx")
    sheet = load_workbook(xlsx[0])["questions"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:5] == ["session", "question_no", "question", "upvotes", "status"]
    assert values[3][1:5] == [3, "Dritte?", 2, "answered"]
