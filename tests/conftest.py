"""Shared fixtures: a fresh database per test, on SQLite or (in CI) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Set (e.g. postgresql+asyncpg://postgres@127.0.0.1/test) to run storage and end-to-end tests
# on PostgreSQL instead of SQLite; .ci/run does.
POSTGRES_URL = os.environ.get("BACKBONE_TEST_POSTGRES_URL")


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _with_database(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database that only this test uses."""
    if not POSTGRES_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'backbone.db'}"
        return
    name = f"bb_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        asyncio.run(_admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """Like database_url, with the schema at the newest migration."""
    from storage.migrate import upgrade

    upgrade(database_url)
    return database_url
