"""File writers for exports: CSV (+ codebook CSV), XLSX (data + codebook sheets) and JSON.

Each writer takes data rows chunk by chunk (so 10k runs never sit in memory at once), writes
to `<name>.part` files and renames them into place only when everything is written: a failed
export leaves no half-written file that looks complete.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

# Codebook cells that hold several entries (choice labels, versions) are joined with this;
# multiple-choice codes in data cells are joined with ";" (see join_value).
LIST_SEPARATOR = "; "

_MIN_WIDTH = 8
_MAX_WIDTH = 60

# A lone surrogate (e.g. half an emoji stored by an older version) cannot be encoded as
# UTF-8 or XML; it is shown as the replacement character instead of failing the export.
_SURROGATES = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"

# Spreadsheet programs run a CSV cell starting with one of these as a formula (OWASP "CSV
# injection"); a leading apostrophe makes them show it as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_NOTE_VARIABLE = "_csv_text_cells"
CSV_NOTE = (
    "In this CSV file (data and codebook), a leading apostrophe (') was added to every text "
    "cell starting with =, +, -, @, a tab or a carriage return, so spreadsheet programs show "
    "it as text instead of running it as a formula. Remove that apostrophe for the exact "
    "answer, or export again with --raw-csv (then open the file with care)."
)
CSV_NOTE_RAW = (
    "This CSV file was exported with --raw-csv: cells are exactly as stored, and spreadsheet "
    "programs may run a cell starting with =, +, -, @, a tab or a carriage return as a "
    "formula. Import it as text, or export without --raw-csv."
)


def safe_text(value: Any) -> Any:
    """`value` with lone surrogates in every string (also inside lists and dicts) replaced by
    U+FFFD, so it can always be written as UTF-8, XML or JSON."""
    if isinstance(value, str):
        return _SURROGATES.sub(REPLACEMENT, value)
    if isinstance(value, list | tuple):
        return [safe_text(item) for item in value]
    if isinstance(value, dict):
        return {safe_text(k): safe_text(v) for k, v in value.items()}
    return value


def csv_cell(value: Any, raw: bool = False) -> Any:
    """A value for a CSV cell: None empty, text made writable and, unless `raw`, defused
    with a leading apostrophe where a spreadsheet would take it for a formula."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    value = _SURROGATES.sub(REPLACEMENT, value)
    if not raw and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_note(raw: bool) -> dict[str, Any]:
    """The codebook entry telling analysts how text cells of the CSV files were written."""
    return {
        "variable": CSV_NOTE_VARIABLE,
        "type": "note",
        "description": CSV_NOTE_RAW if raw else CSV_NOTE,
    }


def codebook_cell(value: Any) -> Any:
    """A codebook value for a spreadsheet cell: options as `code=label; …`, lists joined."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict):
        return LIST_SEPARATOR.join(f"{code}={label}" for code, label in value.items())
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(item) for item in value)
    return value


def join_value(value: Any, separator: str) -> Any:
    """A data value for a spreadsheet cell: lists joined, everything else unchanged."""
    if isinstance(value, list):
        return separator.join(str(item) for item in value)
    if isinstance(value, bool):
        return int(value)
    return value


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


class ExportWriter(Protocol):
    """What export_flow drives: rows in chunks, then the codebook, then the final paths."""

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append data rows (values in column order)."""

    def finish(self, codebook_columns: Sequence[str], codebook: Sequence[dict[str, Any]]) -> None:
        """Write the codebook and close the files (still under their .part names)."""

    def commit(self) -> list[Path]:
        """Move the finished files into place; returns them."""

    def abort(self) -> None:
        """Remove partial files after an error."""


class _FileSet:
    """Final paths plus their .part twins."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        for path in self.paths:
            path.parent.mkdir(parents=True, exist_ok=True)

    def commit(self) -> list[Path]:
        for path in self.paths:
            os.replace(_part(path), path)
        return list(self.paths)

    def abort(self) -> None:
        for path in self.paths:
            _part(path).unlink(missing_ok=True)


class CsvWriter(_FileSet):
    """Data at `output`, codebook at `<stem>.codebook.csv` beside it; every cell goes through
    csv_cell (formula-like text defused unless `raw`)."""

    def __init__(
        self,
        output: Path,
        columns: Sequence[str],
        separators: Sequence[str],
        raw: bool = False,
    ) -> None:
        self.codebook_path = output.with_name(f"{output.stem}.codebook.csv")
        super().__init__([output, self.codebook_path])
        self.separators = list(separators)
        self.raw = raw
        # UTF-8 with BOM: Excel (the staff's tool) only detects UTF-8 in a CSV by the BOM and
        # would otherwise show umlauts and Cyrillic/Arabic answers as mojibake.
        self._file: IO[str] = open(_part(output), "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._file)
        self._csv.writerow([csv_cell(c, raw) for c in columns])

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append data rows; None becomes an empty cell."""
        seps, raw = self.separators, self.raw
        self._csv.writerows(
            [csv_cell(join_value(v, seps[i]), raw) for i, v in enumerate(row)] for row in rows
        )

    def finish(self, codebook_columns: Sequence[str], codebook: Sequence[dict[str, Any]]) -> None:
        """Close the data file and write the codebook CSV."""
        self._file.close()
        with open(_part(self.codebook_path), "w", encoding="utf-8-sig", newline="") as fh:
            out = csv.writer(fh)
            out.writerow([csv_cell(c, self.raw) for c in codebook_columns])
            for entry in [csv_note(self.raw), *codebook]:
                cells = [codebook_cell(entry.get(c)) for c in codebook_columns]
                out.writerow([csv_cell(v, self.raw) for v in cells])

    def abort(self) -> None:
        """Close and remove partial files."""
        self._file.close()
        super().abort()


def _json(value: Any) -> str:
    return json.dumps(safe_text(value), ensure_ascii=False)


class JsonWriter(_FileSet):
    """One JSON document: {"flow", "exported_at", "layout", "rows": [...], "codebook": [...]}."""

    def __init__(self, output: Path, columns: Sequence[str], head: dict[str, Any]) -> None:
        super().__init__([output])
        self.columns = list(columns)
        self._file: IO[str] = open(_part(output), "w", encoding="utf-8")  # noqa: SIM115
        # Streamed by hand (one row per line) so a large export never builds one huge string.
        self._file.write("{\n")
        for key, value in head.items():
            self._file.write(f"{json.dumps(key)}: {_json(value)},\n")
        self._file.write('"rows": [')
        self._first = True

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows as objects keyed by column, values typed (numbers, lists, null)."""
        cols = self.columns
        for row in rows:
            self._file.write("\n" if self._first else ",\n")
            self._first = False
            self._file.write(_json(dict(zip(cols, row, strict=True))))

    def finish(self, codebook_columns: Sequence[str], codebook: Sequence[dict[str, Any]]) -> None:
        """Write the codebook and close the document."""
        self._file.write("\n],\n" if not self._first else "],\n")
        self._file.write('"codebook": [')
        for i, entry in enumerate(codebook):
            self._file.write(",\n" if i else "\n")
            typed = {c: entry.get(c) for c in codebook_columns}
            self._file.write(_json(typed))
        self._file.write("\n]\n}\n" if codebook else "]\n}\n")
        self._file.close()

    def abort(self) -> None:
        """Close and remove the partial file."""
        self._file.close()
        super().abort()


def _xlsx_cell(ws: Any, value: Any, bold: bool = False) -> Any:
    """A value for a write-only sheet; a styled or forced-text cell only where needed."""
    if isinstance(value, str):
        # Control characters are not allowed in XLSX; they carry no meaning in answers.
        value = _SURROGATES.sub(REPLACEMENT, ILLEGAL_CHARACTERS_RE.sub("", value))
        # openpyxl turns "=…" into a formula and "#N/A" into an error; an answer is text.
        if bold or value.startswith("=") or value in ERROR_CODES:
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            if bold:
                cell.font = Font(bold=True)
            return cell
    # Plain values let openpyxl reuse one cell object per row: much faster for big sheets.
    return value


def _width(value: Any) -> int:
    if value is None:
        return 0
    text = str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def _set_widths(ws: Any, columns: Sequence[str], sample: Sequence[Sequence[Any]]) -> None:
    for i, name in enumerate(columns):
        longest = max([len(name) + 2, *(_width(row[i]) + 1 for row in sample)])
        width = min(max(longest, _MIN_WIDTH), _MAX_WIDTH)
        ws.column_dimensions[get_column_letter(i + 1)].width = width


class XlsxWriter(_FileSet):
    """Sheets "data" and "codebook": bold, frozen header row and widths from the content."""

    # Widths of the data sheet come from its first rows: streamed sheets need them up front.
    SAMPLE_ROWS = 200

    def __init__(self, output: Path, columns: Sequence[str], separators: Sequence[str]) -> None:
        super().__init__([output])
        self.columns = list(columns)
        self.separators = list(separators)
        # Write-only mode streams rows to disk; a normal workbook would keep every cell object.
        self._wb = Workbook(write_only=True)
        self._data = self._wb.create_sheet("data")
        self._data.freeze_panes = "A2"
        self._started = False

    def _flat(self, row: Sequence[Any]) -> list[Any]:
        seps = self.separators
        return [join_value(v, seps[i]) for i, v in enumerate(row)]

    def _start(self, sample: Sequence[Sequence[Any]]) -> None:
        _set_widths(self._data, self.columns, sample)
        self._data.append([_xlsx_cell(self._data, c, bold=True) for c in self.columns])
        self._started = True

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append data rows."""
        flat = [self._flat(row) for row in rows]
        if not self._started:
            self._start(flat[: self.SAMPLE_ROWS])
        ws = self._data
        for row in flat:
            ws.append([_xlsx_cell(ws, v) for v in row])

    def finish(self, codebook_columns: Sequence[str], codebook: Sequence[dict[str, Any]]) -> None:
        """Write the codebook sheet and save the workbook."""
        if not self._started:
            self._start([])
        ws = self._wb.create_sheet("codebook")
        ws.freeze_panes = "A2"
        rows = [[codebook_cell(entry.get(c)) for c in codebook_columns] for entry in codebook]
        _set_widths(ws, codebook_columns, rows)
        ws.append([_xlsx_cell(ws, c, bold=True) for c in codebook_columns])
        for row in rows:
            ws.append([_xlsx_cell(ws, v) for v in row])
        self._wb.save(_part(self.paths[0]))

    def abort(self) -> None:
        """Drop the unsaved workbook (and openpyxl's temporary sheet files)."""
        for ws in self._wb.worksheets:
            # Best effort: closing stops the sheet's row generator from writing to a closed
            # file later, and cleanup() removes its temporary file (openpyxl internals).
            try:
                if not ws.closed:
                    ws.close()
                if ws._writer is not None:
                    ws._writer.cleanup()
            except Exception:  # already failing: keep the original error
                pass
        super().abort()
