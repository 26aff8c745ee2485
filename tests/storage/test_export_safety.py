"""Exports are safe to open and never fail on stored text: formula-like answers are defused
in CSV (raw on request), stay text in XLSX, and a lone surrogate becomes U+FFFD everywhere."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from flows.model import Flow, Step, StepType
from storage.export import export_flow
from storage.export_polls import export_polls
from storage.models import Participant, Poll, PollSession, Vote
from storage.repo import Database
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.storage

# What OWASP lists for CSV injection, plus tab and carriage return at the start.
FORMULAS = [
    '=HYPERLINK("http://example.invalid/?leak","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
    "\tTAB=1+1",
    "\r=1+1",
]
HARMLESS = ["a=b", "1+1", "E-Mail @home", "Übergang –2"]
LONE = "Herz \ud83d kaputt"  # half an emoji, as an older version could store it
FLOW_ID = "safety"
CSV_NOTE_VARIABLE = "_csv_text_cells"  # the codebook row that explains the apostrophes


def make_flow(question: str = "Was denkst du?") -> Flow:
    return Flow(
        id=FLOW_ID,
        title="Sicherheit",
        version="1",
        steps=[
            Step(id="say", type=StepType.TEXT, text=question),
            Step(id="n", type=StepType.NUMBER, text="Zahl?", optional=True),
            Step(
                id="pick",
                type=StepType.MULTIPLE_CHOICE,
                text="Was noch?",
                options={"a": "=A", "b": "B"},
                optional=True,
            ),
        ],
    )


async def seed_flow(db: Database, texts: list[str], flow: Flow | None = None) -> None:
    """One run per text (answer to `say`); the first run also answers n = -2 and pick."""
    flow = flow or make_flow()
    async with db.transaction() as repo:
        # A fixed hash: content_hash() cannot encode a lone surrogate either.
        fv = await repo.flow_version(flow.id, flow.version, "0" * 64, flow.model_dump(mode="json"))
        for i, value in enumerate(texts):
            identity = await repo.add_participant(7_100_000 + i, 7_100_000 + i, "X", None, "de")
            run = await repo.add_run(identity.participant_id, fv.id, "de", {"current": None})
            await repo.save_answer(run.id, "say", value, False, "Was denkst du?", "de")
            if i == 0:
                await repo.save_answer(run.id, "n", -2, False, "Zahl?", "de")
                await repo.save_answer(run.id, "pick", ["a", "b"], False, "Was noch?", "de")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def defused(value: str) -> str:
    return "'" + value


def as_read(values: list[str]) -> list[str]:
    """Texts as an XLSX reader returns them: XML turns a carriage return into a line feed."""
    return [v.replace("\r", "\n") for v in values]


def sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as book:
        return "".join(
            book.read(name).decode("utf-8")
            for name in book.namelist()
            if name.startswith("xl/worksheets/")
        )


# --------------------------------------------------------------------------- flow exports


@pytest.mark.parametrize("layout", ["wide", "long"])
async def test_flow_csv_defuses_formulas_and_notes_it_in_the_codebook(
    db: Database, tmp_path: Path, layout: str
) -> None:
    await seed_flow(db, FORMULAS + HARMLESS)
    data, codebook = await export_flow(db, FLOW_ID, "csv", layout, tmp_path / "f.csv")
    rows = read_csv(data)
    if layout == "wide":
        said = [r["say"] for r in rows]
        assert rows[0]["n"] == "-2"  # a number is not text: unchanged
        assert rows[0]["pick"] == "a;b"
    else:
        said = [r["value"] for r in rows if r["step_id"] == "say"]
        assert [r["value"] for r in rows if r["step_id"] == "n"] == ["-2"]
    assert said == [defused(v) for v in FORMULAS] + HARMLESS
    entries = read_csv(codebook)
    note = entries[0]
    assert note["variable"] == CSV_NOTE_VARIABLE and note["type"] == "note"
    assert "apostrophe" in note["description"] and "--raw-csv" in note["description"]
    for sign in ("=", "+", "-", "@", "tab", "carriage return"):
        assert sign in note["description"]
    pick = next(e for e in entries if e["variable"] == "pick")
    assert pick["options"] == "a==A; b=B"  # starts with "a": nothing to defuse
    if layout == "wide":
        dummy = next(e for e in entries if e["variable"] == "pick__a")
        assert dummy["text_de"] == defused("=A")  # the option label, as the codebook shows it


async def test_flow_csv_raw_on_request(db: Database, tmp_path: Path) -> None:
    await seed_flow(db, FORMULAS)
    data, codebook = await export_flow(db, FLOW_ID, "csv", "wide", tmp_path / "f.csv", raw_csv=True)
    assert [r["say"] for r in read_csv(data)] == FORMULAS
    note = read_csv(codebook)[0]
    assert note["variable"] == CSV_NOTE_VARIABLE and "--raw-csv" in note["description"]
    assert "apostrophe" not in note["description"]


async def test_flow_xlsx_keeps_formula_like_answers_as_text(db: Database, tmp_path: Path) -> None:
    await seed_flow(db, FORMULAS)
    (path,) = await export_flow(db, FLOW_ID, "xlsx", "wide", tmp_path / "f.xlsx")
    ws = load_workbook(path)["data"]
    header = [c.value for c in ws[1]]
    cells = [row[header.index("say")] for row in ws.iter_rows(min_row=2)]
    assert [c.value for c in cells] == as_read(FORMULAS)  # as answered, no apostrophe
    assert all(c.data_type == "s" for c in cells)
    assert "<f>" not in sheet_xml(path) and "<f " not in sheet_xml(path)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
@pytest.mark.parametrize("layout", ["wide", "long"])
async def test_flow_export_never_fails_on_a_lone_surrogate(
    db: Database, tmp_path: Path, fmt: str, layout: str
) -> None:
    await seed_flow(db, [LONE], make_flow(question="Frage \udc00?"))
    paths = await export_flow(db, FLOW_ID, fmt, layout, tmp_path / f"f.{fmt}")
    want = "Herz \ufffd kaputt"
    if fmt == "csv":
        data, codebook = paths
        rows = read_csv(data)
        assert want in [r["say" if layout == "wide" else "value"] for r in rows]
        assert any(e["text_de"] == "Frage \ufffd?" for e in read_csv(codebook))
    elif fmt == "xlsx":
        book = load_workbook(paths[0])  # valid XML: openpyxl reads it back
        values = [v for row in book["data"].iter_rows(values_only=True) for v in row]
        assert want in values
        texts = [v for row in book["codebook"].iter_rows(values_only=True) for v in row]
        assert "Frage \ufffd?" in texts
    else:
        doc = json.loads(paths[0].read_text(encoding="utf-8"))
        assert want in [r["say" if layout == "wide" else "value"] for r in doc["rows"]]
        assert "Frage \ufffd?" in [e["text_de"] for e in doc["codebook"]]


# --------------------------------------------------------------------------- poll exports


async def seed_polls(db: Database) -> None:
    """A session with a words poll (answers are free text) and a choice poll."""
    async with db.transaction() as repo:
        s = repo.session
        fac = Participant(pseudonym="P-FACIL2", stage="ready")
        s.add(fac)
        await s.flush()
        session = PollSession(
            code="SAFE22", title="Runde", facilitator_id=fac.id, facilitator_chat_id=7_100_999
        )
        s.add(session)
        await s.flush()
        words = Poll(
            session_id=session.id,
            spec={"id": "w", "type": "words", "question": "=Ein Wort?", "anonymous": True},
            anonymous=True,
            status="closed",
            opened_by=fac.pseudonym,
        )
        choice = Poll(
            session_id=session.id,
            spec={
                "id": "c",
                "type": "single_choice",
                "question": "Was zuerst?",
                "anonymous": True,
                "options": {"a": "@Praktika", "b": LONE},
            },
            anonymous=True,
            status="closed",
            opened_by=fac.pseudonym,
        )
        s.add_all([words, choice])
        await s.flush()
        for i, phrase in enumerate([*FORMULAS, LONE]):
            s.add(Vote(poll_id=words.id, voter_key=f"w{i}", value=[phrase]))
        s.add(Vote(poll_id=choice.id, voter_key="c1", value=["a"]))


async def test_poll_csv_defuses_formulas_raw_on_request(db: Database, tmp_path: Path) -> None:
    await seed_polls(db)
    votes, summary = await export_polls(db, "SAFE22", "csv", tmp_path / "p.csv")
    rows = read_csv(votes)
    phrases = [r["option_label"] for r in rows if r["poll_type"] == "words"]
    want = [*(defused(v) for v in FORMULAS), "Herz \ufffd kaputt"]
    assert phrases == want
    assert {r["question"] for r in rows} == {defused("=Ein Wort?"), "Was zuerst?"}
    assert [r["option_label"] for r in rows if r["poll_type"] == "single_choice"] == [
        defused("@Praktika")
    ]
    labels = {r["option_label"] for r in read_csv(summary)}
    assert defused("@Praktika") in labels and "Herz \ufffd kaputt" in labels

    votes, _ = await export_polls(db, "SAFE22", "csv", tmp_path / "raw.csv", raw_csv=True)
    phrases = [r["option_label"] for r in read_csv(votes) if r["poll_type"] == "words"]
    assert phrases == [*FORMULAS, "Herz \ufffd kaputt"]


async def test_poll_xlsx_keeps_text_and_never_fails_on_a_lone_surrogate(
    db: Database, tmp_path: Path
) -> None:
    await seed_polls(db)
    (path,) = await export_polls(db, "SAFE22", "xlsx", tmp_path / "p.xlsx")
    ws = load_workbook(path)["votes"]
    header = [c.value for c in ws[1]]
    cells = [row[header.index("option_label")] for row in ws.iter_rows(min_row=2)]
    values = [c.value for c in cells][: len(FORMULAS) + 1]
    assert values == [*as_read(FORMULAS), "Herz \ufffd kaputt"]
    assert all(c.data_type == "s" for c in cells)
    assert "<f>" not in sheet_xml(path) and "<f " not in sheet_xml(path)


# --------------------------------------------------------------------------- command line


def backbone(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    env.update(BACKBONE_DATABASE_URL=url, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_raw_csv_option_of_the_export_commands(
    db: Database, migrated_url: str, tmp_path: Path
) -> None:
    await seed_flow(db, FORMULAS[:1])
    await seed_polls(db)
    flow = ("export", "--flow", FLOW_ID, "-o")
    done = backbone(migrated_url, tmp_path, *flow, "f.csv", "--raw-csv")
    assert done.returncode == 0, done.stderr
    assert read_csv(tmp_path / "f.csv")[0]["say"] == FORMULAS[0]
    done = backbone(migrated_url, tmp_path, *flow, "d.csv")
    assert read_csv(tmp_path / "d.csv")[0]["say"] == defused(FORMULAS[0])

    polls = ("export", "polls", "--session", "SAFE22", "-o")
    done = backbone(migrated_url, tmp_path, *polls, "p.csv", "--raw-csv")
    assert done.returncode == 0, done.stderr
    assert read_csv(tmp_path / "p.csv")[0]["question"] == "=Ein Wort?"

    for args in (
        (*flow, "f.xlsx", "--format", "xlsx", "--raw-csv"),
        (*flow, "f.json", "--format", "json", "--raw-csv"),
        (*polls, "p.xlsx", "--format", "xlsx", "--raw-csv"),
    ):
        refused = backbone(migrated_url, tmp_path, *args)
        assert refused.returncode == 2, refused.stdout
        assert "--raw-csv: only for CSV" in refused.stderr
        assert not (tmp_path / args[-4]).exists()
