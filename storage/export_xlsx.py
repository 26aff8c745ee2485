"""A streaming XLSX writer for flow exports: sheet XML written row by row into the zip.

openpyxl builds an object per cell and serialises it element by element: a million answers
(18 million cells) took 40 times as long as the same CSV. Here every cell is a finished XML
fragment (storage.export_cells.XlsxCells), and the export finishes a repeating value once
(see storage.export_rows), so a row costs one string join. What is written is the plain
subset of SpreadsheetML (ECMA-376) that Excel, LibreOffice and openpyxl read: inline strings,
numbers, date cells by number format, a bold frozen header row, column widths and an
autofilter. Poll exports are small and stay with openpyxl (storage.export_polls).
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from html import unescape
from pathlib import Path
from typing import IO, Any

from openpyxl.utils import get_column_letter

from storage.export_cells import REPLACEMENT, SURROGATES, Cells, iso_stamp, join_value

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Cell styles (cellXfs below): 1 date and time, 2 date, 3 bold header.
STAMP_STYLE, DAY_STYLE, HEADER_STYLE = 1, 2, 3
STYLES = (
    HEAD + f'<styleSheet xmlns="{MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"

# Control characters are not allowed in XML; they carry no meaning in answers.
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037\ufffe\uffff]")
_TAGS = re.compile(r"<[^>]*>")
_EPOCH = datetime(1899, 12, 30)  # day 0 of Excel's 1900 date system (after its leap bug)
MIN_WIDTH, MAX_WIDTH = 8, 60


def text_cell(text: str, style: int = 0) -> str:
    """An inline string cell: always text, never a formula or an error value."""
    text = _ILLEGAL.sub("", SURROGATES.sub(REPLACEMENT, text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    styled = f' s="{style}"' if style else ""
    return f'<c t="inlineStr"{styled}><is><t xml:space="preserve">{text}</t></is></c>'


def number_cell(value: Any, style: int = 0) -> str:
    """A number cell (booleans as 0/1)."""
    styled = f' s="{style}"' if style else ""
    return f"<c{styled}><v>{int(value) if isinstance(value, bool) else value!r}</v></c>"


def stamp_cell(moment: datetime) -> str:
    """A date-and-time cell (naive, as shown)."""
    delta = moment - _EPOCH
    return number_cell(delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400, STAMP_STYLE)


def day_cell(day: date) -> str:
    """A date cell."""
    return number_cell((day - _EPOCH.date()).days, DAY_STYLE)


def cell(value: Any) -> str:
    """Any export value as a cell; None is an empty cell that keeps the column."""
    if value is None:
        return "<c/>"
    if isinstance(value, str):
        return text_cell(value)
    if isinstance(value, datetime):
        return stamp_cell(value.replace(tzinfo=None))
    if isinstance(value, date):
        return day_cell(value)
    if isinstance(value, bool | int | float):
        return number_cell(value)
    return text_cell(str(value))


def shown_width(fragment: str) -> int:
    """About how wide a finished cell shows (its longest line of text)."""
    if f' s="{STAMP_STYLE}"' in fragment:
        return 19
    if f' s="{DAY_STYLE}"' in fragment:
        return 10
    text = unescape(_TAGS.sub("", fragment))
    return max((len(line) for line in text.splitlines()), default=0)


def widths(columns: Sequence[str], sample: Sequence[Sequence[str]]) -> list[int]:
    """Column widths from the header and a sample of finished rows (all cells separate)."""
    out = []
    for i, name in enumerate(columns):
        longest = max([len(name) + 2, *(shown_width(row[i]) + 1 for row in sample)])
        out.append(min(max(longest, MIN_WIDTH), MAX_WIDTH))
    return out


class Sheet:
    """One worksheet streamed into the zip: header row frozen, then rows, then the filter."""

    def __init__(self, book: zipfile.ZipFile, number: int, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.rows = 0
        self._file: IO[bytes] = book.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=True)

    def start(self, column_widths: Sequence[int]) -> None:
        """The sheet's head: frozen first row, widths, the header cells."""
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
            for i, w in enumerate(column_widths, start=1)
        )
        header = "".join(text_cell(c, HEADER_STYLE) for c in self.columns)
        self._write(
            HEAD + f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}"><sheetViews>'
            '<sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/>'
            '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f'<cols>{cols}</cols><sheetData><row r="1">{header}</row>'
        )

    def write(self, rows: Sequence[str]) -> None:
        """Rows as the finished cells of each, joined."""
        first = self.rows + 2
        self.rows += len(rows)
        self._write("".join([f'<row r="{first + i}">{row}</row>' for i, row in enumerate(rows)]))

    def filter_ref(self) -> str:
        """The range the autofilter covers: header and every row."""
        return f"A1:{get_column_letter(max(len(self.columns), 1))}{self.rows + 1}"

    def close(self) -> None:
        """The sheet's tail: the autofilter."""
        self._write(f'</sheetData><autoFilter ref="{self.filter_ref()}"/></worksheet>')
        self._file.close()

    def discard(self) -> None:
        """Close the sheet's stream after an error (the package is removed anyway)."""
        # Already failing: keep the original error.
        with contextlib.suppress(Exception):
            self._file.close()

    def _write(self, text: str) -> None:
        self._file.write(text.encode("utf-8"))


def _absolute(ref: str) -> str:
    start, end = ref.split(":")
    split = [re.match(r"([A-Z]+)(\d+)", part).groups() for part in (start, end)]
    return ":".join(f"${letters}${digits}" for letters, digits in split)


def finish_book(book: zipfile.ZipFile, sheets: Sequence[tuple[str, Sheet]]) -> None:
    """The package parts around the sheets: content types, relations, workbook, styles."""
    count = len(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_TYPES}.worksheet+xml"/>'
        for i in range(1, count + 1)
    )
    book.writestr(
        "[Content_Types].xml",
        HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPES}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_TYPES}.styles+xml"/>'
        f"{overrides}</Types>",
    )
    book.writestr(
        "_rels/.rels",
        HEAD + f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
        f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, count + 1)
    )
    styles = f'<Relationship Id="rId{count + 1}" Type="{RELS}/styles" Target="styles.xml"/>'
    book.writestr(
        "xl/_rels/workbook.xml.rels",
        HEAD + f'<Relationships xmlns="{PACKAGE_RELS}">{rels}{styles}</Relationships>',
    )
    names = "".join(
        f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
        for i, (name, _) in enumerate(sheets, start=1)
    )
    # Excel finds an autofilter's range through this hidden name.
    filters = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"'{name}'!{_absolute(sheet.filter_ref())}</definedName>"
        for i, (name, sheet) in enumerate(sheets)
    )
    book.writestr(
        "xl/workbook.xml",
        HEAD + f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>{names}</sheets>'
        f"<definedNames>{filters}</definedNames></workbook>",
    )
    book.writestr("xl/styles.xml", STYLES)


def open_book(path: Path) -> zipfile.ZipFile:
    """A new XLSX package; level 1 compression: XML shrinks about as well, much faster."""
    return zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)


class XlsxCells(Cells):
    """XLSX: every cell a finished XML fragment; lists joined, text always text, moments and
    dates real date cells (naive UTC: spreadsheets have no time zones; the codebook says
    UTC)."""

    blank = "<c/>"

    def value(self, value: Any, separator: str) -> Any:
        """Joined, as a cell."""
        return cell(join_value(value, separator))

    def number(self, value: Any) -> Any:
        """A number cell."""
        return "<c/>" if value is None else number_cell(value)

    def stamp(self, raw: Any) -> Any:
        """A date-and-time cell."""
        iso = iso_stamp(raw)
        return "<c/>" if iso is None else stamp_cell(datetime.fromisoformat(iso[:19]))

    def day(self, value: Any, separator: str) -> Any:
        """A date cell when the answer is an ISO date, else the text as stored."""
        if isinstance(value, str):
            try:
                return day_cell(date.fromisoformat(value))
            except ValueError:
                pass
        return self.value(value, separator)
