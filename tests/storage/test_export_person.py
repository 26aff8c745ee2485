"""`backbone export person-level`: one workbook joining every instrument per pseudonym."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from storage.export_person import export_person_level, sheet_names
from storage.export_writers import FilesExist, NoData
from storage.models import AuditEntry
from storage.repo import Database
from tests.storage.persondata import (
    CHECKUP,
    INTERVIEW,
    NOW,
    World,
    add_person,
    add_run,
    seed_flows,
    seed_polls,
)
from tests.storage.test_export_rails import backbone, refused

pytestmark = pytest.mark.storage


def _sheet(book, name: str) -> list[dict]:
    rows = list(book[name].iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


async def _seeded(db: Database) -> World:
    world = World()
    await seed_flows(db, world)
    for n, name in enumerate(("ada", "ben", "cem")):
        await add_person(db, world, name, n)
    done = NOW - timedelta(days=3)
    await add_run(db, world, "ada-i", "ada", INTERVIEW, "complete", done, {"plans": "training"})
    await add_run(
        db, world, "ada-c", "ada", CHECKUP, "complete", done, {"satisfied": 4}, campaign=True
    )
    await add_run(db, world, "ben-1", "ben", INTERVIEW, "complete", done, {"plans": "school"})
    await add_run(db, world, "ben-2", "ben", INTERVIEW, "incomplete", NOW, {"plans": "training"})
    await seed_polls(db, world)
    return world


async def test_one_joined_row_per_person_across_instruments(db: Database, tmp_path: Path):
    world = await _seeded(db)
    out = tmp_path / "people.xlsx"
    assert await export_person_level(db, out) == [out]
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["joined", CHECKUP, INTERVIEW, "polls", "codebook"]
    joined = {row["pseudonym"]: row for row in _sheet(book, "joined")}
    ada, ben = world.pseudonyms["ada"], world.pseudonyms["ben"]
    # Cem has no run and no named vote (only nothing): not a row.
    assert set(joined) == {ada, ben}
    named = f"polls.ABC123.{world.polls['named']}"
    row = joined[ada]
    assert row[f"{INTERVIEW}.plans"] == "training"
    assert row[f"{INTERVIEW}.runs"] == 1
    assert row[f"{INTERVIEW}.run_id"] == world.runs["ada-i"]
    assert row[f"{CHECKUP}.satisfied"] == 4
    assert row[f"{CHECKUP}.runs"] == 1
    assert row[named] == "b"
    # Ben: two runs of the interview, the latest one's answers; nothing else.
    row = joined[ben]
    assert row[f"{INTERVIEW}.runs"] == 2
    assert row[f"{INTERVIEW}.run_id"] == world.runs["ben-2"]
    assert row[f"{INTERVIEW}.plans"] == "training"
    assert row[f"{INTERVIEW}.status"] == "incomplete"
    assert row[f"{CHECKUP}.satisfied"] is None and row[named] is None
    # The anonymous poll is not joined, not even as a column.
    header = next(book["joined"].iter_rows(values_only=True))
    assert f"polls.ABC123.{world.polls['anonymous']}" not in header
    assert not [c for c in header if c.startswith(f"{INTERVIEW}.flow_id")]
    # The instrument sheets: every run, and the named vote only.
    interview_rows = _sheet(book, INTERVIEW)
    assert sorted(r["run_id"] for r in interview_rows) == sorted(
        world.runs[k] for k in ("ada-i", "ben-1", "ben-2")
    )
    polls = _sheet(book, "polls")
    assert [(p["pseudonym"], p["value"], p["value_label"]) for p in polls] == [
        (ada, "b", "Matching")
    ]
    codebook = {r["column"]: r for r in _sheet(book, "codebook") if r["column"]}
    assert codebook[f"{INTERVIEW}.plans"]["text"] == "Was hast du vor?"
    assert codebook[named]["text"] == "Was zuerst?"
    assert set(header) <= set(codebook)
    # Pseudonyms only: no name or Telegram id anywhere in the file.
    cells = {str(v) for ws in book.worksheets for r in ws.iter_rows(values_only=True) for v in r}
    for secret in ("ada", "ben", "7000000", "7000001"):
        assert not any(secret == c or c.startswith("7000") for c in cells), secret
    async with db.transaction() as repo:
        entry = await repo.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "export_person_level")
        )
    assert entry.details["people"] == 2 and entry.details["rows"] == 5


async def test_people_are_merged_by_pseudonym_whatever_the_mix(db: Database, tmp_path: Path):
    world = World()
    await seed_flows(db, world)
    rng = random.Random(11)
    expected: dict[str, tuple] = {}
    for n in range(40):
        name = f"p{n}"
        await add_person(db, world, name, n)
        interview = rng.choice([None, "training", "school"])
        score = rng.choice([None, 1, 5])
        if interview:
            await add_run(
                db, world, f"{name}-i", name, INTERVIEW, "complete", NOW, {"plans": interview}
            )
        if score:
            await add_run(
                db, world, f"{name}-c", name, CHECKUP, "complete", NOW, {"satisfied": score}
            )
        if interview or score:
            expected[world.pseudonyms[name]] = (interview, score)
    out = tmp_path / "mix.xlsx"
    await export_person_level(db, out)
    book = openpyxl.load_workbook(out, read_only=True)
    rows = _sheet(book, "joined")
    got = {r["pseudonym"]: (r[f"{INTERVIEW}.plans"], r[f"{CHECKUP}.satisfied"]) for r in rows}
    assert got == expected
    assert len(rows) == len(expected)
    assert [r["pseudonym"] for r in rows] == sorted(expected)


async def test_nothing_to_export_and_existing_files(db: Database, tmp_path: Path):
    out = tmp_path / "out" / "empty.xlsx"
    with pytest.raises(NoData):
        await export_person_level(db, out)
    assert not list(out.parent.iterdir())
    await export_person_level(db, out, empty_ok=True)
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["joined", "polls", "codebook"]
    assert next(book["joined"].iter_rows(values_only=True)) == ("pseudonym",)
    with pytest.raises(FilesExist):
        await export_person_level(db, out, empty_ok=True)
    await export_person_level(db, out, empty_ok=True, force=True)


def test_sheet_names_are_valid_and_unique():
    long = "a-very-long-flow-id-that-excel-cannot-take-whole"
    names = sheet_names([long, long[:31] + "x", "joined", "Codebook", "polls", "a/b"])
    assert names[0] == long[:31] and len(names[1]) <= 31 and names[1] != names[0]
    assert names[2] == "joined~2" and names[3] == "Codebook~2"
    assert names[4] == "polls" and names[5] == "a_b"
    assert len({n.lower() for n in names}) == len(names)


async def test_the_command(db: Database, migrated_url: str, tmp_path: Path):
    await _seeded(db)
    out = tmp_path / "people.xlsx"
    done = backbone(migrated_url, tmp_path, "export", "person-level", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out}"
    again = backbone(migrated_url, tmp_path, "export", "person-level", "--output", str(out))
    refused(again, 1, "already exists")
    refused(backbone(migrated_url, tmp_path, "export", "person-level", "-o", "x.csv"), 2, ".xlsx")


async def test_many_instruments_at_once(db: Database, tmp_path: Path):
    # More flows than the bot's connection pool holds: each is streamed at the same time.
    from tests.storage.persondata import checkup

    world = World()
    await add_person(db, world, "ada", 0)
    flows = []
    async with db.transaction() as repo:
        for n in range(24):
            flow = checkup().model_copy(update={"id": f"checkup-{n:02d}"})
            row = await repo.flow_version(
                flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
            )
            world.versions[flow.id] = row.id
            flows.append(flow.id)
    for n, flow_id in enumerate(flows):
        await add_run(db, world, flow_id, "ada", flow_id, "complete", NOW, {"satisfied": n % 5 + 1})
    out = tmp_path / "many.xlsx"
    await export_person_level(db, out)
    book = openpyxl.load_workbook(out, read_only=True)
    [row] = _sheet(book, "joined")
    assert [row[f"{f}.satisfied"] for f in flows] == [n % 5 + 1 for n in range(24)]
    assert book.sheetnames[1:-2] == flows


async def test_a_file_that_cannot_be_written_is_one_line(db: Database, migrated_url, tmp_path):
    await _seeded(db)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    out = blocker / "sub" / "people.xlsx"
    done = backbone(migrated_url, tmp_path, "export", "person-level", "--output", str(out))
    refused(done, 1, f"cannot write {out}")
