"""Small helpers for end-to-end tests: drive a person step by step, read the database."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from storage.models import Answer, Participant, Run
from storage.repo import Database


def shows(text: str):
    """A matcher: the message's text or one of its buttons contains `text`."""

    def match(message) -> bool:
        labels = [label for row in message.buttons for label in row]
        return text in message.content or any(text in label for label in labels)

    return match


def act(user, action, expect, timeout: float = 15.0):
    """Do something as `user`, then wait for a bot message (sent or edited after it) that
    shows `expect` (a substring of its text or buttons, or a predicate)."""
    mark = user.last()
    action()
    matcher = shows(expect) if isinstance(expect, str) else expect
    return user.wait_for(matcher, since=mark, timeout=timeout)


def onboard(user, payload: str = "reporter-interview", expect: str = "") -> None:
    """/start with a deep link, agree to the privacy notice, wait for the first question."""
    act(user, lambda: user.send(f"/start {payload}"), "/privacy")
    act(user, lambda: user.press("✅"), expect)


def _query(url: str, fn):
    async def go():
        db = Database(url)
        try:
            async with db.transaction() as repo:
                return await fn(repo.session)
        finally:
            await db.dispose()

    return asyncio.run(go())


def answers(url: str) -> list[dict[str, Any]]:
    """Every stored answer with its run's status (ordered by id)."""

    async def fn(session):
        stmt = (
            select(Answer, Run.status, Participant.pseudonym)
            .join(Run, Answer.run_id == Run.id)
            .join(Participant, Run.participant_id == Participant.id)
            .order_by(Answer.id)
        )
        rows = (await session.execute(stmt)).all()
        return [
            {
                "run_id": a.run_id,
                "step_id": a.step_id,
                "value": a.value,
                "skipped": a.skipped,
                "shown_text": a.shown_text,
                "revision": a.revision,
                "status": status,
                "pseudonym": pseudonym,
            }
            for a, status, pseudonym in rows
        ]

    return _query(url, fn)


def answer_map(url: str) -> dict[str, Any]:
    """step id -> value, for a database with one run."""
    return {a["step_id"]: a["value"] for a in answers(url)}


def answers_by_run(url: str) -> dict[int, dict[str, Any]]:
    """run id -> step id -> value."""
    out: dict[int, dict[str, Any]] = {}
    for a in answers(url):
        out.setdefault(a["run_id"], {})[a["step_id"]] = a["value"]
    return out


def runs(url: str) -> list[Run]:
    """All runs."""

    async def fn(session):
        return list((await session.scalars(select(Run).order_by(Run.id))).all())

    return _query(url, fn)
