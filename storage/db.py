"""Engine and session factory; created by the composition root, never at import time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage.models import Base


def ensure_sqlite_dir(url: str) -> None:
    """Create the directory of an SQLite file URL so a fresh machine just works."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys, a busy timeout and secure_delete."""
    ensure_sqlite_dir(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            # Take transactions into our own hands (see _begin_immediate).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are overwritten with zeros instead of lingering in free space, so
            # an erased person's answers and names cannot be read from the file afterwards.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn) -> None:
            # A deferred transaction that reads and then writes fails with "database is
            # locked" when another writer got in between; taking the write lock up front
            # makes concurrent chats queue up (busy_timeout) instead.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


async def checkpoint_wal(engine: AsyncEngine, wait_ms: int = 2000) -> bool:
    """SQLite: copy the write-ahead log into the database file and truncate it to zero bytes,
    so no older copy of an erased row stays in the -wal file. True when that completed (and
    always on other databases); False when readers kept it from completing within `wait_ms`.
    """
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as conn:
        return await conn.run_sync(_truncate_wal, wait_ms)


def _truncate_wal(sync_conn, wait_ms: int) -> bool:
    # On the DBAPI connection: a statement through SQLAlchemy would start BEGIN IMMEDIATE
    # (see _begin_immediate), and a checkpoint cannot complete inside a transaction.
    # A short busy timeout: while a TRUNCATE checkpoint waits, new writers wait too.
    cursor = sync_conn.connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy = cursor.fetchone()[0]
    finally:
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
    return busy == 0


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


class DatabaseProblem(Exception):
    """The database is missing, not migrated or cannot be reached; the message is one line."""


def shown(url: str) -> str:
    """The URL as it may be printed: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def unreachable(exc: BaseException, url: str) -> DatabaseProblem | None:
    """`exc` (or what caused it) as one line when it means the database cannot be reached:
    refused or timed-out connections, unknown hosts, a wrong password or database name."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = _connection_reason(current)
        if reason:
            return DatabaseProblem(f"cannot reach the database at {shown(url)}: {reason}")
        orig = getattr(current, "orig", None) if isinstance(current, sa_exc.DBAPIError) else None
        # `raise X from None` (e.g. the bot's own "cannot reach the Bot API") hides what it
        # replaced: a network error behind it says nothing about the database.
        context = None if current.__suppress_context__ else current.__context__
        current = orig or current.__cause__ or context
    return None


_FILE_ERRORS = (
    FileExistsError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


def _connection_reason(exc: BaseException) -> str | None:
    # asyncpg's own connection errors (bad password, unknown database) have a sqlstate of
    # class 08 (connection) or 28 (authorization) or are 3D000 (no such database).
    state = str(getattr(exc, "sqlstate", "") or "")
    if state.startswith(("08", "28")) or state == "3D000":
        return _first_line(exc)
    if isinstance(exc, TimeoutError):
        return "the connection timed out"
    # A file that cannot be written (an export's output, say) is not the database.
    if isinstance(exc, OSError) and not isinstance(exc, _FILE_ERRORS):
        return exc.strerror or _first_line(exc)
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
        return str(exc)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


__all__ = [
    "Base",
    "DatabaseProblem",
    "checkpoint_wal",
    "create_engine",
    "ensure_sqlite_dir",
    "session_factory",
    "shown",
    "sqlite_file",
    "unreachable",
]
