"""The streaming SPSS writer (storage.stats_sav), read back with ReadStat (pyreadstat)."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyreadstat
import pytest

from storage.export_stats import MARKERS, NO_RUN, NOT_ASKED, SKIPPED, Column, Marker
from storage.stats_sav import TEXT_MAX, write_sav
from storage.stats_spool import Spool

S, N, R = SKIPPED, NOT_ASKED, NO_RUN
MARKER_LABELS = {-1.0: "skipped", -2.0: "not asked", -3.0: "no run in this wave"}
TEXT_LABELS = {"-1": "skipped", "-2": "not asked", "-3": "no run in this wave"}
TEXT_MISSING = [{"lo": v, "hi": v} for v in ("-1", "-2", "-3")]

COLUMNS = [
    Column("pseudonym", "text", "Who", answers=False),
    Column("age", "int", "Wie alt bist du?"),
    Column("plan", "code", "Plan", labels={1: "Ausbildung", 2: "Studium"}),
    Column("share", "number", "Anteil"),
    Column("has_job", "yesno", "Job?"),
    Column("support__time", "dummy", "Zeit"),
    Column("note", "text", "Notiz"),
    Column("short", "text", "Kurz"),
    Column("essay", "text", "Aufsatz"),
    Column("job_since", "date", "Seit wann?"),
    Column("started_at", "stamp", "Beginn", answers=False),
    Column("answered_at", "stamp", "Antwort"),
]
ROWS = [
    ["p1", 17, 1, 0.25, 1, 1, "Hallo 😀 שלום", "ok", "é" * 300, date(2020, 2, 29),
     datetime(2026, 5, 1, 12, 30, 15), datetime(1999, 12, 31, 23, 59, 59)],
    ["p2", S, N, S, N, R, S, N, R, S, None, N],
    ["p3", None, None, None, None, None, None, None, None, None, None, None],
    ["p4", 0, 2, -0.5, 0, 0, "-1", "-3", "-2", date(1582, 10, 14),
     datetime(1970, 1, 1), datetime(2100, 1, 1, 0, 0, 1)],
    ["", -7, 1, 1e300, 1, 0, "", "a\tb\x01", "x" * 70000, date(9999, 12, 31),
     datetime(1600, 3, 1, 1, 2, 3), None],
]  # fmt: skip


def spool_of(tmp_path: Path, rows: Sequence[Sequence[Any]], n: int) -> Spool:
    spool = Spool(n, tmp_path)
    for start in range(0, len(rows), 2):  # several chunks
        spool.add(rows[start : start + 2])
    return spool


def written(
    tmp_path: Path, columns: Sequence[Column], rows: Sequence[Sequence[Any]], title: str = "T"
) -> Path:
    out = tmp_path / "out.sav"
    with spool_of(tmp_path, rows, len(columns)) as spool:
        write_sav(out, columns, spool, title)
    return out


def expected(column: Column, value: Any) -> Any:
    """What ReadStat gives back with user_missing=True (None for NaN/NaT)."""
    if column.kind == "text":
        if isinstance(value, Marker):
            return str(value.spss)
        if value in ("-1", "-2", "-3"):
            return "'" + value  # a real answer that looks missing
        return (value or "").encode()[:TEXT_MAX].decode("utf-8", "ignore")
    if isinstance(value, Marker):
        # The reader turns the codes into dates and moments too (seconds before 1582-10-14).
        if column.kind == "date":
            return date(1582, 10, 13)
        if column.kind == "stamp":
            return datetime(1582, 10, 14) + timedelta(seconds=value.spss)
        return float(value.spss)
    return value


def got_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "NaT":
        return None
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value


def test_cells_read_back_cell_by_cell(tmp_path: Path) -> None:
    frame, meta = pyreadstat.read_sav(str(written(tmp_path, COLUMNS, ROWS)), user_missing=True)
    assert list(frame.columns) == [c.name for c in COLUMNS]
    assert len(frame) == len(ROWS)
    for i, row in enumerate(ROWS):
        for column, value in zip(COLUMNS, row, strict=True):
            got = got_cell(frame[column.name].iloc[i])
            assert got == expected(column, value), (i, column.name, got)


def test_metadata(tmp_path: Path) -> None:
    out = written(tmp_path, COLUMNS, ROWS, title="Übergänge 2026")
    _, meta = pyreadstat.read_sav(str(out), user_missing=True)
    assert meta.file_label == "Übergänge 2026"
    assert meta.column_names_to_labels["age"] == "Wie alt bist du?"
    types = meta.original_variable_types
    assert types["age"] == "F8.0" and types["share"] == "F8.2" and types["plan"] == "F8.0"
    assert types["job_since"] == "DATE11" and types["started_at"] == "DATETIME20"
    assert types["note"] == "A" + str(len("Hallo 😀 שלום".encode())) and types["short"] == "A4"
    assert types["essay"] == f"A{TEXT_MAX}" and types["pseudonym"] == "A3"
    values = meta.variable_value_labels
    assert values["plan"] == {1.0: "Ausbildung", 2.0: "Studium", **MARKER_LABELS}
    assert values["has_job"] == {1.0: "yes", 0.0: "no", **MARKER_LABELS}
    assert values["support__time"] == {1.0: "chosen", 0.0: "not chosen", **MARKER_LABELS}
    assert values["job_since"] == MARKER_LABELS and values["answered_at"] == MARKER_LABELS
    for name in ("note", "short", "essay"):  # short (type 3) and long (subtype 21) strings
        assert values[name] == TEXT_LABELS
    assert "pseudonym" not in values and "started_at" not in values
    ranges = meta.missing_ranges
    for name in ("age", "plan", "share", "has_job", "support__time"):
        assert ranges[name] == [{"lo": -3.0, "hi": -1.0}]
    # ReadStat reports the string discrete missing values as ranges of one value each
    # (short strings from the type 2 record, longer ones from subtype 22).
    for name in ("note", "short", "essay"):
        assert ranges[name] == TEXT_MISSING
    assert "pseudonym" not in ranges and "started_at" not in ranges
    assert not meta.missing_user_values
    measure = meta.variable_measure
    assert {n for n, m in measure.items() if m == "scale"} == {
        "age", "share", "job_since", "started_at", "answered_at"
    }  # fmt: skip
    assert meta.variable_alignment["note"] == "left" and meta.variable_alignment["age"] == "right"


def test_user_missing_off_reads_markers_as_missing(tmp_path: Path) -> None:
    frame, _ = pyreadstat.read_sav(str(written(tmp_path, COLUMNS, ROWS)), user_missing=False)
    markers = frame.iloc[1]
    for column in COLUMNS[1:]:
        if column.answers:  # numbers, dates, moments: NaN; strings: NaN too (not "")
            assert got_cell(markers[column.name]) is None, column.name
    assert frame["note"].iloc[3] == "'-1" and frame["note"].iloc[2] == ""
    assert frame["age"].iloc[0] == 17


def test_hostile_text(tmp_path: Path) -> None:
    texts = ["", "😀" * 100, "שלום עולם", "é" * 128 + "x", "\x01\x07\t\n\r\x1f", "e\u0301", "a\0b"]
    texts += ["é" * (TEXT_MAX // 2 + 5), "  lead", "trail  "]
    column = Column("t", "text", answers=False)
    frame, meta = pyreadstat.read_sav(str(written(tmp_path, [column], [[t] for t in texts])))
    got = list(frame["t"])
    assert got[:6] == texts[:6]
    assert got[6] == "ab"  # ReadStat drops the NUL (the file keeps it)
    assert got[7] == "é" * (TEXT_MAX // 2)  # cut at 32767 bytes on a character boundary
    assert got[8] == "  lead" and got[9] == "trail"  # SPSS pads with spaces
    assert meta.original_variable_types["t"] == f"A{TEXT_MAX}"


def test_labels_are_cut_on_a_character_boundary(tmp_path: Path) -> None:
    long = "ü" * 200  # 400 bytes
    column = Column("v", "code", long, labels={1: long, 2: "😀" * 70})
    text = Column("w", "text", "x" * 254 + "é")
    out = written(tmp_path, [column, text], [[1, "a"]], title="€" * 30)
    _, meta = pyreadstat.read_sav(str(out))
    assert meta.column_names_to_labels["v"] == "ü" * 127  # 254 of at most 255 bytes
    assert meta.column_names_to_labels["w"] == "x" * 254
    assert meta.variable_value_labels["v"][1.0] == "ü" * 127
    assert meta.variable_value_labels["v"][2.0] == "😀" * 63  # 252 bytes
    assert meta.file_label == "€" * 21  # 63 of at most 64 bytes


def test_empty_table_and_all_missing_column(tmp_path: Path) -> None:
    frame, meta = pyreadstat.read_sav(str(written(tmp_path, COLUMNS, [])), user_missing=True)
    assert len(frame) == 0 and list(frame.columns) == [c.name for c in COLUMNS]
    assert meta.missing_ranges["essay"] == TEXT_MISSING
    assert meta.original_variable_types["note"] == "A3"  # no text at all: the minimum width
    (tmp_path / "out.sav").unlink()
    rows = [[None, S, None], [None, N, None], [None, R, None]]
    columns = [Column("a", "int"), Column("b", "text"), Column("c", "date")]
    frame, _ = pyreadstat.read_sav(str(written(tmp_path, columns, rows)), user_missing=True)
    assert frame["a"].isna().all() and frame["c"].isna().all()
    assert list(frame["b"]) == ["-1", "-2", "-3"]
    with pytest.raises(ValueError), Spool(0, tmp_path) as spool:
        write_sav(tmp_path / "none.sav", [], spool, "")


def test_many_columns_with_clashing_short_names(tmp_path: Path) -> None:
    # 600 names alike in their first 8 characters, some very long strings among them.
    columns = [Column(f"question_{i:03d}", "text" if i % 50 == 0 else "number") for i in range(600)]
    row = ["q" * 600 if c.kind == "text" else float(i) for i, c in enumerate(columns)]
    frame, meta = pyreadstat.read_sav(str(written(tmp_path, columns, [row, row])))
    assert list(frame.columns) == [c.name for c in columns]
    assert list(frame.iloc[1]) == row
    assert meta.original_variable_types["question_050"] == "A600"


def test_markers_labelled_in_every_answer_kind(tmp_path: Path) -> None:
    columns = [Column(f"{kind}_v", kind) for kind in ("int", "date", "stamp", "text")]
    rows = [[m] * 4 for m in MARKERS]
    out = str(written(tmp_path, columns, rows))
    # The raw doubles: the reader would turn the dates' missing range into dates.
    frame, meta = pyreadstat.read_sav(out, user_missing=True, disable_datetime_conversion=True)
    for name in ("int_v", "date_v", "stamp_v"):
        assert meta.variable_value_labels[name] == MARKER_LABELS
        assert meta.missing_ranges[name] == [{"lo": -3.0, "hi": -1.0}]
    for name in ("int_v", "date_v", "stamp_v"):
        assert list(frame[name]) == [-1.0, -2.0, -3.0]
    assert list(frame["text_v"]) == ["-1", "-2", "-3"]
    assert meta.variable_value_labels["text_v"] == TEXT_LABELS


def _peak(tmp_path: Path, rows: int) -> int:
    columns = [Column("a", "int"), Column("b", "number"), Column("c", "text"),
               Column("d", "date"), Column("e", "stamp")]  # fmt: skip
    spool = Spool(len(columns), tmp_path)
    chunk = [
        [i, i / 3, f"answer {i}", date(2020, 1, 1), datetime(2020, 1, 1, 1)] for i in range(1000)
    ]
    for _ in range(rows // len(chunk)):
        spool.add(chunk)
    del chunk
    tracemalloc.start()
    try:
        write_sav(tmp_path / f"{rows}.sav", columns, spool, "memory")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        spool.close()


def test_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    small, large = _peak(tmp_path, 20_000), _peak(tmp_path, 200_000)
    # One spool chunk plus the write buffer, whatever the number of rows.
    assert large - small < 256 * 1024, (small, large)
    frame, _ = pyreadstat.read_sav(str(tmp_path / "200000.sav"), row_limit=3, row_offset=199_997)
    assert list(frame["a"]) == [997.0, 998.0, 999.0]
