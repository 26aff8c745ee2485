"""Alembic migrations: an empty database upgrades to exactly the schema the models describe."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from storage.db import create_engine
from storage.migrate import alembic_config, upgrade
from storage.models import Base

pytestmark = pytest.mark.storage


async def _schema_diff(url: str) -> list:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()


async def _tables_and_version(url: str) -> tuple[set[str], str | None]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            version = await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
            return tables, version
    finally:
        await engine.dispose()


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


# Sync tests: upgrade() runs Alembic, whose env.py drives the async engine with asyncio.run.
def test_upgrade_empty_database_matches_models(database_url: str) -> None:
    upgrade(database_url)
    assert asyncio.run(_schema_diff(database_url)) == []
    tables, version = asyncio.run(_tables_and_version(database_url))
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert version == _head()


def test_upgrade_is_idempotent_and_downgrade_reverses(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # on every start: a no-op when at head
    command.downgrade(alembic_config(database_url), "base")
    tables, version = asyncio.run(_tables_and_version(database_url))
    assert tables <= {"alembic_version"} and version is None
    upgrade(database_url)
    assert asyncio.run(_schema_diff(database_url)) == []


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1
