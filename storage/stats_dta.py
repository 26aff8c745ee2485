"""Stata .dta files (format 118: Stata 14 and later, UTF-8) written straight from a spool.

The file is a sequence of tagged sections (`<stata_dta><header>...<map>...<data>...
</stata_dta>`); the map near the start holds the offset of every section, so it is written
as a placeholder and filled in at the end. Rows come from `storage.stats_spool.Spool` a
batch at a time and are packed with one `struct.Struct` per row layout, so memory stays
flat however many rows there are:

* numbers, dates and moments are doubles: dates as days since 1960-01-01 (%td), moments as
  milliseconds since 1960-01-01 00:00:00 (%tc); None is `.`, the markers are the extended
  missing values .a, .b, .c (value-labelled in answer columns);
* text is str# as wide as the column's widest cell, or strL past 2045 bytes: the data then
  holds (variable, observation) references, and the strings themselves (GSO blocks, which
  follow the data in the file) go to a temporary file on the fly and are copied in after
  the data. A missing text is an empty string; NUL characters are dropped (Stata strings
  end at the first NUL).
"""

from __future__ import annotations

import math
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import IO, Any

from storage.export_stats import MARKERS, NUMERIC, STATA_LABEL_MAX, Column, cut_utf8
from storage.export_writers import ExportRefused, safe_text
from storage.stats_spool import Spool

MAX_VARIABLES = 32767  # format 118 (Stata/MP 14 to 18); more would need format 119
STR_MAX = 2045  # the widest str#; wider text is a strL
TYPE_STRL, TYPE_DOUBLE = 32768, 65526
NAME_SIZE, FORMAT_SIZE, LABEL_SIZE = 129, 57, 321  # fixed fields, NUL-padded
VALUE_LABEL_MAX = 32000  # bytes of one value label
MAX_DOUBLE = struct.unpack("<d", struct.pack("<Q", 0x7FDFFFFFFFFFFFFF))[0]
BATCH = 1024  # rows converted and packed together
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EPOCH_DAY = date(1960, 1, 1).toordinal()
EPOCH = datetime(1960, 1, 1)
MILLISECOND = timedelta(milliseconds=1)


def _missing_double(n: int) -> float:
    """Stata's missing double: n = 0 is `.`, 1 `.a`, 2 `.b`, ... (bit patterns from
    0x7FE0000000000000 in steps of 2**40)."""
    return struct.unpack("<d", struct.pack("<Q", 0x7FE0000000000000 + (n << 40)))[0]


def _letter(stata: str) -> int:
    return ord(stata) - ord("a") + 1


SYSMIS = _missing_double(0)
# A cell's double when it is missing: None system-missing, a marker its extended missing.
MISSING: dict[Any, float] = {None: SYSMIS} | {m: _missing_double(_letter(m.stata)) for m in MARKERS}
MISSING_VALUES = frozenset(MISSING.values())
# Value-label tables are int32: there `.` is 2147483621 and .a, .b, ... follow it.
LABEL_CODES = {m: 2147483621 + _letter(m.stata) for m in MARKERS}
INT32 = range(-(2**31), 2147483621)


def write_dta(path: Path, columns: Sequence[Column], spool: Spool, title: str) -> None:
    """Write the spooled cells as a Stata 118 file at `path` (names as in `columns`)."""
    if len(columns) > MAX_VARIABLES:
        raise ExportRefused(f"a Stata file holds at most {MAX_VARIABLES:,} variables")
    layout = [_layout(c, spool.widths[i]) for i, c in enumerate(columns)]
    tables = [_value_labels(c) for c in columns]
    before = {
        "variable_types": struct.pack(f"<{len(columns)}H", *[t for t, _ in layout]),
        "varnames": b"".join(_fixed(c.name, NAME_SIZE) for c in columns),
        "sortlist": bytes(2 * (len(columns) + 1)),
        "formats": b"".join(
            _fixed(_format(c, t), FORMAT_SIZE) for c, (t, _) in zip(columns, layout, strict=True)
        ),
        "value_label_names": b"".join(
            _fixed(c.name if t else "", NAME_SIZE) for c, t in zip(columns, tables, strict=True)
        ),
        "variable_labels": b"".join(_fixed(_label(c.label), LABEL_SIZE) for c in columns),
        "characteristics": b"",
    }
    labels = b"".join(_table(c.name, t) for c, t in zip(columns, tables, strict=True) if t)
    # The strL strings wait beside the output (whose disk was checked for room).
    with (
        open(path, "wb") as fh,
        tempfile.TemporaryFile(dir=path.parent, prefix=".strls-") as strls,
    ):
        fh.write(b"<stata_dta>" + _header(len(columns), spool.rows, title))
        offsets = [0, fh.tell()]  # the map's 14 offsets, filled in as the sections come
        fh.write(b"<map>" + bytes(14 * 8) + b"</map>")
        for tag, body in before.items():
            offsets.append(fh.tell())
            fh.write(_tag(tag, body))
        offsets.append(fh.tell())
        fh.write(b"<data>")
        _write_data(fh, strls, layout, spool)
        fh.write(b"</data>")
        offsets.append(fh.tell())
        fh.write(b"<strls>")
        strls.seek(0)
        shutil.copyfileobj(strls, fh)
        fh.write(b"</strls>")
        offsets.append(fh.tell())
        fh.write(_tag("value_labels", labels))
        offsets.append(fh.tell())
        fh.write(b"</stata_dta>")
        offsets.append(fh.tell())
        fh.seek(offsets[1] + len(b"<map>"))
        fh.write(struct.pack("<14Q", *offsets))


def _tag(tag: str, body: bytes) -> bytes:
    name = tag.encode()
    return b"<" + name + b">" + body + b"</" + name + b">"


def _header(k: int, n: int, title: str) -> bytes:
    """The <header>: release, byte order, K variables, N observations, label, time stamp."""
    label = _cut(safe_text(title), STATA_LABEL_MAX, LABEL_SIZE - 1)
    now = datetime.now()
    # English month names whatever the locale, as Stata writes them.
    stamp = f"{now.day:02d} {MONTHS[now.month - 1]} {now.year:04d} {now:%H:%M}".encode()
    return _tag(
        "header",
        _tag("release", b"118")
        + _tag("byteorder", b"LSF")
        + _tag("K", struct.pack("<H", k))
        + _tag("N", struct.pack("<Q", n))
        + _tag("label", struct.pack("<H", len(label)) + label)
        + _tag("timestamp", struct.pack("<B", len(stamp)) + stamp),
    )


def _fixed(text: str, size: int) -> bytes:
    """A NUL-padded fixed field (names and formats are ASCII; labels come cut)."""
    return text.encode()[: size - 1].ljust(size, b"\0")


def _cut(text: str, chars: int, size: int) -> bytes:
    """`text` without NULs, at most `chars` characters and `size` UTF-8 bytes, cut on a
    character boundary."""
    return cut_utf8(text.replace("\0", "")[:chars], size)


def _label(label: str) -> str:
    return _cut(safe_text(label), STATA_LABEL_MAX, LABEL_SIZE - 1).decode()


def _format(column: Column, type_code: int) -> str:
    if column.kind == "date":
        return "%td"
    if column.kind == "stamp":
        return "%tc"
    if column.kind == "number":
        return "%9.0g"
    if column.kind in NUMERIC:
        return "%8.0g"
    return f"%{type_code}s" if type_code <= STR_MAX else "%9s"


def _value_labels(column: Column) -> dict[int, str]:
    """The column's value-label table (code -> label), with the markers' labels on their
    extended missing values in answer columns; empty for text."""
    if column.kind == "text":
        return {}
    labels = dict(column.labels) if column.kind in NUMERIC else {}
    if column.answers:
        labels |= {LABEL_CODES[m]: m.label for m in MARKERS}
    # Stata's value labels are int32 (below its missing codes) or extended missing.
    return {int(v): str(t) for v, t in labels.items() if v in INT32 or v in LABEL_CODES.values()}


def _table(name: str, labels: dict[int, str]) -> bytes:
    """One <lbl> block: length, table name, padding, then n, text size, the offsets, the
    values and the NUL-terminated texts."""
    values = sorted(labels)
    texts = [
        _cut(safe_text(labels[v]), VALUE_LABEL_MAX, VALUE_LABEL_MAX - 1) + b"\0" for v in values
    ]
    offsets, at = [], 0
    for text in texts:
        offsets.append(at)
        at += len(text)
    n = len(values)
    table = struct.pack(f"<2i{n}i{n}i", n, at, *offsets, *values) + b"".join(texts)
    return _tag("lbl", struct.pack("<i", len(table)) + _fixed(name, NAME_SIZE) + bytes(3) + table)


# A converter turns one column of a batch into the values its struct code packs; it is
# given the cells, the variable's number (1-based) and the batch's first row number.
Converter = Callable[[Sequence[Any], int, int, IO[bytes]], list[Any]]


def _layout(column: Column, width: int) -> tuple[int, Converter]:
    """The column's Stata type code and its converter."""
    if column.kind == "text":
        width = max(width, 1)
        return (width, _texts) if width <= STR_MAX else (TYPE_STRL, _strls)
    if column.kind == "date":
        return TYPE_DOUBLE, _dates
    if column.kind == "stamp":
        return TYPE_DOUBLE, _stamps
    return TYPE_DOUBLE, _numbers


def _numbers(cells: Sequence[Any], v: int, first: int, strls: IO[bytes]) -> list[Any]:
    get = MISSING.get
    return _checked([get(c, c) for c in cells])


def _dates(cells: Sequence[Any], v: int, first: int, strls: IO[bytes]) -> list[Any]:
    get = MISSING.get
    return _checked(
        [c.toordinal() - EPOCH_DAY if c.__class__ is date else get(c, c) for c in cells]
    )


def _stamps(cells: Sequence[Any], v: int, first: int, strls: IO[bytes]) -> list[Any]:
    get = MISSING.get
    return _checked(
        [(c - EPOCH) // MILLISECOND if c.__class__ is datetime else get(c, c) for c in cells]
    )


def _checked(values: list[Any]) -> list[Any]:
    """The values if all are plain finite numbers (the fast path), else each one fixed."""
    try:
        if all(map(math.isfinite, values)):
            return values
    except (OverflowError, TypeError):
        pass
    return [_number(x) for x in values]


def _number(value: Any) -> float:
    """A cell the fast path did not take as a double: NaN, infinite, beyond Stata's largest
    double or not a number at all is system-missing."""
    if value in MISSING_VALUES:
        return value
    try:
        value = float(value)
    except (OverflowError, TypeError, ValueError):
        return SYSMIS
    return value if -MAX_DOUBLE <= value <= MAX_DOUBLE else SYSMIS


def _texts(cells: Sequence[Any], v: int, first: int, strls: IO[bytes]) -> list[Any]:
    values = [c.encode() if c.__class__ is str else b"" for c in cells]
    if b"\0" in b"".join(values):
        values = [x.replace(b"\0", b"") for x in values]
    return values


GSO = struct.Struct("<3sIQBI")  # "GSO", v, o, type (130: NUL-terminated text), length


def _strls(cells: Sequence[Any], v: int, first: int, strls: IO[bytes]) -> list[Any]:
    """The (v, o) references of a strL column, packed as v + o * 2**16 (v in the low two
    bytes, o in the six above); the strings go to `strls` as GSO blocks, in the order of
    observation then variable that readers expect. An empty string is (0, 0)."""
    refs: list[int] = []
    for o, text in enumerate(_texts(cells, v, first, strls), first):
        if text:
            strls.write(GSO.pack(b"GSO", v, o, 130, len(text) + 1) + text + b"\0")
            refs.append(v | o << 16)
        else:
            refs.append(0)
    return refs


def _batches(spool: Spool) -> Iterator[list[Any]]:
    rows = iter(spool)
    while batch := list(islice(rows, BATCH)):
        yield batch


def _write_data(
    fh: IO[bytes], strls: IO[bytes], layout: Sequence[tuple[int, Converter]], spool: Spool
) -> None:
    """The <data> rows, a batch at a time: converted column by column, packed row by row."""
    if not layout:
        return  # no variables: the observations take no bytes
    codes = ["d" if t == TYPE_DOUBLE else "Q" if t == TYPE_STRL else f"{t}s" for t, _ in layout]
    pack = struct.Struct("<" + "".join(codes)).pack
    first = 1  # the batch's first observation number (1-based, as in the strL references)
    for batch in _batches(spool):
        columns = [
            convert(cells, v, first, strls)
            for v, ((_, convert), cells) in enumerate(
                zip(layout, zip(*batch, strict=True), strict=True), 1
            )
        ]
        fh.write(b"".join(map(pack, *columns)))
        first += len(batch)
