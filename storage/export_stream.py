"""A flow's runs and answers for an export, read as one streamed query.

One SELECT over runs, pseudonyms and answers, in run id and answer id order, is read in
chunks: SQLite with its own read-only connection (a plain read takes no lock a writer waits
for, while the bot's engine would start every transaction with BEGIN IMMEDIATE), PostgreSQL
with a server-side cursor (`stream_results`/`yield_per`) on the bot's engine. Memory stays
flat however many answers there are. Only plain columns are selected (never ORM objects, never
the identities table); moments come as ISO text formatted by the database and answer values
as their JSON text, because turning them into Python objects and back would cost more than
the rest of the export.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import String, Text, cast, event, func, select, type_coerce
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from storage.models import Answer, Participant, Run
from storage.repo import Database
from storage.transcripts import text_column as transcript_text

# Rows per fetch: big enough that a fetch costs little, small enough to keep memory flat.
READ_CHUNK = 5000

# Positions in a streamed row.
(
    RUN_ID,
    PSEUDONYM,
    VERSION_ID,
    RUN_LOCALE,
    STATUS,
    STARTED,
    FINISHED,
    STEP_ID,
    VALUE,
    SKIPPED,
    SHOWN,
    LOCALE,
    REVISION,
    ANSWERED,
    UPDATED,
) = range(15)
# With transcripts=True: the current transcript of a voice answer (storage.transcripts).
TRANSCRIPT = 15


def _stamp(column: Any, dialect: str) -> Any:
    """A moment as text: PostgreSQL formats it as UTC ISO 8601 with Z; SQLite's stored UTC
    text is cut into that shape in Python (storage.export_cells.iso_stamp), which is cheaper
    than its strftime()."""
    if dialect == "postgresql":
        utc = func.timezone("UTC", column)
        return func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return type_coerce(column, String)


def _where(stmt: Any, version_ids: Sequence[int], campaign_id: int | None) -> Any:
    stmt = stmt.where(Run.flow_version_id.in_(list(version_ids)))
    if campaign_id is not None:
        stmt = stmt.where(Run.campaign_id == campaign_id)
    return stmt


def rows_statement(
    version_ids: Sequence[int],
    campaign_id: int | None = None,
    dialect: str = "sqlite",
    transcripts: bool = False,
) -> Any:
    """Every run of these versions with its answers (a run without any: one row of NULLs);
    `transcripts`: one more column, each answer's transcript (position TRANSCRIPT)."""
    stmt = (
        select(
            Run.id,
            Participant.pseudonym,
            Run.flow_version_id,
            Run.locale,
            Run.status,
            _stamp(Run.started_at, dialect),
            _stamp(Run.finished_at, dialect),
            Answer.step_id,
            cast(Answer.value, Text),
            Answer.skipped,
            Answer.shown_text,
            Answer.locale,
            Answer.revision,
            _stamp(Answer.answered_at, dialect),
            _stamp(Answer.updated_at, dialect),
        )
        .join(Participant, Participant.id == Run.participant_id)
        .outerjoin(Answer, Answer.run_id == Run.id)
        .order_by(Run.id, Answer.id)
    )
    if transcripts:
        stmt = stmt.add_columns(transcript_text())
    return _where(stmt, version_ids, campaign_id)


def count_statement(version_ids: Sequence[int], campaign_id: int | None, layout: str) -> Any:
    """How many data rows the export will have (for a progress bar)."""
    if layout == "wide":
        return _where(select(func.count(Run.id)), version_ids, campaign_id)
    stmt = select(func.count(Answer.id)).join(Run, Run.id == Answer.run_id)
    return _where(stmt, version_ids, campaign_id)


def _query_only(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@asynccontextmanager
async def reading(db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection for reading a whole export without holding anyone up."""
    url = make_url(db.url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        async with db.engine.connect() as conn:
            yield conn
        return
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _query_only)
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def count_rows(
    db: Database, version_ids: Sequence[int], campaign_id: int | None, layout: str
) -> int:
    """The number of data rows an export of these versions will write."""
    async with reading(db) as conn:
        return int(await conn.scalar(count_statement(version_ids, campaign_id, layout)) or 0)


async def stream_rows(
    db: Database,
    version_ids: Sequence[int],
    campaign_id: int | None = None,
    by_person: bool = False,
    transcripts: bool = False,
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """The rows of rows_statement in chunks of up to READ_CHUNK; `by_person`: one person's
    runs after the other (instead of run order); `transcripts`: with the transcript column."""
    async with reading(db) as conn:
        stmt = rows_statement(version_ids, campaign_id, conn.dialect.name, transcripts)
        if by_person:
            stmt = stmt.order_by(None).order_by(Run.participant_id, Run.id, Answer.id)
        if conn.dialect.name == "sqlite":
            async for part in _sqlite_chunks(conn, stmt):
                yield part
            return
        result = await conn.stream(stmt.execution_options(yield_per=READ_CHUNK))
        async for part in result.partitions():
            yield part


async def _sqlite_chunks(conn: AsyncConnection, stmt: Any) -> AsyncIterator[list[Any]]:
    # The driver's cursor, past SQLAlchemy's result rows: a third of the time of a big export.
    # Nothing needs their processing: every column is text or a number as stored.
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    raw = await conn.get_raw_connection()
    cursor = await raw.driver_connection.execute(str(compiled), params)
    try:
        while rows := await cursor.fetchmany(READ_CHUNK):
            yield rows
    finally:
        await cursor.close()
