"""File writers for exports: CSV (+ codebook CSV), XLSX (data + codebook sheets) and JSON.

Each writer takes data rows chunk by chunk (so 10k runs never sit in memory at once), writes
to `<name>.part` files and renames them into place only when everything is written: a failed
export leaves no half-written file that looks complete.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from storage.export_cells import (
    FORMULA_STARTS,
    LIST_SEPARATOR,
    REPLACEMENT,
    SURROGATES,
    csv_cell,
    join_value,
)
from storage.export_xlsx import Sheet, cell, finish_book, open_book, widths

# Re-exported: export_polls and the tests use them from here.
__all__ = [
    "FORMULA_STARTS",
    "LIST_SEPARATOR",
    "REPLACEMENT",
    "CsvWriter",
    "ExportWriter",
    "JsonWriter",
    "XlsxWriter",
    "csv_cell",
    "join_value",
    "safe_text",
]

_MIN_WIDTH = 8
_MAX_WIDTH = 60

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
        return SURROGATES.sub(REPLACEMENT, value)
    if isinstance(value, list | tuple):
        return [safe_text(item) for item in value]
    if isinstance(value, dict):
        return {safe_text(k): safe_text(v) for k, v in value.items()}
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


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


class ExportRefused(Exception):
    """The export cannot be written as asked (nothing was written)."""


class FilesExist(ExportRefused):
    """A file the export would write exists already (and replacing was not asked for)."""


class NoData(Exception):
    """There is nothing to export (and an empty file was not asked for)."""


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """A file that cannot be written (permissions, a full disk) as ExportRefused: one line
    naming it, instead of a traceback."""
    try:
        yield
    except OSError as exc:
        raise ExportRefused(f"cannot write {path}: {exc.strerror or exc}") from None


# Excel shows at most 1,048,576 rows per sheet; the header takes one.
XLSX_MAX_ROWS = 1_048_575


def codebook_path(output: Path) -> Path:
    """Where a CSV export puts its codebook: `<stem>.codebook.csv` beside the data."""
    return output.with_name(f"{output.stem}.codebook.csv")


def refuse_existing(paths: Sequence[Path], force: bool) -> None:
    """FilesExist naming the files that exist, unless `force` (then they are replaced)."""
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise FilesExist(
            f"{', '.join(existing)} already exists; use --force to replace "
            + ("it" if len(existing) == 1 else "them")
        )


class ExportWriter(Protocol):
    """What export_flow drives: rows in chunks, then the codebook, then the final paths."""

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append data rows (finished cells in column order, see storage.export_cells)."""

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


def csv_file(path: Path) -> IO[str]:
    """A CSV file for writing, UTF-8 with BOM: Excel (the staff's tool) only detects UTF-8
    in a CSV by the BOM and would otherwise show umlauts and Cyrillic/Arabic as mojibake."""
    return open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115


class CsvWriter(_FileSet):
    """Data at `output`, codebook at `<stem>.codebook.csv` beside it; data cells come finished
    (storage.export_cells.CsvCells), header and codebook cells go through csv_cell here."""

    def __init__(
        self, output: Path, columns: Sequence[str], raw: bool = False, delimiter: str = ","
    ) -> None:
        self.codebook_path = codebook_path(output)
        super().__init__([output, self.codebook_path])
        self.raw = raw
        self.delimiter = delimiter
        self._file = csv_file(_part(output))
        self._csv = csv.writer(self._file, delimiter=delimiter)
        self._csv.writerow([csv_cell(c, raw) for c in columns])

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append data rows: lists of finished fields (storage.export_cells.CsvCells)."""
        join = self.delimiter.join
        # As csv.writer ends lines; one write per chunk.
        self._file.write("".join([join(row) + "\r\n" for row in rows]))

    def finish(self, codebook_columns: Sequence[str], codebook: Sequence[dict[str, Any]]) -> None:
        """Close the data file and write the codebook CSV."""
        self._file.close()
        with csv_file(_part(self.codebook_path)) as fh:
            out = csv.writer(fh, delimiter=self.delimiter)
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
        value = SURROGATES.sub(REPLACEMENT, ILLEGAL_CHARACTERS_RE.sub("", value))
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


def header_row(ws: Any, columns: Sequence[str]) -> list[Any]:
    """Bold header cells."""
    return [_xlsx_cell(ws, c, bold=True) for c in columns]


def autofilter(ws: Any, columns: Sequence[str], rows: int) -> None:
    """An autofilter over the header and `rows` data rows (a write-only sheet writes it at
    the end, so it can be set when the rows are counted)."""
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{rows + 1}"


class XlsxWriter(_FileSet):
    """Sheets "data" and "codebook" (storage.export_xlsx): bold, frozen header row with an
    autofilter, widths from the content; cells come finished (export_xlsx.XlsxCells), so
    moments and dates are real date cells."""

    # Widths of the data sheet come from its first rows: streamed sheets need them up front.
    SAMPLE_ROWS = 200

    def __init__(self, output: Path, columns: Sequence[str]) -> None:
        super().__init__([output])
        self.columns = list(columns)
        self._book = open_book(_part(output))
        self._data = Sheet(self._book, 1, columns)
        self._codebook: Sheet | None = None
        self._sample: list[Sequence[str]] | None = []

    def _start(self) -> None:
        if self._sample is not None:
            sample, self._sample = self._sample, None
            self._data.start(widths(self.columns, sample))
            self._data.write(["".join(row) for row in sample])

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append data rows; ExportRefused past the rows a spreadsheet can show."""
        if self._data.rows + len(rows) + len(self._sample or ()) > XLSX_MAX_ROWS:
            raise ExportRefused(
                f"more than {XLSX_MAX_ROWS:,} rows do not fit in one XLSX sheet; "
                "export CSV instead (or the wide layout: one row per run)"
            )
        if self._sample is not None:
            self._sample.extend(rows)
            if len(self._sample) < self.SAMPLE_ROWS:
                return
            self._start()
            return
        self._data.write(["".join(row) for row in rows])

    def finish(self, codebook_columns: Sequence[str], codebook: Sequence[dict[str, Any]]) -> None:
        """Write the codebook sheet and the workbook around both sheets."""
        self._start()
        self._data.close()
        rows = [[cell(codebook_cell(entry.get(c))) for c in codebook_columns] for entry in codebook]
        self._codebook = sheet = Sheet(self._book, 2, codebook_columns)
        sheet.start(widths(codebook_columns, rows))
        sheet.write(["".join(row) for row in rows])
        sheet.close()
        finish_book(self._book, [("data", self._data), ("codebook", sheet)])
        self._book.close()

    def abort(self) -> None:
        """Close what is open and remove the partial file."""
        for step in (self._data.discard, self._codebook and self._codebook.discard):
            if step is not None:
                step()
        # Already failing: keep the original error.
        with contextlib.suppress(Exception):
            self._book.close()
        super().abort()
