"""Alembic wiring: upgrade the schema from code (on start) or the CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the shipped migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to call on every start."""
    from storage.db import ensure_sqlite_dir

    ensure_sqlite_dir(database_url)
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """`upgrade` for callers inside an event loop (Alembic's env runs its own loop)."""
    import asyncio

    await asyncio.to_thread(upgrade, database_url, revision)
