"""The previous wave: a person's answers in their latest finished run of the same flow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.repo import Database
from storage.statuses import RunStatus

pytestmark = pytest.mark.storage

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


async def _run(repo, participant_id, flow_id, version, status, started, answers):
    flow_version = await repo.flow_version(flow_id, version, f"{flow_id}-{version}", {})
    run = await repo.add_run(participant_id, flow_version.id, "en", {})
    run.status, run.started_at = status, started
    for step_id, (value, skipped) in answers.items():
        await repo.save_answer(run.id, step_id, value, skipped, "wording", "en", started)
    return run


async def test_the_latest_finished_run_of_the_flow_any_version_is_the_previous_wave(db: Database):
    async with db.transaction() as repo:
        me = (await repo.add_participant(1, 1, "A", None, "en")).participant.id
        other = (await repo.add_participant(2, 2, "B", None, "en")).participant.id
        await _run(repo, me, "panel", "1", RunStatus.COMPLETE, T0, {"plans": ("school", False)})
        await _run(
            repo,
            me,
            "panel",
            "2",
            RunStatus.COMPLETE,
            T0 + timedelta(days=180),
            {"plans": ("training", False), "worry": (None, True)},  # skipped: left out
        )
        # Not the previous wave: another flow, another person, a run still open.
        await _run(repo, me, "other", "1", RunStatus.COMPLETE, T0 + timedelta(days=200), {})
        await _run(repo, other, "panel", "2", RunStatus.COMPLETE, T0 + timedelta(days=300), {})
        await _run(
            repo, me, "panel", "3", RunStatus.ACTIVE, T0 + timedelta(days=360), {"plans": ("x", 0)}
        )
    async with db.transaction() as repo:
        assert await repo.previous_wave(me, "panel") == {"plans": "training"}
        assert await repo.previous_wave(me, "nothing-yet") == {}
