"""SPSS (.sav) and Stata (.dta) files of an export: columns, cells and the writer.

Every column of an export has a kind (`Column`); the data rows come typed (Python values,
plus the markers SKIPPED, NOT_ASKED and NO_RUN) and are turned into a file here:

* variable labels: the question wording in the flow's source language (Stata: cut to 80
  characters, its limit); value labels: choice codes -> labels, yes/no, chosen/not chosen.
* single choice: integer codes 1, 2, ... in the order the options were first offered over
  all versions of the flow (so a code never changes between versions); yes/no 1/0; scale and
  number numeric; dates as dates; moments as date-times (UTC).
* missing answers kept apart in every variable: skipped, not asked (condition false, run
  ended before, version without the question) and no run in this wave (panels). SPSS:
  user-missing -1, -2, -3 (numbers and dates: the range -3..-1; text: the discrete values
  "-1", "-2", "-3"), with value labels. Stata: extended missing .a, .b, .c with the same
  labels; its strings have no missing values, so each text answer gets a numeric
  `<name>_status` companion (0 answered, .a, .b, .c).
* names valid in both programs (see `name_list`).

The rows are spooled on disk (storage.stats_spool) and written at the end by our own
streaming writers (storage.stats_sav, storage.stats_dta), so memory stays flat however many
rows an export has; no extra package is needed to write them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from storage.export_cells import REPLACEMENT, SURROGATES
from storage.export_writers import _FileSet, _part
from storage.stats_spool import Spool

STATS_FORMATS: tuple[str, ...] = ("sav", "dta")
STATA_LABEL_MAX = 80
NAME_MAX = 32


class Marker:
    """Why a cell is missing (a singleton per kind)."""

    def __init__(self, name: str, spss: int, stata: str, label: str) -> None:
        self.name, self.spss, self.stata, self.label = name, spss, stata, label

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def __reduce__(self) -> str:
        # Unpickled from the spool as the very singleton, so writers can test `is SKIPPED`.
        return self.name.upper()


SKIPPED = Marker("skipped", -1, "a", "skipped")
NOT_ASKED = Marker("not_asked", -2, "b", "not asked")
NO_RUN = Marker("no_run", -3, "c", "no run in this wave")
MARKERS = (SKIPPED, NOT_ASKED, NO_RUN)

# Numeric kinds get missing codes and value labels; the rest are text, dates or moments.
NUMERIC = frozenset({"int", "code", "number", "yesno", "dummy"})
KINDS = NUMERIC | {"text", "date", "stamp"}


@dataclass
class Column:
    """One column of an export: its name, kind, label and (codes only) the code list."""

    name: str
    kind: str
    label: str = ""
    codes: dict[str, int] = field(default_factory=dict)  # option code -> integer code
    labels: dict[int, str] = field(default_factory=dict)  # integer code -> label
    answers: bool = True  # an answer (gets missing codes), not a run cell

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")
        if self.kind == "yesno":
            self.labels = {1: "yes", 0: "no"}
        elif self.kind == "dummy":
            self.labels = {1: "chosen", 0: "not chosen"}


# Words neither program takes as a variable name (SPSS reserved words, Stata's reserved
# names); an upper-case variant counts too in SPSS.
RESERVED = frozenset(
    ("all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with")
    + ("_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long")
    + ("_n", "_pi", "_pred", "_rc", "_skip", "str", "strl", "using")
)
_INVALID = re.compile(r"[^A-Za-z0-9_]")


def name_list(columns: Sequence[str]) -> list[str]:
    """The columns' names made valid in SPSS and Stata: letters, digits and _ only, starting
    with a letter, at most 32 characters, not a reserved word, unique regardless of case (a
    cut or clashing name ends in _2, _3, ...)."""
    out: list[str] = []
    taken: set[str] = set()
    for column in columns:
        name = _INVALID.sub("_", column) or "v"
        if not name[0].isalpha():
            name = f"v{name}"
        if name.lower() in RESERVED:
            name = f"{name}_"
        base, n = name[:NAME_MAX], 1
        name = base
        while name.lower() in taken:
            n += 1
            suffix = f"_{n}"
            name = base[: NAME_MAX - len(suffix)] + suffix
        taken.add(name.lower())
        out.append(name)
    return out


def _numeric(column: Column, value: Any) -> Any:
    number = _typed(column, value)
    # NaN or infinity (an answer "nan" read as a number) has no place in either format.
    return None if isinstance(number, float) and not math.isfinite(number) else number


def _typed(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind == "code":
        return _code(column, str(value))
    if column.kind == "yesno":
        return 1 if value in ("yes", True) else 0 if value in ("no", False) else None
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, int | float) else _number(value)


def _code(column: Column, code: str) -> int:
    """The integer code of a choice; a code no version offers (kept in an old answer) gets
    the next free number, labelled with itself, rather than being lost."""
    found = column.codes.get(code)
    if found is None:
        found = column.codes[code] = max(column.codes.values(), default=0) + 1
        column.labels[found] = code
    return found


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def stats_cell(column: Column, value: Any) -> Any:
    """A typed export value as the format-neutral cell the file writers take: a Marker (a
    missing answer), None (system-missing), a number, a str, a date or a datetime."""
    if isinstance(value, Marker):
        return value if column.answers else None
    if column.kind in NUMERIC:
        return _numeric(column, value)
    if value is None:
        return None
    if column.kind == "stamp":
        return datetime.fromisoformat(str(value)[:19])
    if column.kind == "date":
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return None
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    # A lone surrogate (half an emoji) cannot be written as UTF-8.
    return SURROGATES.sub(REPLACEMENT, str(value))


def cut_utf8(text: str, limit: int) -> bytes:
    """`text` as UTF-8, cut to at most `limit` bytes without splitting a character."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return raw
    return raw[:limit].decode("utf-8", "ignore").encode("utf-8")


def _status(cell: Any) -> Any:
    """The cell of a text answer's status companion (Stata): the marker, or 0 answered."""
    return cell if cell is None or isinstance(cell, Marker) else 0


def file_columns(columns: Sequence[Column], fmt: str) -> tuple[list[Column], list[bool]]:
    """The file's columns with valid names and, in Stata (whose strings have no missing
    values), a numeric `<name>_status` after each text answer; and for each file column
    whether it is such a companion."""
    out: list[Column] = []
    companion: list[bool] = []
    for column in columns:
        out.append(column)
        companion.append(False)
        if fmt == "dta" and column.kind == "text" and column.answers:
            label = f"{column.label} (status)" if column.label else "status"
            out.append(Column(f"{column.name}_status", "int", label, labels={0: "answered"}))
            companion.append(True)
    names = name_list([c.name for c in out])
    return [replace(c, name=name) for c, name in zip(out, names, strict=True)], companion


def file_rows(
    columns: Sequence[Column], companion: Sequence[bool], rows: Sequence[Sequence[Any]]
) -> list[list[Any]]:
    """Typed rows as the cells of the file columns (`file_columns`)."""
    out = []
    for row in rows:
        cells: list[Any] = []
        values = iter(row)
        for column, status in zip(columns, companion, strict=True):
            cells.append(_status(cells[-1]) if status else stats_cell(column, next(values)))
        out.append(cells)
    return out


def write_file(path: Path, fmt: str, columns: Sequence[Column], spool: Spool, title: str) -> None:
    """Write the spooled cells as an SPSS or Stata file at `path`."""
    if fmt == "sav":
        from storage.stats_sav import write_sav

        write_sav(path, columns, spool, title)
    else:
        from storage.stats_dta import write_dta

        write_dta(path, columns, spool, title)


_CODES = {
    "sav": ", ".join(f"{m.spss} {m.label}" for m in MARKERS),
    "dta": ", ".join(f".{m.stata} {m.label}" for m in MARKERS),
}
MISSING_NOTES = {
    "sav": f"Missing answers: {_CODES['sav']}, declared as user-missing values (numbers and "
    'dates: the range -3 to -1; text: the values "-1", "-2", "-3"), all with value labels; '
    'a text answer that is itself "-1", "-2" or "-3" is written with a leading apostrophe.',
    "dta": f"Missing answers: {_CODES['dta']} (extended missing values, with value labels) "
    "in numbers and dates; text variables are empty when missing and their companion "
    "<name>_status tells why: 0 answered, " + _CODES["dta"] + ".",
}
STATUS_NOTE = "Why the text variable before is empty: 0 answered, " + _CODES["dta"] + "."


def missing_note(fmt: str) -> dict[str, Any]:
    """The codebook entry telling how the file codes missing answers."""
    return {"variable": "_missing_values", "type": "note", "description": MISSING_NOTES[fmt]}


class StatsWriter(_FileSet):
    """An ExportWriter for .sav/.dta: rows converted as they come and spooled on disk, the
    file written at finish under the .part name, with the codebook as CSV beside it
    (storage.export_writers.CsvWriter's)."""

    def __init__(self, output: Path, fmt: str, columns: Sequence[Column], title: str) -> None:
        from storage.export_writers import codebook_path

        self.codebook_path = codebook_path(output)
        super().__init__([output, self.codebook_path])
        self.output, self.fmt, self.title = output, fmt, title
        self.columns, self._companion = file_columns(columns, fmt)
        # Codebook variable -> name in the file; a companion's variable is `<text>_status`.
        self.names: dict[str, str] = {}
        self._status: dict[str, str] = {}  # text variable -> its companion's variable
        sources, previous = iter(columns), ""
        for column, companion in zip(self.columns, self._companion, strict=True):
            if companion:
                variable = self._status[previous] = f"{previous}_status"
            else:
                variable = previous = next(sources).name
            self.names[variable] = column.name
        self._spool = Spool(len(self.columns), output.parent)

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Convert the typed rows and spool them until finish."""
        self._spool.add(file_rows(self.columns, self._companion, rows))

    def finish(self, codebook_columns: Sequence[str], codebook: Sequence[dict[str, Any]]) -> None:
        """Write the data file and the codebook CSV."""
        import csv

        from storage.export_writers import codebook_cell, csv_cell, csv_file

        try:
            write_file(_part(self.output), self.fmt, self.columns, self._spool, self.title)
        finally:
            self._spool.close()
        # The codebook says under which name each column is in the file.
        columns = [codebook_columns[0], "name_in_file", *codebook_columns[1:]]
        with csv_file(_part(self.codebook_path)) as fh:
            out = csv.writer(fh)
            out.writerow(columns)
            for entry in [missing_note(self.fmt), *self._with_status(codebook)]:
                entry = {**entry, "name_in_file": self.names.get(entry.get("variable", ""))}
                out.writerow([csv_cell(codebook_cell(entry.get(c))) for c in columns])

    def _with_status(self, codebook: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The codebook with an entry for each status companion after its text variable."""
        out: list[dict[str, Any]] = []
        for entry in codebook:
            out.append(entry)
            variable = self._status.get(entry.get("variable", ""))
            if variable is not None:
                out.append({"variable": variable, "type": "status", "description": STATUS_NOTE})
        return out

    def abort(self) -> None:
        """Delete the spool and the partial files."""
        self._spool.close()
        super().abort()
