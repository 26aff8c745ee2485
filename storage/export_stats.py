"""SPSS (.sav) and Stata (.dta) files of an export, written with pyreadstat.

Every column of an export has a kind (`Column`); the data rows come typed (Python values,
plus the markers SKIPPED, NOT_ASKED and NO_RUN) and are turned into a file here:

* variable labels: the question wording in the flow's source language (Stata: cut to 80
  characters, its limit); value labels: choice codes -> labels, yes/no, chosen/not chosen.
* single choice: integer codes 1, 2, ... in the order the options were first offered over
  all versions of the flow (so a code never changes between versions); yes/no 1/0; scale and
  number numeric; dates as dates; moments as date-times (UTC).
* missing values kept apart in numeric variables: SPSS user-missing -1 skipped, -2 not asked
  (condition false, run ended before, version without the question), -3 no run in this wave
  (panels), declared as the missing range -3..-1 with value labels; Stata extended missing
  .a, .b, .c with the same labels. Text variables get an empty string and dates/moments
  system-missing for every kind of missing (the long CSV/XLSX export keeps `skipped`).
* names valid in both programs (see `file_names`).

pyreadstat writes a whole data frame at once, so the rows of one export sit in memory
(pandas) while the file is written; the optional extra `backbone-bot[stats]` brings it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from storage.export_cells import REPLACEMENT, SURROGATES
from storage.export_writers import ExportRefused, _FileSet, _part, safe_text

STATS_FORMATS: tuple[str, ...] = ("sav", "dta")
STATS_EXTRA = (
    "SPSS and Stata files need the optional extra: pip install 'backbone-bot[stats]' "
    "(pyreadstat and pandas)"
)
STATA_LABEL_MAX = 80
NAME_MAX = 32


class Marker:
    """Why a cell is missing (a singleton per kind)."""

    def __init__(self, name: str, spss: int, stata: str, label: str) -> None:
        self.name, self.spss, self.stata, self.label = name, spss, stata, label

    def __repr__(self) -> str:
        return f"<{self.name}>"


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


def file_names(columns: Sequence[str]) -> dict[str, str]:
    """Column -> name valid in SPSS and Stata: letters, digits and _ only, starting with a
    letter, at most 32 characters, not a reserved word, unique regardless of case (a cut or
    clashing name ends in _2, _3, ...)."""
    out: dict[str, str] = {}
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
        out[column] = name
    return out


def _missing(value: Any, fmt: str) -> Any:
    return value.spss if fmt == "sav" else value.stata


def _numeric(column: Column, value: Any, fmt: str) -> Any:
    if isinstance(value, Marker):
        return _missing(value, fmt) if column.answers else None
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


def stats_value(column: Column, value: Any, fmt: str) -> Any:
    """A typed export value as the file's cell of this column (see the module's rules)."""
    if column.kind in NUMERIC:
        return _numeric(column, value, fmt)
    if isinstance(value, Marker) or value is None:
        return "" if column.kind == "text" else None
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


def _value_labels(column: Column, fmt: str) -> dict[Any, str]:
    labels: dict[Any, str] = dict(column.labels)
    if column.answers:
        for marker in MARKERS:
            labels[_missing(marker, fmt)] = marker.label
    return labels


def file_cells(
    columns: Sequence[Column], rows: Sequence[Sequence[Any]], fmt: str
) -> list[list[Any]]:
    """The rows' cells as the file's, column by column."""
    return [[stats_value(c, row[i], fmt) for row in rows] for i, c in enumerate(columns)]


def _frame(columns: Sequence[Column], by_column: list[list[Any]], fmt: str) -> Any:
    import pandas as pd

    data: dict[str, Any] = {}
    for column, cells in zip(columns, by_column, strict=True):
        if column.kind in NUMERIC and fmt == "sav":
            data[column.name] = pd.Series(cells, dtype="float64")
        elif column.kind in NUMERIC and all(not isinstance(c, str) for c in cells):
            # Stata: a column without extended missing values stays a plain number.
            data[column.name] = pd.Series(cells, dtype="float64")
        elif column.kind == "date" and all(c is None for c in cells):
            # No date at all: an empty number column, shown as a date (write_stats' formats).
            data[column.name] = pd.Series(cells, dtype="float64")
        elif column.kind == "stamp":
            data[column.name] = pd.Series(pd.to_datetime(cells), dtype="datetime64[ns]")
        else:
            data[column.name] = pd.Series(cells, dtype="object")
    return pd.DataFrame(data)


def write_stats(
    path: Path, fmt: str, columns: Sequence[Column], by_column: list[list[Any]], title: str
) -> None:
    """Write the cells (file_cells) as an SPSS or Stata file at `path` (names as in
    `columns`)."""
    try:
        import pyreadstat
    except ImportError:
        raise ExportRefused(STATS_EXTRA) from None
    frame = _frame(columns, by_column, fmt)
    del by_column[:]  # the frame holds them now
    labels = {c.name: safe_text(c.label) or None for c in columns}
    values = {c.name: safe_text(_value_labels(c, fmt)) for c in columns if c.kind in NUMERIC}
    values = {name: found for name, found in values.items() if found}
    answers = [c.name for c in columns if c.kind in NUMERIC and c.answers]
    dates = [c.name for c in columns if c.kind == "date" and frame[c.name].dtype == "float64"]
    if fmt == "sav":
        formats = {c.name: "F8.0" for c in columns if c.kind in NUMERIC - {"number"}}
        formats |= dict.fromkeys(dates, "DATE11")
        ranges = {name: [{"lo": NO_RUN.spss, "hi": SKIPPED.spss}] for name in answers}
        pyreadstat.write_sav(
            frame,
            str(path),
            file_label=safe_text(title),
            column_labels=labels,
            variable_value_labels=values,
            missing_ranges=ranges,
            variable_format=formats,
        )
        return
    labels = {name: text[:STATA_LABEL_MAX] if text else None for name, text in labels.items()}
    missing = {name: [m.stata for m in MARKERS] for name in answers}
    pyreadstat.write_dta(
        frame,
        str(path),
        file_label=safe_text(title)[:STATA_LABEL_MAX],
        column_labels=labels,
        variable_value_labels=values,
        missing_user_values=missing,
        variable_format=dict.fromkeys(dates, "%td"),
    )


def stats_available() -> bool:
    """Whether the stats extra (pyreadstat, pandas) is installed."""
    try:
        import pandas  # noqa: F401
        import pyreadstat  # noqa: F401
    except ImportError:
        return False
    return True


MISSING_NOTE = (
    "Missing answers in numeric variables: "
    + ", ".join(f"{m.spss} {m.label}" for m in MARKERS)
    + " (.sav: user-missing values, the range -3 to -1), or "
    + ", ".join(f".{m.stata} {m.label}" for m in MARKERS)
    + " (.dta: extended missing values); all with value labels. Text variables are empty "
    "and dates system-missing for every kind of missing."
)


def missing_note() -> dict[str, Any]:
    """The codebook entry telling how the file codes missing answers."""
    return {"variable": "_missing_values", "type": "note", "description": MISSING_NOTE}


class StatsWriter(_FileSet):
    """An ExportWriter for .sav/.dta: rows collected (typed), written at finish under the
    .part name, with the codebook as CSV beside it (storage.export_writers.CsvWriter's)."""

    def __init__(self, output: Path, fmt: str, columns: Sequence[Column], title: str) -> None:
        if not stats_available():
            raise ExportRefused(STATS_EXTRA)
        from storage.export_writers import codebook_path

        self.codebook_path = codebook_path(output)
        super().__init__([output, self.codebook_path])
        self.output, self.fmt, self.title = output, fmt, title
        self.names = file_names([c.name for c in columns])
        self.columns = [replace(c, name=self.names[c.name]) for c in columns]
        # The file's cells column by column, converted as the rows come.
        self.cells: list[list[Any]] = [[] for _ in columns]

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Convert the typed rows and keep them until finish."""
        for i, column in enumerate(self.columns):
            self.cells[i].extend([stats_value(column, row[i], self.fmt) for row in rows])

    def finish(self, codebook_columns: Sequence[str], codebook: Sequence[dict[str, Any]]) -> None:
        """Write the data file and the codebook CSV."""
        import csv

        from storage.export_writers import codebook_cell, csv_cell, csv_file

        write_stats(_part(self.output), self.fmt, self.columns, self.cells, self.title)
        # The codebook says under which name each column is in the file.
        columns = [codebook_columns[0], "name_in_file", *codebook_columns[1:]]
        with csv_file(_part(self.codebook_path)) as fh:
            out = csv.writer(fh)
            out.writerow(columns)
            for entry in [missing_note(), *codebook]:
                entry = {**entry, "name_in_file": self.names.get(entry.get("variable", ""))}
                out.writerow([csv_cell(codebook_cell(entry.get(c))) for c in columns])
