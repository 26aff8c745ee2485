"""The instruments of the person-level export (storage.export_person), each streamed one
person after the other in pseudonym order: every flow's runs (interviews, school surveys,
check-ups), and the votes of pseudonymous (named) polls.

Anonymous polls have no link from a vote to anyone, so they are not an instrument here: the
vote query joins participants only for polls that are not anonymous. Only pseudonyms are
read, never the identities table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, false, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from flows.agenda import PollSpec
from flows.agenda_schema import CHOICE_POLLS, PollType
from flows.model import normalize_locale
from storage import queries
from storage.export_codebook import codebook
from storage.export_plan import Plan, build_plan
from storage.export_rows import Rows
from storage.export_stream import PSEUDONYM, READ_CHUNK, reading, rows_statement
from storage.export_xlsx import XlsxCells, cell
from storage.models import Answer, FlowVersion, Participant, Poll, PollSession, Run, Vote
from storage.repo import Database

# One person of one instrument: (pseudonym, their rows of its sheet as finished XML rows,
# their cells in the joined sheet).
Person = tuple[str, list[str], list[str]]
POLLS = "polls"
POLL_COLUMNS = (
    "pseudonym",
    "session",
    "poll_id",
    "question",
    "poll_type",
    "value",
    "value_label",
    "voted_at",
    "updated_at",
)
# Sheet columns of a flow left out of the joined sheet (the pseudonym is its first column,
# the flow id its prefix).
_NOT_JOINED = (0, 2)
_CELLS = XlsxCells()


@dataclass
class Instrument:
    """One sheet of the workbook and its share of the joined sheet."""

    name: str  # flow id, or "polls": the joined columns' prefix
    columns: list[str]  # its own sheet
    joined: list[str]  # its columns in the joined sheet, without the prefix
    codebook: list[dict[str, Any]]  # "variable" names a column of its own sheet
    people: Callable[[Database], AsyncIterator[Person]] = field(repr=False)


def person_order(dialect: str) -> Any:
    """Pseudonyms in code point order on every database (Python compares them that way when
    the instruments are merged); PostgreSQL's default collation might not."""
    return Participant.pseudonym.collate("C") if dialect == "postgresql" else Participant.pseudonym


@asynccontextmanager
async def stream_reading(db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection for one instrument's stream. All instruments are read at once, so on
    PostgreSQL each gets its own connection outside the bot's pool (however many flows
    there are, the pool is never drained); SQLite: storage.export_stream.reading."""
    url = make_url(db.url)
    if url.get_backend_name() != "postgresql":
        async with reading(db) as conn:
            yield conn
        return
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def flow_instruments(db: Database) -> list[Instrument]:
    """One instrument per flow with stored versions, by flow id."""
    async with db.transaction() as repo:
        stmt = select(FlowVersion.flow_id).distinct().order_by(FlowVersion.flow_id)
        flow_ids = list(await repo.session.scalars(stmt))
        plans = [build_plan(f, await queries.flow_versions(repo.session, f)) for f in flow_ids]
    return [_flow_instrument(plan) for plan in plans]


def _source_text(plan: Plan, entry: dict[str, Any]) -> Any:
    source = normalize_locale(plan.source_language)
    for loc in plan.locales:
        if normalize_locale(loc) == source:
            return entry.get(f"text_{loc}")
    return None


def _flow_instrument(plan: Plan) -> Instrument:
    columns = Rows(plan, "wide", _CELLS).columns
    joined = ["runs", *(c for i, c in enumerate(columns) if i not in _NOT_JOINED)]
    entries = [
        {
            "variable": "runs",
            "type": "integer",
            "description": "How many runs of the flow the person has; the other columns "
            "are their latest run (highest run id)",
        }
    ]
    for entry in codebook(plan, "wide"):
        entries.append({**entry, "text": _source_text(plan, entry)})
    return Instrument(plan.flow_id, columns, joined, entries, lambda db: _flow_people(db, plan))


def _flow_person(builder: Rows, pseudonym: str, raw: list[Sequence[Any]]) -> Person:
    rows = builder.feed(raw) + builder.close()
    latest = rows[-1]
    joined = [_CELLS.number(len(rows)), *(c for i, c in enumerate(latest) if i not in _NOT_JOINED)]
    return pseudonym, ["".join(row) for row in rows], joined


async def _flow_people(db: Database, plan: Plan) -> AsyncIterator[Person]:
    """The flow's wide rows (one per run), person by person in pseudonym order."""
    builder = Rows(plan, "wide", _CELLS)
    async with stream_reading(db) as conn:
        stmt = rows_statement(list(plan.versions), None, conn.dialect.name)
        stmt = stmt.order_by(None).order_by(person_order(conn.dialect.name), Run.id, Answer.id)
        result = await conn.stream(stmt.execution_options(yield_per=READ_CHUNK))
        current: str | None = None
        pending: list[Sequence[Any]] = []
        async for part in result.partitions():
            for row in part:
                if row[PSEUDONYM] != current:
                    if current is not None:
                        yield _flow_person(builder, current, pending)
                    current, pending = row[PSEUDONYM], []
                pending.append(row)
        if current is not None:
            yield _flow_person(builder, current, pending)


# --------------------------------------------------------------------------- polls


def _named_votes() -> Any:
    """Votes of polls that are not anonymous, with the voter's pseudonym."""
    return and_(Poll.id == Vote.poll_id, Poll.anonymous == false())


async def poll_instrument(db: Database) -> Instrument:
    """The named polls that have votes: one sheet row per vote, one joined column per poll."""
    async with db.transaction() as repo:
        voted = exists().where(Vote.poll_id == Poll.id, Vote.participant_id.is_not(None))
        stmt = (
            select(Poll.id, Poll.spec, PollSession.code)
            .outerjoin(PollSession, PollSession.id == Poll.session_id)
            .where(Poll.anonymous == false(), voted)
            .order_by(Poll.id)
        )
        rows = (await repo.session.execute(stmt)).all()
    polls = {pid: (code or "group", PollSpec.model_validate(spec)) for pid, spec, code in rows}
    joined = [f"{code}.{pid}" for pid, (code, _) in polls.items()]
    entries = [_poll_entry(pid, code, spec) for pid, (code, spec) in polls.items()]
    entries += [
        {"variable": c, "type": "string", "description": f"{c} of the vote"}
        for c in POLL_COLUMNS[1:]
    ]
    return Instrument(
        POLLS, list(POLL_COLUMNS), joined, entries, lambda db: _poll_people(db, polls)
    )


def _poll_entry(pid: int, code: str, spec: PollSpec) -> dict[str, Any]:
    return {
        "variable": f"{code}.{pid}",
        "type": spec.type.value,
        "text": spec.question,
        "options": dict(spec.options) or None,
        "min": spec.min if spec.type is PollType.SCALE else None,
        "max": spec.max if spec.type is PollType.SCALE else None,
        "description": f"The person's vote in poll {pid} of session {code} "
        "(choice polls: option codes joined by ';')",
    }


def vote_value(spec: PollSpec, value: Any) -> tuple[Any, Any]:
    """A stored vote as (value, label): codes in option order joined by ';' with their
    labels, a scale's number, a words answer's phrases."""
    items = value if isinstance(value, list) else ([] if value is None else [value])
    if spec.type in CHOICE_POLLS:
        rank = {c: i for i, c in enumerate(spec.options)}
        codes = sorted((str(c) for c in items), key=lambda c: rank.get(c, len(rank)))
        return ";".join(codes), "; ".join(spec.options.get(c, "") for c in codes)
    if spec.type is PollType.SCALE and len(items) == 1:
        try:
            return int(items[0]), None
        except (TypeError, ValueError):
            pass
    text = "; ".join(str(i) for i in items)
    return text, None


def _poll_person(polls: dict, pseudonym: str, votes: list[Sequence[Any]]) -> Person:
    chosen: dict[int, str] = {}
    rows = []
    for _, poll_id, value, voted_at, updated_at in votes:
        code, spec = polls[poll_id]
        shown, label = vote_value(spec, value)
        chosen[poll_id] = cell(shown)
        values = [pseudonym, code, poll_id, spec.question, spec.type.value, shown, label]
        rows.append("".join(cell(v) for v in (*values, voted_at, updated_at)))
    joined = [chosen.get(pid, "<c/>") for pid in polls]
    return pseudonym, rows, joined


async def _poll_people(db: Database, polls: dict) -> AsyncIterator[Person]:
    """Named votes, person by person in pseudonym order."""
    if not polls:
        return
    async with stream_reading(db) as conn:
        stmt = (
            select(Participant.pseudonym, Vote.poll_id, Vote.value, Vote.voted_at, Vote.updated_at)
            .join(Poll, _named_votes())
            .join(Participant, Participant.id == Vote.participant_id)
            .where(Vote.poll_id.in_(list(polls)))
            .order_by(person_order(conn.dialect.name), Vote.poll_id, Vote.id)
        )
        result = await conn.stream(stmt.execution_options(yield_per=READ_CHUNK))
        current: str | None = None
        pending: list[Sequence[Any]] = []
        async for part in result.partitions():
            for row in part:
                if row[0] != current:
                    if current is not None:
                        yield _poll_person(polls, current, pending)
                    current, pending = row[0], []
                pending.append(row)
        if current is not None:
            yield _poll_person(polls, current, pending)
