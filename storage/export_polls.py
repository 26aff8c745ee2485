"""Export of a live-poll session: every vote, and counts per option, as CSV or XLSX.

Votes come out with the voter's pseudonym for pseudonymous polls and a blank voter for
anonymous ones; the identities table is never read, so no Telegram id or name can leak.

* votes: one row per vote and selected option (a multiple choice with two options ticked
  gives two rows; a scale's number is its own code and label; a words answer's phrase too).
* summary: per poll, every option (every point of a scale) with its votes, including those
  nobody chose; a words poll lists its phrases, most frequent first (one row with empty option
  cells if nobody answered). `share` is votes / voters, so shares of a multiple choice can add
  up to more than 1; `joined` is how many people joined the session.

CSV: the votes at `output`, the summary at `<stem>.summary.csv` beside it (UTF-8 with BOM,
`delimiter` between cells); text cells starting with = + - @ tab or carriage return get a
leading apostrophe so spreadsheets do not run them as formulas (`raw_csv` writes them as
stored).
XLSX: one file with the sheets "votes" and "summary", each with a frozen header row and an
autofilter; text is always stored as text, moments are date cells (UTC).
"""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from openpyxl import Workbook
from sqlalchemy import and_, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.agenda import PollSpec
from flows.agenda_schema import CHOICE_POLLS, PollType
from storage import export_questions as room
from storage.export import iso_utc
from storage.export_writers import (
    NoData,
    _FileSet,
    _part,
    _set_widths,
    _xlsx_cell,
    autofilter,
    csv_cell,
    csv_file,
    header_row,
    refuse_existing,
    writing,
)
from storage.models import Participant, Poll, PollSession, SessionMember, Vote
from storage.repo import Database

PollFormat = Literal["csv", "xlsx"]
POLL_FORMATS: tuple[str, ...] = ("csv", "xlsx")

VOTE_COLUMNS: tuple[str, ...] = (
    "session",
    "poll_id",
    "poll_position",
    "question",
    "poll_type",
    "anonymous",
    "voter",
    "option_code",
    "option_label",
    "voted_at",
    "updated_at",
)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "poll_id",
    "question",
    "option_code",
    "option_label",
    "votes",
    "share",
    "voters",
    "joined",
)
STAMP_COLUMNS = frozenset({"voted_at", "updated_at"})
SHARE_DECIMALS = 4
SHARE_FORMAT = "0.0000"  # XLSX number format of the share column
VOTES_SHEET = "votes"
SUMMARY_SHEET = "summary"


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True, slots=True)
class _PollRow:
    id: int
    position: int
    spec: PollSpec
    anonymous: bool


@dataclass(frozen=True, slots=True)
class _VoteRow:
    poll_id: int
    value: Any
    voter: str | None  # pseudonym; None for anonymous polls
    voted_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class _SessionData:
    code: str
    polls: list[_PollRow]
    votes: list[_VoteRow]
    joined: int


async def _load(session: AsyncSession, code: str) -> _SessionData | None:
    """The session's polls (by opened_at), their votes and the number of members."""
    found = (
        await session.execute(
            select(PollSession.id, PollSession.code).where(PollSession.code == code)
        )
    ).one_or_none()
    if found is None:
        return None
    session_id, code = found
    poll_rows = await session.execute(
        select(Poll.id, Poll.spec, Poll.anonymous)
        .where(Poll.session_id == session_id)
        .order_by(Poll.opened_at, Poll.id)
    )
    polls = [
        _PollRow(id=pid, position=i, spec=PollSpec.model_validate(spec), anonymous=bool(anon))
        for i, (pid, spec, anon) in enumerate(poll_rows.all(), start=1)
    ]
    # Pseudonyms only, and only for polls that are not anonymous (there participant_id is
    # NULL anyway; the join condition makes sure a stray link would not show either).
    vote_rows = await session.execute(
        select(Vote.poll_id, Vote.value, Participant.pseudonym, Vote.voted_at, Vote.updated_at)
        .join(Poll, Poll.id == Vote.poll_id)
        .outerjoin(
            Participant,
            and_(Participant.id == Vote.participant_id, Poll.anonymous == false()),
        )
        .where(Poll.session_id == session_id)
        .order_by(Vote.voted_at, Vote.id)
    )
    votes = [_VoteRow(*row) for row in vote_rows.all()]
    joined = await session.scalar(
        select(func.count())
        .select_from(SessionMember)
        .where(SessionMember.session_id == session_id)
    )
    return _SessionData(code=code, polls=polls, votes=votes, joined=joined or 0)


# --------------------------------------------------------------------------- rows


def _items(value: Any) -> list[Any]:
    """A stored vote value as a list of what was chosen (codes, a number or a phrase)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _scale_value(item: Any) -> Any:
    """A scale point as an int (native group polls may store it as text)."""
    try:
        return int(item)
    except (TypeError, ValueError):
        return str(item)


def _options(spec: PollSpec, value: Any) -> list[tuple[Any, Any]]:
    """(code, label) pairs of one vote, in the poll's option order for choice polls."""
    items = _items(value)
    if spec.type in CHOICE_POLLS:
        rank = {code: i for i, code in enumerate(spec.options)}
        codes = sorted((str(c) for c in items), key=lambda c: rank.get(c, len(rank)))
        return [(code, spec.options.get(code, "")) for code in codes]
    if spec.type is PollType.SCALE:
        return [(n, n) for n in map(_scale_value, items)]
    phrases = [str(item) for item in items]
    return [(phrase, phrase) for phrase in phrases]


def _by_poll(data: _SessionData) -> dict[int, list[_VoteRow]]:
    by_poll: dict[int, list[_VoteRow]] = {poll.id: [] for poll in data.polls}
    for vote in data.votes:
        by_poll[vote.poll_id].append(vote)
    return by_poll


def _vote_rows(data: _SessionData) -> list[list[Any]]:
    by_poll = _by_poll(data)
    rows: list[list[Any]] = []
    for poll in data.polls:
        for vote in by_poll[poll.id]:
            voter = None if poll.anonymous else vote.voter
            for code, label in _options(poll.spec, vote.value):
                rows.append(
                    [
                        data.code,
                        poll.id,
                        poll.position,
                        poll.spec.question,
                        poll.spec.type.value,
                        int(poll.anonymous),
                        voter,
                        code,
                        label,
                        iso_utc(vote.voted_at),
                        iso_utc(vote.updated_at),
                    ]
                )
    return rows


def _share(votes: int, voters: int) -> float:
    return round(votes / voters, SHARE_DECIMALS) if voters else 0.0


def _summary_rows(data: _SessionData) -> list[list[Any]]:
    by_poll = _by_poll(data)
    rows: list[list[Any]] = []
    for poll in data.polls:
        spec = poll.spec
        counts: Counter[Any] = Counter()
        voters = 0
        for vote in by_poll[poll.id]:
            chosen = {code for code, _ in _options(spec, vote.value)}
            voters += bool(chosen)
            counts.update(chosen)
        if spec.type in CHOICE_POLLS:
            options = [(code, label) for code, label in spec.options.items()]
        elif spec.type is PollType.SCALE:
            options = [(n, n) for n in spec.scale_values()]
        else:
            ranked = sorted(counts, key=lambda phrase: (-counts[phrase], phrase))
            options = [(phrase, phrase) for phrase in ranked] or [(None, None)]
        # Codes in votes but not among the options (a changed spec): listed, never dropped.
        known = {code for code, _ in options}
        options += [(code, "") for code in counts if code not in known]
        for code, label in options:
            votes = counts[code] if code is not None else 0
            rows.append(
                [
                    poll.id,
                    spec.question,
                    code,
                    label,
                    votes,
                    _share(votes, voters),
                    voters,
                    data.joined,
                ]
            )
    return rows


# --------------------------------------------------------------------------- files


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    columns: Sequence[str]
    rows: list[list[Any]]


def summary_path(output: Path) -> Path:
    """Where a CSV export puts the summary: `<stem>.summary.csv` beside the votes file."""
    return output.with_name(f"{output.stem}.summary.csv")


def _csv_cell(column: str, value: Any, raw: bool) -> Any:
    if column == "share" and value is not None:
        return f"{value:.{SHARE_DECIMALS}f}"
    return csv_cell(value, raw)


def output_paths(fmt: str, output: Path) -> list[Path]:
    """Every file an export to `output` writes (CSV: the summary beside it)."""
    return [output, summary_path(output)] if fmt == "csv" else [output]


def _write_csv(
    output: Path, tables: Sequence[_Table], raw: bool = False, delimiter: str = ","
) -> list[Path]:
    files = _FileSet(output_paths("csv", output) + room.questions_paths(output, len(tables)))
    try:
        for path, table in zip(files.paths, tables, strict=True):
            # UTF-8 with BOM, like the flow exports, so Excel reads umlauts and Cyrillic right.
            with csv_file(_part(path)) as fh:
                out = csv.writer(fh, delimiter=delimiter)
                out.writerow([csv_cell(c, raw) for c in table.columns])
                for row in table.rows:
                    cells = zip(table.columns, row, strict=True)
                    out.writerow([_csv_cell(c, v, raw) for c, v in cells])
        return files.commit()
    except BaseException:
        files.abort()
        raise


def _with_dates(row: list[Any], stamps: list[int]) -> list[Any]:
    """The row with its ISO moments as naive UTC datetimes: real date cells."""
    row = list(row)
    for i in stamps:
        if row[i] is not None:
            row[i] = datetime.fromisoformat(row[i][:19])
    return row


def _write_xlsx(output: Path, tables: Sequence[_Table]) -> list[Path]:
    files = _FileSet([output])
    try:
        # A normal (not write-only) workbook: a session's votes are few, and nothing is left
        # in temporary files if writing fails.
        wb = Workbook()
        wb.remove(wb.active)
        for table in tables:
            ws = wb.create_sheet(table.name)
            ws.freeze_panes = "A2"
            _set_widths(ws, table.columns, table.rows[:200])
            ws.append(header_row(ws, table.columns))
            stamps = [i for i, c in enumerate(table.columns) if c in STAMP_COLUMNS]
            for row in table.rows:
                ws.append([_xlsx_cell(ws, v) for v in _with_dates(row, stamps)])
            autofilter(ws, table.columns, len(table.rows))
            if "share" in table.columns:
                col = table.columns.index("share") + 1
                for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                    cell.number_format = SHARE_FORMAT
        wb.save(_part(output))
        return files.commit()
    except BaseException:
        files.abort()
        raise


# --------------------------------------------------------------------------- export


async def export_polls(
    db: Database,
    session_code: str,
    fmt: PollFormat,
    output: Path,
    *,
    actor: str = "cli",
    raw_csv: bool = False,
    delimiter: str = ",",
    force: bool = False,
    empty_ok: bool = False,
) -> list[Path]:
    """Write the votes and summary of one session's polls; returns the files written.

    CSV text cells that a spreadsheet would run as a formula get a leading apostrophe unless
    `raw_csv`. Existing files are replaced only with `force` (else FilesExist).

    Raises LookupError("no session with code X") for an unknown code, NoData for a session
    without votes (unless `empty_ok`: then the header-only votes and the summary are
    written), ValueError for an unknown format.
    """
    if fmt not in POLL_FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (use one of {', '.join(POLL_FORMATS)})")
    output = Path(output)
    refuse_existing(output_paths(fmt, output), force)
    code = session_code.strip().upper()
    async with db.transaction() as repo:
        data = await _load(repo.session, code)
        questions = await room.question_rows(repo.session, code)
    if data is None:
        raise LookupError(f"no session with code {session_code}")
    votes = _vote_rows(data)
    if not votes and not questions and not empty_ok:
        raise NoData(f"nothing to export: session {data.code} has no votes yet")
    tables = [
        _Table(VOTES_SHEET, VOTE_COLUMNS, votes),
        _Table(SUMMARY_SHEET, SUMMARY_COLUMNS, _summary_rows(data)),
    ]
    if questions:  # the questions from the room: a sheet, or a CSV beside the votes
        tables.append(_Table(room.QUESTIONS_SHEET, room.QUESTION_COLUMNS, questions))
        refuse_existing([room.questions_path(output)] if fmt == "csv" else [], force)
    # File writes run in a thread so a bot sharing the loop stays live.
    with writing(output):
        if fmt == "csv":
            written = await asyncio.to_thread(_write_csv, output, tables, raw_csv, delimiter)
        else:
            written = await asyncio.to_thread(_write_xlsx, output, tables)
    async with db.transaction() as repo:
        await repo.audit(
            actor, "export_polls", {"session": data.code, "format": fmt, "rows": len(votes)}
        )
    return written
