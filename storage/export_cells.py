"""How each file format finishes a cell: CSV text defused, quoted and lists joined (XLSX:
storage.export_xlsx.XlsxCells).

The export builds a value once and hands it to the format's `Cells`; values that repeat
(a run's cells, option codes and labels, a question's wording) are finished once and reused,
so a million answers cost a million dictionary look-ups rather than a million formatting
calls per column.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

# Lists in cells: multiple-choice codes with ";" (CODE_SEPARATOR), labels and codebook
# entries (prose) with "; ".
CODE_SEPARATOR = ";"
LIST_SEPARATOR = "; "

# Spreadsheet programs run a CSV cell starting with one of these as a formula (OWASP "CSV
# injection"); a leading apostrophe makes them show it as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# A lone surrogate (e.g. half an emoji stored by an older version) cannot be encoded as
# UTF-8 or XML; it is shown as the replacement character instead of failing the export.
SURROGATES = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def iso_utc(moment: datetime | None) -> str | None:
    """A datetime as UTC ISO 8601 with `Z`, second precision (2026-11-24T15:04:05Z)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_stamp(raw: Any) -> str | None:
    """A stored moment as UTC ISO 8601 with `Z`: as the export query formats it already, or
    SQLite's text, or a datetime."""
    if raw is None:
        return None
    if isinstance(raw, str):
        if len(raw) == 20 and raw[19] == "Z" and raw[10] == "T":
            return raw
        # SQLite keeps UTC as "2026-11-24 15:04:05[.ffffff]" (see models.UTCDateTime).
        if len(raw) == 19 or (len(raw) > 19 and raw[19] == "."):
            return f"{raw[:10]}T{raw[11:19]}Z"
        raw = datetime.fromisoformat(raw)
    return iso_utc(raw)


def csv_field(text: str, delimiter: str) -> str:
    """`text` as one field of a CSV line, quoted like csv.writer's QUOTE_MINIMAL."""
    if delimiter in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_cell(value: Any, raw: bool = False) -> Any:
    """A value for a CSV cell: None empty, text made writable and, unless `raw`, defused
    with a leading apostrophe where a spreadsheet would take it for a formula."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    value = SURROGATES.sub(REPLACEMENT, value)
    if not raw and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def join_value(value: Any, separator: str) -> Any:
    """A data value for a spreadsheet cell: lists joined, everything else unchanged."""
    if isinstance(value, list):
        return separator.join(str(item) for item in value)
    if isinstance(value, bool):
        return int(value)
    return value


class Cells:
    """JSON: values stay typed (lists, numbers, null); moments are ISO text."""

    # CSV rows are lines of text: the delimiter their finished fields are joined with.
    line: str | None = None
    # An empty cell.
    blank: Any = None

    def value(self, value: Any, separator: str) -> Any:
        """A finished data cell."""
        return value

    def number(self, value: Any) -> Any:
        """A finished integer cell (ids, counts, 0/1)."""
        return value

    def stamp(self, raw: Any) -> Any:
        """A finished moment cell from the query's ISO text."""
        return iso_stamp(raw)

    def day(self, value: Any, separator: str) -> Any:
        """A finished answer of a date step (stored as ISO text)."""
        return self.value(value, separator)


class CsvCells(Cells):
    """CSV: every cell a finished field of a line: lists joined, formula-like text defused
    unless `raw`, quoted where needed."""

    blank = ""

    def __init__(self, raw: bool = False, delimiter: str = ",") -> None:
        self.raw = raw
        self.line = delimiter

    def value(self, value: Any, separator: str) -> Any:
        """Joined, defused, quoted."""
        cell = csv_cell(join_value(value, separator), self.raw)
        return csv_field(cell if isinstance(cell, str) else str(cell), self.line or ",")

    def number(self, value: Any) -> Any:
        """As text."""
        return "" if value is None else str(value)

    def stamp(self, raw: Any) -> Any:
        """ISO text (never quoted: no delimiter or quote can be in it)."""
        return iso_stamp(raw) or ""
