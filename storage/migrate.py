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


def head_revision() -> str:
    """The newest migration shipped with this version."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def check_ready(database_url: str, timeout: float = 10) -> None:
    """DatabaseProblem (one line) unless the database exists, can be reached and is at the
    newest migration. Creates nothing: an SQLite file that is not there stays not there."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from storage.db import DatabaseProblem, shown, sqlite_file, unreachable

    path = sqlite_file(database_url)
    if path is not None and not path.is_file():
        raise DatabaseProblem(
            f"no database at {path}: run `backbone db upgrade` (or `backbone run`) first, "
            "or set BACKBONE_DATA_DIR / BACKBONE_DATABASE_URL"
        )
    # mode=ro: even a file that vanished in between is not created.
    url = f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true" if path else database_url
    args = {"timeout": timeout}
    engine = create_async_engine(url, connect_args=args)
    try:
        async with engine.connect() as conn:
            has_table = await conn.run_sync(
                lambda sync: sync.dialect.has_table(sync, "alembic_version")
            )
            current = (
                await conn.scalar(text("SELECT version_num FROM alembic_version"))
                if has_table
                else None
            )
    except Exception as exc:
        problem = unreachable(exc, database_url)
        if problem is None:
            raise
        raise problem from None
    finally:
        await engine.dispose()
    head = head_revision()
    if current != head:
        state = "has no schema" if current is None else f"is at revision {current}"
        raise DatabaseProblem(
            f"the database at {shown(database_url)} {state}, this version needs {head}: "
            "run `backbone db upgrade`"
        )


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """`upgrade` for callers inside an event loop (Alembic's env runs its own loop)."""
    import asyncio

    await asyncio.to_thread(upgrade, database_url, revision)
