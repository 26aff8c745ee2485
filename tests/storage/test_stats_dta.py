"""The streaming Stata writer (storage.stats_dta): files built from hand-made columns and a
spool, read back with pyreadstat (the independent reader) and compared cell by cell, with
their labels, formats and the kinds of missing; hostile text; memory that stays flat."""

from __future__ import annotations

import math
import re
import struct
import tracemalloc
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from storage.export_stats import NO_RUN, NOT_ASKED, SKIPPED, Column, Marker
from storage.export_writers import ExportRefused
from storage.stats_dta import BATCH, write_dta
from storage.stats_spool import Spool

pyreadstat = pytest.importorskip("pyreadstat")

RTL = "مرحبا بالعالم שלום"
EMOJI = "👩‍👩‍👧 😊"
TAGS = [
    "stata_dta",
    "map",
    "variable_types",
    "varnames",
    "sortlist",
    "formats",
    "value_label_names",
    "variable_labels",
    "characteristics",
    "data",
    "strls",
    "value_labels",
    "/stata_dta",
]


def write(tmp_path: Path, columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> Path:
    out = tmp_path / "out.dta"
    with Spool(len(columns), tmp_path) as spool:
        for start in range(0, len(rows), 700):  # several chunks, not aligned with the batches
            spool.add(rows[start : start + 700])
        write_dta(out, columns, spool, "Umfrage: Übergänge 😊")
    return out


def read(path: Path, user_missing: bool = True) -> tuple[Any, Any]:
    return pyreadstat.read_dta(str(path), user_missing=user_missing)


def expected(column: Column, cell: Any, user_missing: bool = True) -> Any:
    """A cell as it must read back: text empty when missing, markers .a/.b/.c (or plain
    missing without user_missing), None missing, numbers as floats."""
    if column.kind == "text":
        return cell.replace("\0", "") if isinstance(cell, str) else ""
    if isinstance(cell, Marker):
        return cell.stata if user_missing else None
    if cell is None or column.kind in ("date", "stamp"):
        return cell
    try:
        number = float(cell)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None  # NaN, infinite: system-missing


def same(got: Any, want: Any) -> bool:
    if got is None or (isinstance(got, float) and math.isnan(got)) or str(got) == "NaT":
        got = None
    if hasattr(got, "to_pydatetime"):
        got = got.to_pydatetime()
    return got == want


def check_cells(path: Path, columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> None:
    for user_missing in (True, False):
        frame, _ = read(path, user_missing)
        assert list(frame.columns) == [c.name for c in columns]
        assert len(frame) == len(rows)
        for i, row in enumerate(rows):
            for j, column in enumerate(columns):
                got, want = frame.iloc[i, j], expected(column, row[j], user_missing)
                assert same(got, want), (user_missing, i, column.name, got, want)


def sections(path: Path) -> tuple[bytes, list[int]]:
    raw = path.read_bytes()
    at = raw.index(b"<map>") + len(b"<map>")
    return raw, list(struct.unpack("<14Q", raw[at : at + 112]))


def types(path: Path) -> list[int]:
    raw, offsets = sections(path)
    k = struct.unpack("<H", raw[raw.index(b"<K>") + 3 :][:2])[0]
    at = offsets[2] + len(b"<variable_types>")
    return list(struct.unpack(f"<{k}H", raw[at : at + 2 * k]))


MIXED = [
    Column("age", "int", "Wie alt bist du?"),
    Column("score", "number", "Punkte"),
    Column("plan", "code", "Plan", labels={1: "Ausbildung", 2: "Studium", 3: "Weiß nicht"}),
    Column("has_job", "yesno", "Job?"),
    Column("support__time", "dummy", "Hilfe: Zeit"),
    Column("mood", "text", "Wie geht es dir?"),
    Column("since", "date", "Seit wann?"),
    Column("started_at", "stamp", "Beginn", answers=False),
    Column("run_id", "int", "Lauf", answers=False),
    Column("nothing", "text", "immer leer"),
]
MIXED_ROWS = [
    [17, 3.25, 2, 1, 1, f"Gut {EMOJI}", date(2026, 11, 2), datetime(2026, 11, 2, 9, 30, 15), 1, ""],
    [SKIPPED, NOT_ASKED, NO_RUN, SKIPPED, NOT_ASKED, SKIPPED, NOT_ASKED, None, 2, None],
    [None, None, None, None, None, None, None, None, None, NOT_ASKED],
    [-5, -1e300, 3, 0, 0, RTL, date(1959, 12, 31), datetime(1960, 1, 1), 2**53, ""],
    [0, float("nan"), 1, 0, 1, "a\0b\x01\x1f\t\r\nc", date(1, 1, 1), datetime(9999, 12, 31), 3, ""],
    [10**400, float("inf"), 1, 1, 0, "", NO_RUN, datetime(1900, 2, 28, 23, 59, 59), 4, ""],
]


def test_mixed_cells_read_back_cell_by_cell(tmp_path: Path) -> None:
    out = write(tmp_path, MIXED, MIXED_ROWS)
    check_cells(out, MIXED, MIXED_ROWS)
    frame, meta = read(out)
    assert meta.file_label == "Umfrage: Übergänge 😊"
    assert meta.column_names_to_labels["plan"] == "Plan"
    assert meta.column_names_to_labels["mood"] == "Wie geht es dir?"
    formats = meta.original_variable_types
    assert formats["since"] == "%td" and formats["started_at"] == "%tc"
    assert formats["score"] == "%9.0g" and formats["plan"] == "%8.0g"
    assert isinstance(frame["since"].iloc[0], date)
    assert isinstance(frame["started_at"].iloc[0], datetime)
    assert meta.missing_user_values["age"] == ["a"]
    assert sorted(meta.missing_user_values["plan"]) == ["c"]
    assert meta.missing_user_values["score"] == ["b"]
    assert "started_at" not in meta.missing_user_values


def test_value_labels_carry_the_missing_kinds(tmp_path: Path) -> None:
    out = write(tmp_path, MIXED, MIXED_ROWS)
    labels = read(out)[1].variable_value_labels
    missing = {"a": "skipped", "b": "not asked", "c": "no run in this wave"}
    assert labels["plan"] == {1: "Ausbildung", 2: "Studium", 3: "Weiß nicht", **missing}
    assert labels["has_job"] == {0: "no", 1: "yes", **missing}
    assert labels["support__time"] == {0: "not chosen", 1: "chosen", **missing}
    assert labels["age"] == missing and labels["since"] == missing
    # Run cells and text have none.
    assert not {"run_id", "started_at", "mood", "nothing"} & set(labels)
    # Stored as Stata's int32 codes of .a, .b, .c.
    raw = out.read_bytes()
    for code in (2147483622, 2147483623, 2147483624):
        assert struct.pack("<i", code) in raw


def test_the_map_points_at_every_section(tmp_path: Path) -> None:
    out = write(tmp_path, MIXED, MIXED_ROWS)
    raw, offsets = sections(out)
    for tag, at in zip(TAGS, offsets, strict=False):
        assert raw[at:].startswith(f"<{tag}>".encode()), tag
    assert offsets[-1] == len(raw) and raw.endswith(b"</stata_dta>")
    assert raw.startswith(b"<stata_dta><header><release>118</release><byteorder>LSF")
    stamp = raw[raw.index(b"<timestamp>") + 12 :][:17].decode()
    assert re.fullmatch(
        r"\d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d", stamp
    )


def test_text_past_2045_bytes_is_a_strl(tmp_path: Path) -> None:
    columns = [
        Column("short", "text"),
        Column("long", "text", "lang"),
        Column("n", "int"),
        Column("wide", "text"),
    ]
    border = "x" * 2045
    rows = []
    for i in range(BATCH * 2 + 17):  # several batches: the references count on
        long = f"{i} " + EMOJI * 200 if i % 3 else ("" if i % 2 else SKIPPED)
        rows.append(
            [border if i == 5 else f"s{i}", long, i, f"{RTL} {i} " * 300 if i % 5 else None]
        )
    out = write(tmp_path, columns, rows)
    assert types(out) == [2045, 32768, 65526, 32768]
    check_cells(out, columns, rows)


def test_text_widths_are_the_widest_cell(tmp_path: Path) -> None:
    columns = [Column("a", "text"), Column("b", "text"), Column("c", "text")]
    rows = [["", "😊", None], ["", "ab", SKIPPED]]
    out = write(tmp_path, columns, rows)
    assert types(out) == [1, 4, 1]  # 0 bytes still takes one; an emoji is four
    check_cells(out, columns, rows)


def test_labels_are_cut_to_80_characters_on_a_character_boundary(tmp_path: Path) -> None:
    long = "😊" * 79 + "éé" + "x" * 100
    columns = [Column("v", "int", long, labels={1: "ja\0" + "ü" * 40000})]
    out = tmp_path / "cut.dta"
    with Spool(1, tmp_path) as spool:
        spool.add([[1]])
        write_dta(out, columns, spool, "T" * 79 + "😊" + "rest")
    _, meta = read(out)
    assert meta.column_names_to_labels["v"] == long[:80]
    assert meta.file_label == "T" * 79 + "😊"
    label = meta.variable_value_labels["v"][1]
    assert label.startswith("jaüü") and len(label.encode()) <= 32000


def test_empty_tables(tmp_path: Path) -> None:
    out = write(tmp_path, [], [])
    frame, _ = read(out)
    assert frame.shape == (0, 0)
    columns = [Column("a", "int"), Column("t", "text"), Column("d", "date")]
    out = write(tmp_path, columns, [])
    frame, _ = read(out)
    assert list(frame.columns) == ["a", "t", "d"] and len(frame) == 0
    rows = [[SKIPPED, SKIPPED, SKIPPED]] * 3
    check_cells(write(tmp_path, columns, rows), columns, rows)


def test_many_columns(tmp_path: Path) -> None:
    columns = [
        Column(f"v{i}", ("int", "text", "date", "code")[i % 4], f"Frage {i}") for i in range(2000)
    ]
    cells = (7, "t😊", date(2020, 2, 29), NOT_ASKED)
    rows = [
        [cells[(i + r) % 4] if (i + r) % 4 == i % 4 else None for i in range(2000)]
        for r in range(5)
    ]
    check_cells(write(tmp_path, columns, rows), columns, rows)


def test_too_many_variables_are_refused(tmp_path: Path) -> None:
    columns = [Column(f"v{i}", "int") for i in range(32768)]
    with Spool(len(columns), tmp_path) as spool, pytest.raises(ExportRefused, match="32,767"):
        write_dta(tmp_path / "wide.dta", columns, spool, "t")


def test_markers_come_back_from_the_spool_as_themselves(tmp_path: Path) -> None:
    columns = [Column("a", "int"), Column("d", "date"), Column("s", "stamp")]
    rows = [[SKIPPED, NOT_ASKED, NO_RUN], [1, date(2000, 1, 1), datetime(2000, 1, 1, 1, 1, 1)]]
    with Spool(len(columns), tmp_path) as spool:
        spool.add(rows)
        assert [c for c in next(iter(spool))] == [SKIPPED, NOT_ASKED, NO_RUN]
        assert all(a is b for a, b in zip(next(iter(spool)), rows[0], strict=True))
    check_cells(write(tmp_path, columns, rows), columns, rows)


def _peak(tmp_path: Path, n: int) -> int:
    columns = [Column("n", "number"), Column("t", "text"), Column("d", "date"), Column("c", "code")]
    row = [1.5, "Antwort mit etwas Text 😊", date(2026, 1, 1), SKIPPED]
    with Spool(len(columns), tmp_path) as spool:
        for _ in range(n // 1000):
            spool.add([row] * 1000)
        tracemalloc.start()
        try:
            write_dta(tmp_path / f"{n}.dta", columns, spool, "m")
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    small, large = _peak(tmp_path, 20_000), _peak(tmp_path, 200_000)
    assert large < small * 1.5 + 256 * 1024, (small, large)
    frame, _ = read(tmp_path / "200000.dta")
    assert len(frame) == 200_000 and frame["c"].iloc[-1] == "a"


def test_pandas_reads_the_file_too(tmp_path: Path) -> None:
    """A second independent reader (pandas' own Stata parser, not ReadStat)."""
    pd = pytest.importorskip("pandas")
    columns = [*MIXED, Column("long", "text")]
    rows = [[*row, EMOJI * (i * 200)] for i, row in enumerate(MIXED_ROWS)]
    out = write(tmp_path, columns, rows)
    with pd.io.stata.StataReader(out) as reader:
        frame = reader.read(convert_dates=False, convert_missing=True, convert_categoricals=False)
        assert reader.data_label == "Umfrage: Übergänge 😊"
        assert reader.value_labels()["plan"][2147483622] == "skipped"
    assert [str(frame["age"].iloc[i]) for i in (1, 2)] == [".a", "."]
    assert frame["since"].iloc[3] == -1 and frame["started_at"].iloc[3] == 0
    assert list(frame["long"]) == [row[-1] for row in rows]
