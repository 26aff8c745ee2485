"""Exports checked cell by cell in every format and layout, plus privacy, audit and scale."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, insert, select
from sqlalchemy.dialects import postgresql, sqlite

import storage.export as export_module
import storage.export_plan as export_plan
import storage.export_stream as export_stream
from flows import engine
from flows.model import Flow, Step, StepType
from storage.export import NoData, export_flow
from storage.models import Answer, AuditEntry, Run
from storage.repo import Database
from tests.storage.exportdata import (
    FLOW_ID,
    LONG_COLUMNS,
    RUN_COLUMNS,
    SECRET_FILE_IDS,
    SECRETS,
    WIDE_STEP_COLUMNS,
    expected_long,
    expected_wide,
    seed,
)

pytestmark = pytest.mark.storage

FORMATS = ["csv", "xlsx", "json"]
LAYOUTS = ["wide", "long"]
BOM = b"\xef\xbb\xbf"
CODEBOOK_COLUMNS = [
    "variable",
    "step",
    "type",
    "text_de",
    "text_en",
    "options",
    "options_en",
    "min",
    "max",
    "optional",
    "condition",
    "versions",
    "description",
]


# --------------------------------------------------------------------------- reading back


def read_export(
    fmt: str, paths: list[Path], codebook_columns: list[str] = CODEBOOK_COLUMNS
) -> tuple[list[str], list[dict[str, Any]], list]:
    """(data columns, data rows as dicts, codebook rows as dicts) of an export."""
    if fmt == "csv":
        data, codebook = paths
        for path in paths:
            assert path.read_bytes().startswith(BOM), f"{path.name} lacks the UTF-8 BOM"
        header, rows = _csv(data)
        cb_header, cb_rows = _csv(codebook)
        assert cb_header == codebook_columns
        return header, rows, cb_rows
    (path,) = paths
    if fmt == "xlsx":
        wb = load_workbook(path)
        assert wb.sheetnames == ["data", "codebook"]
        header, rows = _sheet(wb["data"])
        cb_header, cb_rows = _sheet(wb["codebook"])
        assert cb_header == codebook_columns
        return header, rows, cb_rows
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert list(doc) == ["flow", "exported_at", "layout", "rows", "codebook"]
    header = list(doc["rows"][0]) if doc["rows"] else []
    for entry in doc["codebook"]:
        assert list(entry) == codebook_columns
    return header, doc["rows"], doc["codebook"]


def _csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


def _sheet(ws) -> tuple[list[str], list[dict[str, Any]]]:
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    return header, [dict(zip(header, row, strict=True)) for row in rows[1:]]


STAMP_COLUMNS = ("started_at", "finished_at", "answered_at", "updated_at")


def as_cell(
    fmt: str, value: Any, column: str = "", codebook: bool = False, day: bool = False
) -> Any:
    """The typed (JSON) value as the given format shows it; XLSX has real dates (`day`: the
    answer of a date step)."""
    if fmt == "json":
        return value
    if fmt == "xlsx" and not codebook and value is not None:
        if column in STAMP_COLUMNS:
            return datetime.fromisoformat(value.removesuffix("Z"))
        if day:
            return datetime.fromisoformat(value)
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, dict):
        value = "; ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        sep = "; " if codebook or column == "value_label" else ";"
        value = sep.join(value)
    if fmt == "csv":
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value  # defused for spreadsheets
        return "" if value is None else str(value)
    return value


def assert_rows(fmt: str, got: list[dict], want: list[dict], columns: list[str]) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert list(g) == columns
        for column in columns:
            day = column == "job_since" or (column == "value" and w.get("step_type") == "date")
            expected = as_cell(fmt, w[column], column, day=day)
            assert g[column] == expected, f"row {i} ({w['run_id']}), column {column}"


# --------------------------------------------------------------------------- expectations


def expected_codebook() -> dict[str, dict[str, Any]]:
    """Codebook entries (typed) for the step variables, by variable."""
    both = ["2026-1", "2026-2"]
    base = dict.fromkeys(CODEBOOK_COLUMNS)
    entries = {
        "mood": {
            "type": "text",
            "text_de": "Wie geht's dir, {first_name}?",
            "text_en": "How are you, {first_name}?",
            "optional": False,
            "versions": both,
        },
        "plan": {
            "type": "single_choice",
            "text_de": "Was hast du nach der Schule vor?",
            "text_en": "What are your plans after school?",
            "options": {"training": "Ausbildung", "study": "Studium", "unsure": "Weiß noch nicht"},
            "options_en": {
                "training": "Apprenticeship",
                "study": "University",
                "unsure": "Not sure yet",
            },
            "optional": False,
            "versions": both,
        },
        "wishes": {
            "type": "text",
            "text_de": "Was wünschst du dir?",
            "text_en": "What do you wish for?",
            "optional": True,
            "versions": ["2026-2"],
        },
        "support": {
            "type": "multiple_choice",
            "text_de": "Was würde dir helfen?",
            "text_en": "What would help you?",
            "options": {
                "mentor": "Mentor*in",
                "money": "Geld",
                "time": "Zeit für mich",
                "friends": "Freund*innen",
            },
            "options_en": {
                "mentor": "A mentor",
                "money": "Money",
                "time": "Time for me",
                "friends": "Friends",
            },
            "min": 0,
            "max": 4,
            "optional": True,
            "versions": both,
        },
        "confidence": {
            "type": "scale",
            # newest wording; its English translation is missing -> source language
            "text_de": "Wie genau weißt du, was du willst?",
            "text_en": "Wie genau weißt du, was du willst?",
            "min": 1,
            "max": 5,
            "optional": False,
            "versions": both,
        },
        "age": {
            "type": "number",
            "text_de": "Wie alt bist du?",
            "text_en": "How old are you?",
            "min": 10,
            "max": 30,
            "optional": False,
            "versions": both,
        },
        "has_job": {
            "type": "yes_no",
            "text_de": "Hast du einen Nebenjob?",
            "text_en": "Hast du einen Nebenjob?",
            "optional": False,
            "versions": both,
        },
        "job_since": {
            "type": "date",
            "text_de": "Seit wann?",
            "text_en": "Seit wann?",
            "optional": True,
            "condition": 'has_job == "yes"',
            "versions": both,
        },
        "voice_note": {
            "type": "voice",
            "text_de": "Erzähl uns etwas per Sprachnachricht.",
            "text_en": "Erzähl uns etwas per Sprachnachricht.",
            "optional": True,
            "versions": both,
        },
        "picture": {
            "type": "photo",
            "text_de": "Schick uns ein Foto.",
            "text_en": "Schick uns ein Foto.",
            "optional": True,
            "versions": both,
        },
    }
    out = {}
    for name, entry in entries.items():
        out[name] = {**base, "variable": name, "step": name, **entry}
    return out


DUMMIES = {
    "support__mentor": ("Mentor*in", "A mentor", ["2026-1", "2026-2"]),
    "support__money": ("Geld", "Money", ["2026-1", "2026-2"]),
    "support__time": ("Zeit für mich", "Time for me", ["2026-1", "2026-2"]),
    "support__friends": ("Freund*innen", "Friends", ["2026-2"]),
}


def check_codebook(fmt: str, layout: str, codebook: list[dict[str, Any]]) -> None:
    by_var = {entry["variable"]: entry for entry in codebook}
    assert len(by_var) == len(codebook), "duplicate codebook variables"
    # Every data column is described.
    columns = RUN_COLUMNS + (WIDE_STEP_COLUMNS if layout == "wide" else LONG_COLUMNS[9:])
    for column in columns:
        assert column in by_var, column
    step_rows = [e["variable"] for e in codebook if as_cell("json", e["step"])]
    if layout == "wide":
        assert step_rows == WIDE_STEP_COLUMNS
    else:
        assert step_rows == [c for c in WIDE_STEP_COLUMNS if "__" not in c]
    for name, want in expected_codebook().items():
        got = by_var[name]
        for column in CODEBOOK_COLUMNS:
            assert got[column] == as_cell(fmt, want[column], codebook=True), (name, column)
    if layout == "wide":
        for name, (de, en, versions) in DUMMIES.items():
            got = by_var[name]
            assert got["type"] == "dummy"
            assert got["step"] == "support"
            assert got["text_de"] == de
            assert got["text_en"] == en
            assert got["versions"] == as_cell(fmt, versions, codebook=True)
            assert got["min"] == as_cell(fmt, 0) and got["max"] == as_cell(fmt, 1)
    assert by_var["pseudonym"]["type"] == "string"
    assert by_var["status"]["options"] == as_cell(
        fmt, {"complete": "complete", "incomplete": "incomplete"}, codebook=True
    )


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fmt", FORMATS)
async def test_export_cell_by_cell(db: Database, tmp_path: Path, fmt: str, layout: str) -> None:
    seeded = await seed(db)
    output = tmp_path / "out" / f"reporter.{fmt}"

    written = await export_flow(db, FLOW_ID, fmt, layout, output)

    expected_paths = [output]
    if fmt == "csv":
        expected_paths.append(tmp_path / "out" / "reporter.codebook.csv")
    assert written == expected_paths
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in expected_paths
    ), "no .part files or extras left behind"

    header, rows, codebook = read_export(fmt, written)
    if layout == "wide":
        columns, want = RUN_COLUMNS + WIDE_STEP_COLUMNS, expected_wide(seeded)
    else:
        columns, want = LONG_COLUMNS, expected_long(seeded)
    assert header == columns
    assert_rows(fmt, rows, want, columns)
    check_codebook(fmt, layout, codebook)

    if fmt == "json":
        doc = json.loads(output.read_text(encoding="utf-8"))
        assert doc["flow"] == FLOW_ID
        assert doc["layout"] == layout
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["exported_at"])
        # typed values
        first = doc["rows"][0]
        assert isinstance(first["run_id"], int)
        if layout == "wide":
            assert first["confidence"] == 4 and first["support"] == ["mentor", "time"]
            assert first["support__friends"] is None and first["support__money"] == 0


async def test_export_never_contains_identity_data(db: Database, tmp_path: Path) -> None:
    await seed(db)
    needles: list[bytes] = []
    for who in SECRETS.values():
        needles += [str(who["telegram_user_id"]).encode(), str(who["chat_id"]).encode()]
        needles.append(who["username"].encode())
        # Both the UTF-8 and an escaped (\u00fc) spelling would contain the ASCII tail.
        needles.append(who["first_name"].encode("utf-8"))
        needles.append(who["first_name"][2:].encode("ascii"))
    needles += [f.encode() for f in SECRET_FILE_IDS]

    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        files = []
        for fmt in FORMATS:
            for layout in LAYOUTS:
                files += await export_flow(db, FLOW_ID, fmt, layout, tmp_path / f"{layout}.{fmt}")
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)

    assert len(files) == 8
    for path in files:
        blobs = [path.read_bytes()]
        if path.suffix == ".xlsx":  # compressed: scan every member of the zip
            with zipfile.ZipFile(path) as zf:
                blobs = [zf.read(name) for name in zf.namelist()]
        for blob in blobs:
            lowered = blob.lower()
            for needle in needles:
                assert needle.lower() not in lowered, f"{needle!r} found in {path.name}"
    assert statements
    assert not [s for s in statements if "identities" in s.lower()], "identities table was read"


async def test_unknown_flow_raises_lookup_error(db: Database, tmp_path: Path) -> None:
    await seed(db)
    with pytest.raises(LookupError) as info:
        await export_flow(db, "nope", "csv", "wide", tmp_path / "out" / "x.csv")
    assert str(info.value) == "no data for flow 'nope'"
    assert not (tmp_path / "out").exists()
    async with db.transaction() as repo:
        audits = (await repo.session.scalars(select(AuditEntry))).all()
    assert audits == []


@pytest.mark.parametrize("bad", [("txt", "wide"), ("csv", "tall")])
async def test_unknown_format_or_layout(db: Database, tmp_path: Path, bad) -> None:
    await seed(db)
    with pytest.raises(ValueError):
        await export_flow(db, FLOW_ID, bad[0], bad[1], tmp_path / "x")


async def test_export_writes_audit_entry_without_personal_data(
    db: Database, tmp_path: Path
) -> None:
    await seed(db)
    await export_flow(db, FLOW_ID, "xlsx", "long", tmp_path / "a.xlsx")
    await export_flow(db, FLOW_ID, "csv", "wide", tmp_path / "b.csv")
    async with db.transaction() as repo:
        audits = (await repo.session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(a.actor, a.action, a.details) for a in audits] == [
        ("cli", "export", {"flow": FLOW_ID, "format": "xlsx", "layout": "long", "rows": 17}),
        ("cli", "export", {"flow": FLOW_ID, "format": "csv", "layout": "wide", "rows": 3}),
    ]
    assert all(a.at.tzinfo is not None for a in audits)


async def test_failed_export_leaves_no_files_and_no_audit(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(db)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(export_module, "codebook", broken)
    for fmt in FORMATS:
        with pytest.raises(RuntimeError):
            await export_flow(db, FLOW_ID, fmt, "wide", tmp_path / "out" / f"x.{fmt}")
    assert list((tmp_path / "out").iterdir()) == []
    async with db.transaction() as repo:
        assert (await repo.session.scalars(select(AuditEntry))).all() == []


async def test_xlsx_layout_and_text_cells(db: Database, tmp_path: Path) -> None:
    await seed(db)
    (path,) = await export_flow(db, FLOW_ID, "xlsx", "wide", tmp_path / "r.xlsx")
    wb = load_workbook(path)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        # The autofilter covers the header and every row.
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
        assert all(cell.font.bold for cell in ws[1])
        assert not any(cell.font.bold for cell in ws[2])
        widths = [ws.column_dimensions[cell.column_letter].width for cell in ws[1]]
        assert all(8 <= w <= 60 for w in widths), widths
    data = wb["data"]
    header = [c.value for c in data[1]]
    # A text answer that looks like a formula stays text.
    mood = data.cell(row=4, column=header.index("mood") + 1)
    assert mood.value == "=1+1 gefährlich" and mood.data_type == "s"
    # Moments and date answers are date cells a spreadsheet can sort and compute with.
    started = data.cell(row=2, column=header.index("started_at") + 1)
    assert started.is_date and started.value == datetime(2026, 11, 2, 9, 30, 15)
    since = [r[header.index("job_since")] for r in data.iter_rows(min_row=2)]
    assert any(c.value is not None for c in since)
    assert all(c.is_date for c in since if c.value is not None)
    # Widths follow content: the long free text column is wider than the run id column.
    letter = {name: data.cell(row=1, column=i + 1).column_letter for i, name in enumerate(header)}
    assert (
        data.column_dimensions[letter["mood"]].width
        > data.column_dimensions[letter["run_id"]].width
    )


@contextmanager
def count_selects(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5000])
async def test_runs_spanning_read_chunks_come_out_whole(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The streamed read hands over a few rows at a time; a run split between two chunks
    still gives its rows in flow order, and the wide layout one row per run."""
    seeded = await seed(db)
    monkeypatch.setattr(export_stream, "READ_CHUNK", chunk)
    await export_flow(db, FLOW_ID, "json", "long", tmp_path / "long.json")
    await export_flow(db, FLOW_ID, "json", "wide", tmp_path / "wide.json")
    _, rows, _ = read_export("json", [tmp_path / "long.json"])
    assert_rows("json", rows, expected_long(seeded), LONG_COLUMNS)
    _, rows, _ = read_export("json", [tmp_path / "wide.json"])
    assert_rows("json", rows, expected_wide(seeded), RUN_COLUMNS + WIDE_STEP_COLUMNS)


def test_export_query_never_reads_identities() -> None:
    """The streamed query (run through the driver, past SQLAlchemy's events) and the count
    read only runs, pseudonyms and answers, on both databases."""
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        for stmt in (
            export_stream.rows_statement([1, 2], 7, dialect.name),
            export_stream.count_statement([1, 2], 7, "long"),
            export_stream.count_statement([1, 2], None, "wide"),
        ):
            sql = str(stmt.compile(dialect=dialect)).lower()
            assert "identities" not in sql and "first_name" not in sql, sql


async def test_many_runs_few_queries(db: Database, tmp_path: Path) -> None:
    """1,200 runs with 10 answers each: a handful of queries, every run exported once."""
    seeded = await seed(db)
    participant_ids = []
    async with db.transaction() as repo:
        for i in range(40):
            identity = await repo.add_participant(10_000 + i, 10_000 + i, f"N{i}", None, "de")
            participant_ids.append(identity.participant_id)
    started = datetime(2026, 11, 3, 8, 0, 0, tzinfo=UTC)
    runs = [
        {
            "participant_id": participant_ids[i % 40],
            "flow_version_id": seeded.version_ids["2026-2"],
            "locale": "de",
            "status": "complete",
            "state": {},
            "started_at": started,
            "updated_at": started,
            "finished_at": started,
        }
        for i in range(1200)
    ]
    async with db.transaction() as repo:
        await repo.session.execute(insert(Run), runs)
    async with db.transaction() as repo:
        run_ids = list(
            await repo.session.scalars(
                select(Run.id).where(Run.started_at == started).order_by(Run.id)
            )
        )
        answers = []
        for run_id in run_ids:
            for step, value in [
                ("mood", "ok"),
                ("plan", "study"),
                ("wishes", "mehr Zeit"),
                ("support", ["time", "money"]),
                ("confidence", 3),
                ("age", 15),
                ("has_job", "no"),
                ("job_since", None),
                ("voice_note", None),
                ("picture", None),
            ]:
                answers.append(
                    {
                        "run_id": run_id,
                        "step_id": step,
                        "value": value,
                        "skipped": value is None,
                        "shown_text": "?",
                        "locale": "de",
                        "revision": 1,
                        "answered_at": started,
                        "updated_at": started,
                    }
                )
        await repo.session.execute(insert(Answer), answers)

    with count_selects(db) as selects:
        await export_flow(db, FLOW_ID, "csv", "wide", tmp_path / "w.csv")
        await export_flow(db, FLOW_ID, "xlsx", "long", tmp_path / "l.xlsx")
    # Through the bot's engine, per export: the versions, and on PostgreSQL the one streamed
    # query (server-side cursor); SQLite streams it on a reading connection of its own, see
    # test_runs_spanning_read_chunks_come_out_whole.
    assert len(selects) == 2 * (1 if db.engine.dialect.name == "sqlite" else 2)

    _, rows, _ = read_export("csv", [tmp_path / "w.csv", tmp_path / "w.codebook.csv"])
    assert len(rows) == 1203
    assert len({r["run_id"] for r in rows}) == 1203
    bulk = [r for r in rows if r["started_at"] == "2026-11-03T08:00:00Z"]
    assert len(bulk) == 1200
    assert {(r["support"], r["support__money"], r["support__mentor"]) for r in bulk} == {
        ("money;time", "1", "0")
    }
    assert {r["job_since"] for r in bulk} == {""}
    wb = load_workbook(tmp_path / "l.xlsx", read_only=True)
    assert sum(1 for _ in wb["data"].iter_rows(values_only=True)) == 1 + 17 + 1200 * 10
    wb.close()


async def test_flow_without_runs_exports_header_and_codebook(db: Database, tmp_path: Path) -> None:
    flow = Flow(
        id="empty",
        title="Leer",
        version="1",
        steps=[Step(id="q", type=StepType.TEXT, text="Frage?")],
    )
    async with db.transaction() as repo:
        await repo.flow_version(
            flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
        )
    out = tmp_path / "out"
    for fmt in FORMATS:
        with pytest.raises(NoData, match="nothing to export: flow 'empty' has no answers yet"):
            await export_flow(db, "empty", fmt, "wide", out / f"e.{fmt}")
        assert list(out.iterdir()) == [], "nothing written without empty_ok"
    for fmt in FORMATS:
        paths = await export_flow(db, "empty", fmt, "wide", out / f"e.{fmt}", empty_ok=True)
        columns = [c for c in CODEBOOK_COLUMNS if not c.endswith("_en")]
        header, rows, codebook = read_export(fmt, paths, columns)
        assert rows == []
        if fmt != "json":
            assert header == [*RUN_COLUMNS, "q"]
        assert codebook[-1]["variable"] == "q"
        assert codebook[-1]["text_de"] == "Frage?"


async def test_step_named_like_a_run_column_gets_its_own_column(
    db: Database, tmp_path: Path
) -> None:
    flow = Flow(
        id="clash",
        title="Clash",
        version="1",
        steps=[
            Step(id="status", type=StepType.SINGLE_CHOICE, text="Status?", options={"a": "A"}),
            Step(id="extra", type=StepType.MULTIPLE_CHOICE, text="?", options={"x": "X"}),
        ],
    )
    async with db.transaction() as repo:
        fv = await repo.flow_version(
            flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
        )
        identity = await repo.add_participant(1, 1, "X", None, "de")
        run = await repo.add_run(identity.participant_id, fv.id, "de", {})
        await repo.save_answer(run.id, "status", "a", False, "Status?", "de")
        await repo.save_answer(run.id, "extra", ["x"], False, "?", "de")
    (path,) = await export_flow(db, "clash", "json", "wide", tmp_path / "c.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    (row,) = doc["rows"]
    assert row["status"] == "incomplete"
    assert row["q_status"] == "a"
    assert row["extra"] == ["x"] and row["extra__x"] == 1
    q_status = next(e for e in doc["codebook"] if e["variable"] == "q_status")
    assert q_status["step"] == "status"


# --------------------------------------------------------------------------- first names


def _name_flow() -> Flow:
    return Flow(
        id="names",
        title="Names",
        version="1",
        language="de",
        languages=["de", "en"],
        steps=[
            Step(id="hi", type=StepType.MESSAGE, text="Hallo {first_name}!"),
            Step(id="age", type=StepType.NUMBER, text="{first_name}, wie alt bist du?"),
            Step(
                id="sure",
                type=StepType.SCALE,
                text="Wie sicher bist du, {first_name}",
                min=1,
                max=3,
                min_label="gar nicht",
                max_label="sehr",
            ),
            Step(
                id="echo",
                type=StepType.TEXT,
                text="Du bist {age}, {first_name}. Und sonst, {first_name}?",
            ),
            Step(
                id="legend",
                type=StepType.SCALE,
                text="Wie findest du das?",
                min_label="blöd, {first_name}",
                max_label="super",
            ),
            Step(id="plain", type=StepType.TEXT, text="Noch was?"),
        ],
        translations={"en": {"age.text": "{first_name}, how old are you?"}},
    )


@pytest.mark.parametrize("locale", ["de", "en"])
async def test_first_name_in_wording_is_masked(db: Database, tmp_path: Path, locale: str) -> None:
    flow = _name_flow()
    name = "Zoë Maria"
    ctx = engine.Context(locale=locale, first_name=name)
    turn = engine.start(flow, ctx)
    recorded = []
    for value in [15, 2, "Gut, danke Zoë Maria", 4, "nö"]:
        turn = engine.submit(flow, turn.state, value, ctx)
        recorded += turn.recorded
    assert turn.finished
    async with db.transaction() as repo:
        fv = await repo.flow_version(
            flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
        )
        identity = await repo.add_participant(42, 42, name, "zoe", locale)
        run = await repo.add_run(identity.participant_id, fv.id, locale, {})
        for rec in recorded:
            await repo.save_answer(
                run.id, rec.step_id, rec.value, rec.skipped, rec.shown_text, locale
            )
    (path,) = await export_flow(db, "names", "json", "long", tmp_path / "n.json")
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    shown = {row["step_id"]: row["shown_text"] for row in rows}
    age = "{first_name}, wie alt bist du?" if locale == "de" else "{first_name}, how old are you?"
    assert shown == {
        "age": age,
        "sure": "Wie sicher bist du, {first_name}\n\n1 = gar nicht … 3 = sehr",
        "echo": "Du bist 15, {first_name}. Und sonst, {first_name}?",
        # a name in a scale legend is not matched: the unrendered wording is exported instead
        "legend": "Wie findest du das?",
        "plain": "Noch was?",
    }
    # The person's own answer text is theirs to give and stays as typed.
    assert {row["step_id"]: row["value"] for row in rows}["echo"] == "Gut, danke Zoë Maria"


async def test_shown_text_not_matching_template_falls_back_to_wording(
    db: Database, tmp_path: Path
) -> None:
    flow = _name_flow()
    async with db.transaction() as repo:
        fv = await repo.flow_version(
            flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
        )
        identity = await repo.add_participant(43, 43, "Kim", None, "en")
        run = await repo.add_run(identity.participant_id, fv.id, "en", {})
        await repo.save_answer(run.id, "age", 15, False, "Kim – an older wording?", "en")
    (path,) = await export_flow(db, "names", "json", "long", tmp_path / "n.json")
    (row,) = json.loads(path.read_text(encoding="utf-8"))["rows"]
    assert row["shown_text"] == "{first_name}, how old are you?"


def test_versions_merge_new_steps_after_their_predecessor() -> None:
    order: list[str] = []
    export_plan.merge_order(order, ["a", "b", "c"])
    export_plan.merge_order(order, ["x", "a", "y", "c", "z"])
    assert order == ["x", "a", "y", "b", "c", "z"]


def test_iso_utc() -> None:
    moment = datetime(2026, 11, 24, 15, 4, 5, 999999, tzinfo=UTC)
    assert export_module.iso_utc(moment) == "2026-11-24T15:04:05Z"
    assert export_module.iso_utc(None) is None
