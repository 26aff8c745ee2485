"""SPSS system files (.sav) written by streaming the spooled rows (storage.stats_spool).

The layout follows GNU PSPP's description of the system file format: the header (record
type 1, with the case count known from the spool), one variable record (type 2) per
8-byte slot of a case, value labels (types 3 and 4), the extension records (type 7:
machine integer and float info, display parameters, long variable names, very long
strings, character encoding UTF-8, long string value labels and missing values), the
dictionary terminator (999) and then the cases, uncompressed (in Python, packing whole rows
with one `struct.Struct` is faster than SPSS's bytecode compression).

Cells (see storage.export_stats): numbers, dates and moments are doubles (dates and moments
as seconds since 1582-10-14, shown DATE11 / DATETIME20); None is system-missing; a missing
answer (Marker) is -1, -2 or -3, declared as the user-missing range -3..-1 with value
labels. Text is UTF-8, padded with spaces, at least 3 and at most 32767 bytes wide (a longer
text is cut on a character boundary); None is empty and a missing answer is the string
"-1", "-2" or "-3", declared as the three discrete user-missing values and labelled. A text
answer that is itself exactly "-1", "-2" or "-3" is written with a leading apostrophe
("'-1"), so that it is not taken for a missing answer.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from storage.export_stats import MARKERS, NO_RUN, NUMERIC, SKIPPED, Column, cut_utf8
from storage.export_writers import safe_text
from storage.stats_spool import Spool

PRODUCT = b"@(#) SPSS DATA FILE backbone-bot"
SYSMIS = -sys.float_info.max
HIGHEST = sys.float_info.max
LOWEST = struct.unpack("<d", struct.pack("<Q", 0xFFEFFFFFFFFFFFFE))[0]  # next above SYSMIS
EPOCH = datetime(1582, 10, 14)  # SPSS counts dates and moments in seconds from here
EPOCH_DATE = EPOCH.date()
TEXT_MIN, TEXT_MAX = 3, 32767  # bytes; 3 so that "'-1" always fits
SHORT_STRING = 8  # wider strings keep missing values and value labels in type 7 records
VERY_LONG = 255  # wider strings are split into segments of 255 bytes
SEGMENT_STEP = 252  # ... of which SPSS counts 252 per segment when sizing them
LABEL_MAX = 255  # bytes of a variable or value label
FILE_LABEL = 64
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FORMAT_A, FORMAT_F, FORMAT_DATE, FORMAT_DATETIME = 1, 5, 20, 22
NOMINAL, SCALE = 1, 3
LEFT, RIGHT = 0, 1
QUOTED = {str(m.spss): f"'{m.spss}" for m in MARKERS}  # real answers that look missing

_VAR = struct.Struct("<iiiiii8s")


def _format(kind: int, width: int, decimals: int = 0) -> int:
    return kind << 16 | width << 8 | decimals


@dataclass
class _Var:
    """One variable of the file: its column, 8-byte short name(s) and string width."""

    column: Column
    shorts: list[bytes]  # one per segment (very long strings have several)
    width: int  # 0 numeric, else the string width in bytes

    @property
    def segments(self) -> list[int]:
        """The width of each segment (SPSS's rule for strings wider than 255 bytes)."""
        if self.width <= VERY_LONG:
            return [self.width]
        n = -(-self.width // SEGMENT_STEP)
        return [VERY_LONG] * (n - 1) + [self.width - (n - 1) * SEGMENT_STEP]

    @property
    def storage(self) -> int:
        """Bytes the variable takes in a case."""
        return sum(-(-w // 8) * 8 if w else 8 for w in self.segments)


def _variables(columns: Sequence[Column], widths: Sequence[int]) -> list[_Var]:
    taken: set[bytes] = set()

    def short(name: str) -> bytes:
        base, n = name[:8].upper(), 1
        found = base
        while found.encode() in taken:
            n += 1
            found = base[: 8 - len(str(n))] + str(n)
        taken.add(found.encode())
        return found.encode()

    out = []
    for column, width in zip(columns, widths, strict=True):
        width = min(max(width, TEXT_MIN), TEXT_MAX) if column.kind == "text" else 0
        var = _Var(column, [short(column.name)], width)
        var.shorts += [short(column.name) for _ in var.segments[1:]]
        out.append(var)
    return out


def _numeric_format(column: Column) -> int:
    if column.kind == "date":
        return _format(FORMAT_DATE, 11)
    if column.kind == "stamp":
        return _format(FORMAT_DATETIME, 20)
    return _format(FORMAT_F, 8, 2 if column.kind == "number" else 0)


def _variable_records(var: _Var) -> bytes:
    """The type 2 records of a variable: one per segment, plus continuations."""
    column, out = var.column, []
    label = cut_utf8(safe_text(column.label or ""), LABEL_MAX)
    for i, (width, name) in enumerate(zip(var.segments, var.shorts, strict=True)):
        fmt = _format(FORMAT_A, width) if var.width else _numeric_format(column)
        missing = b""
        n_missing = 0
        if i == 0 and column.answers and not var.width:
            n_missing, missing = -2, struct.pack("<dd", NO_RUN.spss, SKIPPED.spss)
        elif i == 0 and column.answers and var.width <= SHORT_STRING:
            n_missing = len(MARKERS)
            missing = b"".join(str(m.spss).encode().ljust(8) for m in MARKERS)
        has_label = int(i == 0 and bool(label))
        record = _VAR.pack(2, width, has_label, n_missing, fmt, fmt, name.ljust(8))
        if has_label:
            record += struct.pack("<i", len(label)) + label.ljust(-(-len(label) // 4) * 4)
        out.append(record + missing)
        for _ in range(-(-width // 8) - 1):  # the continuation of a string over 8 bytes
            out.append(_VAR.pack(2, -1, 0, 0, 0, 0, b"\0" * 8))
    return b"".join(out)


def _labels(column: Column) -> dict[Any, str]:
    """The value labels of a column: its own (numeric kinds) and the markers'."""
    labels: dict[Any, str] = dict(column.labels) if column.kind in NUMERIC else {}
    if column.answers:
        key = str if column.kind == "text" else float
        labels |= {key(m.spss): m.label for m in MARKERS}
    return labels


def _value_label_records(variables: Sequence[_Var]) -> bytes:
    """Types 3 and 4: value labels of numeric and short string variables."""
    out, index = [], 1
    for var in variables:
        labels = _labels(var.column)
        if labels and var.width <= SHORT_STRING:
            entries = [struct.pack("<i", len(labels))]
            for value, text in labels.items():
                raw = str(value).encode().ljust(8) if var.width else struct.pack("<d", float(value))
                label = cut_utf8(safe_text(text), LABEL_MAX)
                entry = bytes([len(label)]) + label
                entries.append(raw + entry.ljust(-(-len(entry) // 8) * 8))
            out.append(struct.pack("<i", 3) + b"".join(entries))
            out.append(struct.pack("<iii", 4, 1, index))
        index += var.storage // 8
    return b"".join(out)


def _extension(subtype: int, size: int, data: bytes) -> bytes:
    return struct.pack("<iiii", 7, subtype, size, len(data) // size) + data


def _long_string_records(variables: Sequence[_Var]) -> bytes:
    """Subtypes 21 and 22: value labels and missing values of strings over 8 bytes."""
    labels, missing = [], []
    for var in variables:
        if var.width <= SHORT_STRING or not var.column.answers:
            continue
        name = var.column.name.encode()
        head = struct.pack("<i", len(name)) + name
        entries = [head, struct.pack("<ii", var.width, len(MARKERS))]
        for value, text in _labels(var.column).items():
            label = cut_utf8(safe_text(text), LABEL_MAX)
            raw = value.encode().ljust(var.width)
            entries.append(struct.pack("<i", len(raw)) + raw + struct.pack("<i", len(label)))
            entries.append(label)
        labels.append(b"".join(entries))
        values = b"".join(str(m.spss).encode().ljust(8) for m in MARKERS)
        missing.append(head + bytes([len(MARKERS)]) + struct.pack("<i", 8) + values)
    out = b""
    if labels:
        out += _extension(21, 1, b"".join(labels))
    if missing:
        out += _extension(22, 1, b"".join(missing))
    return out


def _extension_records(variables: Sequence[_Var]) -> bytes:
    """Type 7 records: machine info, display, names, very long strings, encoding."""
    out = [
        _extension(3, 4, struct.pack("<8i", 1, 0, 0, -1, 1, 1, 2, 65001)),
        _extension(4, 8, struct.pack("<3d", SYSMIS, HIGHEST, LOWEST)),
    ]
    display = []
    for var in variables:
        kind = var.column.kind
        measure = SCALE if kind in {"number", "int", "date", "stamp"} else NOMINAL
        shown = {"date": 11, "stamp": 20}.get(kind, min(var.width, 64) if var.width else 8)
        for _ in var.segments:
            display.append(struct.pack("<3i", measure, shown, LEFT if var.width else RIGHT))
    out.append(_extension(11, 4, b"".join(display)))
    names = b"\t".join(v.shorts[0] + b"=" + v.column.name.encode() for v in variables)
    out.append(_extension(13, 1, names))
    very_long = b"".join(
        v.shorts[0] + b"=%05d\0\t" % v.width for v in variables if v.width > VERY_LONG
    )
    if very_long:
        out.append(_extension(14, 1, very_long))
    out.append(_extension(20, 1, b"UTF-8"))
    out.append(_long_string_records(variables))
    return b"".join(out)


def _header(variables: Sequence[_Var], rows: int, title: str) -> bytes:
    now = datetime.now(UTC)
    day = f"{now.day:02d} {MONTHS[now.month - 1]} {now.year % 100:02d}".encode()
    label = cut_utf8(safe_text(title or ""), FILE_LABEL).ljust(FILE_LABEL)
    slots = sum(v.storage for v in variables) // 8
    return struct.pack(
        "<4s60s5id9s8s64s3s",
        b"$FL2",
        PRODUCT.ljust(60),
        2,  # layout code
        slots,
        0,  # uncompressed
        0,  # no weight variable
        rows,
        100.0,  # compression bias
        day,
        now.strftime("%H:%M:%S").encode(),
        label,
        b"",
    )


def _text_cell(var: _Var) -> Callable[[Any], bytes]:
    """How a text cell becomes its bytes in a case (missing kinds, quoting, segments)."""
    width, storage = var.width, var.storage
    missing = {None: b"", **{m: str(m.spss).encode() for m in MARKERS}}
    very_long = width > VERY_LONG

    def cell(value: Any) -> bytes:
        # None or a marker, else the text ("-1" quoted).
        if value.__class__ is str:
            raw = cut_utf8(QUOTED.get(value, value), width)
        else:
            raw = missing[value]
        if very_long:  # 255 bytes of text in each 256-byte segment
            raw = b" ".join(raw[i : i + VERY_LONG] for i in range(0, len(raw), VERY_LONG))
        return raw.ljust(storage)

    return cell


def _moment_cell(kind: str) -> Callable[[Any], Any]:
    def day(value: Any) -> Any:
        return (value - EPOCH_DATE).days * 86400.0 if value.__class__ is date else value

    def stamp(value: Any) -> Any:
        if value.__class__ is not datetime:
            return value
        since = value - EPOCH
        return since.days * 86400.0 + since.seconds + since.microseconds / 1e6

    return day if kind == "date" else stamp


def _write_cases(fh: BinaryIO, variables: Sequence[_Var], spool: Spool) -> int:
    """Pack and write every spooled row; returns how many were written."""
    row = struct.Struct("<" + "".join(f"{v.storage}s" if v.width else "d" for v in variables))
    numbers = {None: SYSMIS, **{m: float(m.spss) for m in MARKERS}}
    nothing: dict[Any, Any] = {}
    # Per column: a lookup for the missing kinds, then (text, dates) a conversion.
    gets = [(nothing if v.width else numbers).get for v in variables]
    fixes = [
        (i, _text_cell(v) if v.width else _moment_cell(v.column.kind))
        for i, v in enumerate(variables)
        if v.width or v.column.kind in ("date", "stamp")
    ]
    pack, write, count = row.pack, fh.write, 0
    for cells in spool:
        values = [get(c, c) for get, c in zip(gets, cells, strict=True)]
        for i, fix in fixes:
            values[i] = fix(values[i])
        write(pack(*values))
        count += 1
    return count


def write_sav(path: Path, columns: Sequence[Column], spool: Spool, title: str) -> None:
    """Write the spooled cells as an SPSS system file at `path` (see the module's rules)."""
    if not columns:
        raise ValueError("an SPSS file needs at least one variable")
    variables = _variables(columns, spool.widths)
    with open(path, "wb", buffering=1 << 20) as fh:
        fh.write(_header(variables, spool.rows, title))
        fh.write(b"".join(_variable_records(v) for v in variables))
        fh.write(_value_label_records(variables))
        fh.write(_extension_records(variables))
        fh.write(struct.pack("<ii", 999, 0))
        written = _write_cases(fh, variables, spool)
    if written != spool.rows:
        raise ValueError(f"the spool gave {written} rows, not {spool.rows}")
