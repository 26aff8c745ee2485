"""`backbone anonymise` and `backbone audit` as staff run them, on a migrated SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.migrate import upgrade
from storage.models import AuditEntry
from storage.repo import Database
from tests.unit.test_cli import backbone


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database of its own (the CLI runs in a separate process)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    return url


def _env(url: str, **extra: str) -> dict[str, str]:
    return {"BACKBONE_DATABASE_URL": url, "BACKBONE_TIMEZONE": "Europe/Berlin", **extra}


def _seed(url: str, coro_factory) -> None:
    async def go() -> None:
        db = Database(url)
        try:
            async with db.transaction() as repo:
                await coro_factory(repo)
        finally:
            await db.dispose()

    asyncio.run(go())


@pytest.mark.parametrize("args", [[], ["--flow", "interview", "--all"]])
def test_anonymise_needs_exactly_one_of_flow_or_all(tmp_path: Path, sqlite_url: str, args):
    result = backbone("anonymise", *args, env=_env(sqlite_url), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "backbone: give exactly one of --flow ID or --all"
    assert result.stdout == ""


def test_anonymise_unknown_flow_exits_1(tmp_path: Path, sqlite_url: str):
    result = backbone("anonymise", "--flow", "nope", env=_env(sqlite_url), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "backbone: no data for flow 'nope'"
    assert "Traceback" not in result.stderr


def test_anonymise_reports_unlinked_and_skipped(tmp_path: Path, sqlite_url: str):
    async def people(repo) -> None:
        fv = await repo.flow_version("interview", "1", "h", {"id": "interview"})
        for tg, status in ((1, "complete"), (2, "complete"), (3, "paused")):
            identity = await repo.add_participant(tg, tg, "X", None, "de")
            run = await repo.add_run(identity.participant_id, fv.id, "de", {})
            run.status = status

    _seed(sqlite_url, people)
    first = backbone(
        "anonymise", "--flow", "interview", "--yes", env=_env(sqlite_url), cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == (
        "removed the Telegram link of 2 participants (1 skipped: interview still open)"
    )
    again = backbone("anonymise", "--all", "--yes", env=_env(sqlite_url), cwd=tmp_path)
    assert again.stdout.strip() == (
        "removed the Telegram link of 0 participants (1 skipped: interview still open)"
    )
    log = backbone("audit", env=_env(sqlite_url), cwd=tmp_path)
    lines = log.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith('  cli  anonymise  {"flow":"interview","unlinked":2,"skipped":1}')
    assert lines[1].endswith('  cli  anonymise  {"flow":null,"unlinked":0,"skipped":1}')


def test_audit_prints_local_time_actor_action_and_compact_details(tmp_path: Path, sqlite_url: str):
    async def entries(repo) -> None:
        repo.session.add_all(
            [
                # 23:30 in Berlin on 31 October: before a --since of 1 November.
                AuditEntry(
                    at=datetime(2026, 10, 31, 22, 30, tzinfo=UTC),
                    actor="admin",
                    action="export",
                    details={"flow": "interview", "rows": 12},
                ),
                # 00:30 in Berlin on 1 November (CET, UTC+1).
                AuditEntry(
                    at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
                    actor="participant",
                    action="participant_deleted",
                    details={"mode": "erase", "runs": 1, "answers": 4, "media_files": 0},
                ),
                AuditEntry(
                    at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
                    actor="admin",
                    action="role_changed",
                    details={"role": "facilitator", "note": "Schulleitung"},
                ),
            ]
        )

    _seed(sqlite_url, entries)
    result = backbone("audit", env=_env(sqlite_url), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        '2026-10-31 23:30:00+01:00  admin  export  {"flow":"interview","rows":12}',
        "2026-11-01 00:30:00+01:00  participant  participant_deleted  "
        '{"mode":"erase","runs":1,"answers":4,"media_files":0}',
        "2026-11-02 10:00:00+01:00  admin  role_changed  "
        '{"role":"facilitator","note":"Schulleitung"}',
    ]

    since_date = backbone("audit", "--since", "2026-11-01", env=_env(sqlite_url), cwd=tmp_path)
    assert [line.split("  ")[2] for line in since_date.stdout.splitlines()] == [
        "participant_deleted",
        "role_changed",
    ]
    since_time = backbone(
        "audit", "--since", "2026-11-02T09:00:00+00:00", env=_env(sqlite_url), cwd=tmp_path
    )
    assert [line.split("  ")[2] for line in since_time.stdout.splitlines()] == ["role_changed"]
    utc = backbone("audit", env=_env(sqlite_url, BACKBONE_TIMEZONE="UTC"), cwd=tmp_path)
    assert utc.stdout.splitlines()[0].startswith("2026-10-31 22:30:00+00:00  admin  export")


def test_audit_rejects_a_malformed_since(tmp_path: Path, sqlite_url: str):
    result = backbone("audit", "--since", "last week", env=_env(sqlite_url), cwd=tmp_path)
    assert result.returncode == 2
    assert "--since" in result.stderr and "2026-11-01" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_audit_of_an_empty_log_prints_nothing(tmp_path: Path, sqlite_url: str):
    result = backbone("audit", env=_env(sqlite_url), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")
