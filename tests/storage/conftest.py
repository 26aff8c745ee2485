"""Storage fixtures: a migrated database per test, wrapped in storage.repo.Database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.repo import Database


@pytest.fixture
async def db(migrated_url: str) -> AsyncIterator[Database]:
    """A Database on a freshly migrated, empty schema."""
    database = Database(migrated_url)
    try:
        yield database
    finally:
        await database.dispose()
