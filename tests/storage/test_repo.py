"""storage.repo against a real database: dedupe, answer upserts, versions, pseudonyms, runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import storage.repo as repo_module
from storage.models import Answer, AuditEntry, FlowVersion, Participant
from storage.repo import Database, new_pseudonym

pytestmark = pytest.mark.storage

PSEUDONYM = re.compile(r"^P-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$")
T0 = datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)


async def _participant(db: Database, telegram_user_id: int = 1) -> int:
    async with db.transaction() as repo:
        identity = await repo.add_participant(telegram_user_id, telegram_user_id, "A", None, "de")
        return identity.participant_id


async def _run(db: Database, participant_id: int, flow_id: str = "f", content: str = "h1") -> int:
    async with db.transaction() as repo:
        fv = await repo.flow_version(flow_id, "1", content, {"id": flow_id})
        run = await repo.add_run(participant_id, fv.id, "de", {"current": "q"})
        return run.id


# --------------------------------------------------------------------------- updates


async def test_claim_update_records_each_update_once(db: Database) -> None:
    async with db.transaction() as repo:
        assert await repo.claim_update(1001) is True
        assert await repo.claim_update(1001) is False  # same transaction
        assert await repo.claim_update(1002) is True
    async with db.transaction() as repo:
        assert await repo.claim_update(1001) is False  # redelivered after commit
        assert await repo.claim_update(2**40) is True  # Telegram ids exceed 32 bits


async def test_claim_update_rolled_back_with_a_failed_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as repo:
            assert await repo.claim_update(7) is True
            raise RuntimeError("handler crashed")
    # The crash rolled the claim back: the redelivered update gets handled.
    async with db.transaction() as repo:
        assert await repo.claim_update(7) is True


# --------------------------------------------------------------------------- answers


async def test_save_answer_inserts_then_updates_with_revisions(db: Database) -> None:
    run_id = await _run(db, await _participant(db))
    async with db.transaction() as repo:
        first = await repo.save_answer(run_id, "q", "Köln", False, "Wo?", "de", T0)
        assert (first.revision, first.answered_at, first.updated_at) == (1, T0, T0)

    # Same value, skipped flag and wording: no new revision (an idempotent redelivery).
    async with db.transaction() as repo:
        same = await repo.save_answer(run_id, "q", "Köln", False, "Wo?", "de", T0 + timedelta(1))
        assert (same.revision, same.updated_at) == (1, T0)

    async with db.transaction() as repo:
        changed = await repo.save_answer(
            run_id, "q", "Berlin", False, "Wo?", "de", T0 + timedelta(minutes=5)
        )
        assert changed.revision == 2
        assert changed.answered_at == T0
        assert changed.updated_at == T0 + timedelta(minutes=5)

    async with db.transaction() as repo:
        skipped = await repo.save_answer(
            run_id, "q", None, True, "Wo?", "en", T0 + timedelta(minutes=6)
        )
        assert (skipped.revision, skipped.skipped, skipped.value, skipped.locale) == (
            3,
            True,
            None,
            "en",
        )
        reworded = await repo.save_answer(
            run_id, "q", None, True, "Where?", "en", T0 + timedelta(minutes=7)
        )
        assert reworded.revision == 4

    async with db.transaction() as repo:
        rows = (await repo.session.scalars(select(Answer))).all()
        assert len(rows) == 1  # one row per (run, step), always the current answer
        (row,) = rows
        assert (row.value, row.skipped, row.shown_text, row.revision) == (None, True, "Where?", 4)
        assert row.answered_at == T0 and row.answered_at.tzinfo is not None
        assert [a.step_id for a in await repo.answers(run_id)] == ["q"]


async def test_save_answer_keeps_structured_values(db: Database) -> None:
    run_id = await _run(db, await _participant(db))
    values = {
        "multi": ["a", "b"],
        "scale": 4,
        "number": 2.5,
        "media": {"file_id": "x", "file_unique_id": "u", "path": None},
    }
    async with db.transaction() as repo:
        for step, value in values.items():
            await repo.save_answer(run_id, step, value, False, "?", "de")
    async with db.transaction() as repo:
        stored = {a.step_id: a.value for a in await repo.answers(run_id)}
    assert stored == values
    # Same list again is no new revision; a reordered one is a change.
    async with db.transaction() as repo:
        assert (await repo.save_answer(run_id, "multi", ["a", "b"], False, "?", "de")).revision == 1
        assert (await repo.save_answer(run_id, "multi", ["b"], False, "?", "de")).revision == 2


async def test_answers_unique_per_run_and_step(db: Database) -> None:
    run_id = await _run(db, await _participant(db))
    with pytest.raises(IntegrityError):
        async with db.transaction() as repo:
            for _ in range(2):
                repo.session.add(Answer(run_id=run_id, step_id="q", value="x", locale="de"))
                await repo.session.flush()


# --------------------------------------------------------------------------- flow versions


async def test_flow_version_get_or_create_by_hash(db: Database) -> None:
    async with db.transaction() as repo:
        v1 = await repo.flow_version("interview", "2026-1", "a" * 64, {"v": 1})
        again = await repo.flow_version("interview", "2026-1", "a" * 64, {"v": 1})
        assert again.id == v1.id
    async with db.transaction() as repo:
        # Found by hash even when the label differs (a label alone never makes a version).
        same = await repo.flow_version("interview", "renamed", "a" * 64, {"v": 1})
        assert same.id == v1.id and same.version == "2026-1"
        v2 = await repo.flow_version("interview", "2026-1", "b" * 64, {"v": 2})
        assert v2.id != v1.id
        other = await repo.flow_version("survey", "2026-1", "a" * 64, {"v": 1})
        assert other.id not in (v1.id, v2.id)
    async with db.transaction() as repo:
        count = await repo.session.scalar(select(func.count()).select_from(FlowVersion))
        assert count == 3
        stored = await repo.flow_version_by_id(v2.id)
        assert stored is not None and stored.definition == {"v": 2}


async def test_flow_version_hash_unique_per_flow(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as repo:
            repo.session.add(FlowVersion(flow_id="f", version="1", content_hash="h", definition={}))
            repo.session.add(FlowVersion(flow_id="f", version="2", content_hash="h", definition={}))
            await repo.session.flush()


# --------------------------------------------------------------------------- pseudonyms


def test_pseudonym_format() -> None:
    seen = {new_pseudonym() for _ in range(2000)}
    assert all(PSEUDONYM.match(p) for p in seen)
    assert len(seen) > 1990  # random, not sequential or constant


async def test_participants_get_distinct_pseudonyms(db: Database) -> None:
    async with db.transaction() as repo:
        identities = [
            await repo.add_participant(5000 + i, 5000 + i, f"N{i}", f"u{i}", "de")
            for i in range(100)
        ]
        pseudonyms = [i.participant.pseudonym for i in identities]
    assert len(set(pseudonyms)) == 100
    assert all(PSEUDONYM.match(p) for p in pseudonyms)
    async with db.transaction() as repo:
        found = await repo.identity_by_telegram(5042)
        assert found is not None and found.participant.pseudonym == pseudonyms[42]
        assert found.username == "u42" and found.participant.stage == "new"


async def test_pseudonym_collision_draws_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter(["P-AAAAAA", "P-AAAAAA", "P-AAAAAA", "P-BBBBBB"])
    monkeypatch.setattr(repo_module, "new_pseudonym", lambda: next(draws))
    async with db.transaction() as repo:
        first = await repo.add_participant(1, 1, "A", None, None)
        second = await repo.add_participant(2, 2, "B", None, None)
    assert first.participant.pseudonym == "P-AAAAAA"
    assert second.participant.pseudonym == "P-BBBBBB"
    assert next(draws, None) is None


async def test_pseudonym_unique_in_schema(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as repo:
            repo.session.add_all(
                [Participant(pseudonym="P-CCCCCC"), Participant(pseudonym="P-CCCCCC")]
            )
            await repo.session.flush()


async def test_telegram_user_unique(db: Database) -> None:
    await _participant(db, 77)
    with pytest.raises(IntegrityError):
        await _participant(db, 77)


# --------------------------------------------------------------------------- runs


async def test_open_run_newest_active_or_paused(db: Database) -> None:
    me = await _participant(db, 1)
    someone_else = await _participant(db, 2)
    async with db.transaction() as repo:
        assert await repo.open_run(me) is None
    await _run(db, someone_else)  # another participant's open run is never mine

    old = await _run(db, me)
    async with db.transaction() as repo:
        assert (await repo.open_run(me)).id == old
        (await repo.run(old)).status = "paused"
    async with db.transaction() as repo:
        assert (await repo.open_run(me)).id == old

    newer = await _run(db, me, content="h2")
    async with db.transaction() as repo:
        assert (await repo.open_run(me)).id == newer
        (await repo.run(newer)).status = "complete"
    async with db.transaction() as repo:
        assert (await repo.open_run(me)).id == old
        (await repo.run(old)).status = "incomplete"
    async with db.transaction() as repo:
        assert await repo.open_run(me) is None
        open_run = await repo.open_run(someone_else)
        assert open_run is not None and open_run.participant_id == someone_else


async def test_completed_run_per_version(db: Database) -> None:
    me = await _participant(db)
    run_id = await _run(db, me)
    async with db.transaction() as repo:
        run = await repo.run(run_id)
        assert await repo.completed_run(me, run.flow_version_id) is None
        run.status = "complete"
    async with db.transaction() as repo:
        found = await repo.completed_run(me, run.flow_version_id)
        assert found is not None and found.id == run_id
        # the pinned definition comes along with the run
        assert found.flow_version.definition == {"id": "f"}


async def test_audit_entries(db: Database) -> None:
    async with db.transaction() as repo:
        await repo.audit("cli", "export", {"flow": "f", "rows": 3})
        await repo.audit("staff", "role")
    async with db.transaction() as repo:
        rows = (await repo.session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(r.actor, r.action, r.details) for r in rows] == [
        ("cli", "export", {"flow": "f", "rows": 3}),
        ("staff", "role", {}),
    ]
