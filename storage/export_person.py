"""The person-level export: one workbook joining every instrument per pseudonym.

Sheets, in this order:

* `joined`: one row per pseudonym; per flow `<flow id>.runs` (how many runs the person
  has) and the columns of their latest run (highest run id: run_id, flow_version, ...,
  then one column per question, multiple choice also as 0/1 columns), per named poll
  `polls.<session code>.<poll id>` (the vote); blank where the person has nothing.
* one sheet per flow (its wide export: one row per run) and `polls` (one row per named
  vote). Anonymous polls are left out: nothing links their votes to anyone.
* `codebook`: every column of the joined sheet and of the instrument sheets.

Streamed: every instrument is read one person after the other in pseudonym order
(storage.export_person_sources), all at once, merged by pseudonym; each person's rows go
into the joined sheet and their instruments' sheets as they are made (the instruments'
sheets through temporary files, copied into the zip at the end), so memory stays flat.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from storage.export_person_sources import Instrument, flow_instruments, poll_instrument
from storage.export_writers import (
    XLSX_MAX_ROWS,
    ExportRefused,
    NoData,
    _part,
    codebook_cell,
    refuse_existing,
    writing,
)
from storage.export_xlsx import Sheet, finish_book, open_book, text_cell, widths
from storage.repo import Database

JOINED, CODEBOOK = "joined", "codebook"
CODEBOOK_COLUMNS = (
    "column",
    "sheet",
    "variable",
    "type",
    "text",
    "options",
    "min",
    "max",
    "optional",
    "condition",
    "versions",
    "description",
)
_SHEET_NAME_MAX = 31  # Excel's limit
_NOT_IN_NAMES = re.compile(r"[\[\]:*?/\\']")
_BLANK = "<c/>"


def sheet_names(names: Sequence[str]) -> list[str]:
    """A valid, unique sheet name per instrument (at most 31 characters, none of []:*?/\\',
    never `joined` or `codebook`; case does not tell sheets apart)."""
    taken = {JOINED, CODEBOOK}
    out = []
    for name in names:
        base = _NOT_IN_NAMES.sub("_", name)[:_SHEET_NAME_MAX] or "sheet"
        candidate, n = base, 2
        while candidate.lower() in taken:
            suffix = f"~{n}"
            candidate, n = base[: _SHEET_NAME_MAX - len(suffix)] + suffix, n + 1
        taken.add(candidate.lower())
        out.append(candidate)
    return out


def joined_columns(instruments: Sequence[Instrument]) -> list[str]:
    """The joined sheet's header: the pseudonym, then every instrument's columns, prefixed."""
    return ["pseudonym", *(f"{i.name}.{c}" for i in instruments for c in i.joined)]


def codebook_rows(instruments: Sequence[Instrument], sheets: Sequence[str]) -> list[list[str]]:
    """The codebook sheet's rows (finished cells)."""
    entries: list[dict[str, Any]] = [
        {
            "column": "pseudonym",
            "sheet": JOINED,
            "variable": "pseudonym",
            "type": "string",
            "description": "Pseudonym of the person (never a Telegram id, name or username); "
            "one row per person",
        }
    ]
    for instrument, sheet in zip(instruments, sheets, strict=True):
        joined = set(instrument.joined)
        for entry in instrument.codebook:
            var = entry["variable"]
            column = f"{instrument.name}.{var}" if var in joined else None
            entries.append({**entry, "column": column, "sheet": sheet})
    return [[_cell(entry.get(c)) for c in CODEBOOK_COLUMNS] for entry in entries]


def _cell(value: Any) -> str:
    from storage.export_xlsx import cell

    return cell(codebook_cell(value))


def _check_rows(sheet: Sheet, more: int) -> None:
    if sheet.rows + more > XLSX_MAX_ROWS:
        raise ExportRefused(
            f"more than {XLSX_MAX_ROWS:,} rows do not fit in one XLSX sheet ({sheet.columns[0]})"
        )


class _Kept:
    """A sheet's temporary file that survives the sheet's close (until it is copied)."""

    def __init__(self) -> None:
        self.raw = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the spool)

    def write(self, data: bytes) -> int:
        return self.raw.write(data)

    def close(self) -> None:
        """Kept: the spool copies it into the workbook, then closes it."""


class _Spool:
    """Stands in for the zip while the instruments' sheets are written at the same time as
    the joined sheet (a zip takes one open entry at a time): each goes to a temporary file
    and is copied into the workbook when all are done."""

    def __init__(self) -> None:
        self.files: dict[str, _Kept] = {}

    def open(self, name: str, mode: str = "w", force_zip64: bool = False) -> _Kept:
        self.files[name] = kept = _Kept()
        return kept

    def copy_into(self, book: Any) -> None:
        for name, kept in self.files.items():
            kept.raw.seek(0)
            with book.open(name, "w", force_zip64=True) as target:
                shutil.copyfileobj(kept.raw, target, 1 << 20)
            kept.raw.close()

    def discard(self) -> None:
        for kept in self.files.values():
            kept.raw.close()


Merged = tuple[list[str], list[tuple[int, list[str]]]]


async def merged(db: Database, instruments: Sequence[Instrument]) -> AsyncIterator[Merged]:
    """Person by person in pseudonym order, the instruments merged: their joined sheet
    row, and (instrument index, rows of its sheet) of each instrument they are in."""
    async with contextlib.AsyncExitStack() as stack:
        streams = [
            await stack.enter_async_context(contextlib.aclosing(i.people(db))) for i in instruments
        ]
        heads = [await anext(s, None) for s in streams]
        while any(h is not None for h in heads):
            pseudonym = min(h[0] for h in heads if h is not None)
            row, parts = [text_cell(pseudonym)], []
            for n, instrument in enumerate(instruments):
                head = heads[n]
                if head is not None and head[0] == pseudonym:
                    row.extend(head[2])
                    parts.append((n, head[1]))
                    heads[n] = await anext(streams[n], None)
                else:
                    row.extend([_BLANK] * len(instrument.joined))
            yield row, parts


async def _write_data(db: Database, joined: Sheet, sheets: list[Sheet], instruments) -> int:
    """The joined sheet and the instruments' sheets in one pass; returns the people."""
    people = 0
    async for row, parts in merged(db, instruments):
        people += 1
        _check_rows(joined, 1)
        joined.write(["".join(row)])
        for n, rows in parts:
            _check_rows(sheets[n], len(rows))
            sheets[n].write(rows)
    return people


async def _write_book(
    db: Database, book: Any, instruments: list[Instrument], names: list[str]
) -> tuple[list[tuple[str, Sheet]], int]:
    """Every sheet; returns them in workbook order and how many people were exported."""
    spool = _Spool()
    try:
        sheets = [Sheet(spool, n, i.columns) for n, i in enumerate(instruments, start=2)]
        joined = Sheet(book, 1, joined_columns(instruments))
        for sheet in (joined, *sheets):
            sheet.start(widths(sheet.columns, []))
        people = await _write_data(db, joined, sheets, instruments)
        for sheet in (joined, *sheets):
            sheet.close()
        spool.copy_into(book)
    finally:
        spool.discard()
    book_rows = codebook_rows(instruments, names)
    codebook = Sheet(book, len(sheets) + 2, CODEBOOK_COLUMNS)
    codebook.start(widths(CODEBOOK_COLUMNS, book_rows))
    codebook.write(["".join(row) for row in book_rows])
    codebook.close()
    named = [(JOINED, joined), *zip(names, sheets, strict=True), (CODEBOOK, codebook)]
    finish_book(book, named)
    return named, people


async def export_person_level(
    db: Database,
    output: Path,
    *,
    actor: str = "cli",
    force: bool = False,
    empty_ok: bool = False,
) -> list[Path]:
    """Write the person-level workbook (.xlsx); returns the file written.

    FilesExist unless `force`; NoData (nothing written) when nobody has a run or a named
    vote, unless `empty_ok` (then the sheets with their headers and the codebook).
    """
    output = Path(output)
    if output.suffix.lower() != ".xlsx":
        raise ValueError("the person-level export writes .xlsx files")
    refuse_existing([output], force)
    instruments = [*await flow_instruments(db), await poll_instrument(db)]
    names = sheet_names([i.name for i in instruments])
    part = _part(output)
    try:
        with writing(output):
            output.parent.mkdir(parents=True, exist_ok=True)
            book = open_book(part)
            try:
                sheets, people = await _write_book(db, book, instruments, names)
            except BaseException:
                # A sheet may still be open; the original error is the one to see.
                with contextlib.suppress(Exception):
                    book.close()
                raise
            book.close()
            if people == 0 and not empty_ok:
                raise NoData("nothing to export: nobody has answered a flow or a named poll yet")
            part.replace(output)
    except BaseException:
        # Nothing half-written stays; a directory that could not be made has no file.
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise
    async with db.transaction() as repo:
        details = {
            "format": "xlsx",
            "people": people,
            "instruments": [i.name for i in instruments],
            "rows": sum(s.rows for _, s in sheets[1:-1]),
        }
        await repo.audit(actor, "export_person_level", details)
    return [output]
