"""SPSS (.sav) and Stata (.dta) files of a flow and of a poll session, read back with
pyreadstat (the independent reader) and compared cell by cell: values, variable labels,
value labels and the kinds of missing (skipped / not asked)."""

from __future__ import annotations

import csv
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from storage.export_flow_stats import export_flow_stats, export_polls_stats
from storage.export_stats import name_list
from storage.export_writers import FilesExist, NoData
from storage.repo import Database
from tests.storage.exportdata import FLOW_ID, SECRETS, make_flow, seed

pyreadstat = pytest.importorskip("pyreadstat")
pytestmark = pytest.mark.storage

S, N = "skipped", "not asked"  # the missing kinds, as named in the value labels
CODES = {"sav": {S: -1, N: -2}, "dta": {S: "a", N: "b"}}
COLUMNS = [
    "pseudonym",
    "run_id",
    "flow_id",
    "flow_version",
    "version_hash",
    "language",
    "status",
    "started_at",
    "finished_at",
    "mood",
    "plan",
    "wishes",
    "support",
    "support__mentor",
    "support__money",
    "support__time",
    "support__friends",
    "confidence",
    "age",
    "has_job",
    "job_since",
    "voice_note",
    "picture",
]


def _expected(s: Any) -> list[dict[str, Any]]:
    """Rows as they must read back (S/N: missing of that kind; "" an empty text)."""
    p1, p2 = s.pseudonyms["p1"], s.pseudonyms["p2"]

    def run(key: str, who: str, version: str, lang: str, status: str, start, end) -> dict:
        return {
            "pseudonym": who,
            "run_id": s.run_ids[key],
            "flow_id": FLOW_ID,
            "flow_version": version,
            "version_hash": s.hashes[version][:12],
            "language": lang,
            "status": status,
            "started_at": start,
            "finished_at": end,
        }

    nine = datetime(2026, 11, 2, 9, 30, 15)
    a = run("A", p1, "2026-1", "de", "complete", nine, datetime(2026, 11, 2, 9, 41, 7))
    a |= {
        "mood": "Gut, danke! Übermüdet, aber froh 😊",
        "plan": 2,  # study: codes 1 training, 2 study, 3 unsure (first offered order)
        "wishes": N,  # v1 had no such question: not asked
        "support": "mentor;time",
        "support__mentor": 1,
        "support__money": 0,
        "support__time": 1,
        "support__friends": N,  # v1 did not offer it
        "confidence": 4,
        "age": 17,
        "has_job": 1,
        "job_since": date(2026, 9, 1),
        "voice_note": f"{p1}/run{s.run_ids['A']}-voice_note.ogg",
        "picture": S,
    }
    b = run("B", p2, "2026-2", "en", "incomplete", datetime(2026, 11, 2, 10, 5), None)
    b |= {
        "mood": "Fine, thanks",
        "plan": 3,
        "wishes": 'Mehr Praktika in Köln; und "Ruhe"\nzweite Zeile',
        "support": S,
        **dict.fromkeys(["support__mentor", "support__money", "support__time"], S),
        "support__friends": S,
        "confidence": N,
        "age": N,
        "has_job": N,
        "job_since": N,
        "voice_note": N,
        "picture": N,
    }
    c = run(
        "C",
        p1,
        "2026-2",
        "de",
        "incomplete",
        datetime(2026, 11, 2, 11, 0),
        datetime(2026, 11, 2, 11, 20),
    )
    c |= {
        "mood": "=1+1 gefährlich",  # a statistics file keeps text as stored
        "plan": 1,
        "wishes": N,
        "support": "mentor;friends",
        "support__mentor": 1,
        "support__money": 0,
        "support__time": 0,
        "support__friends": 1,
        "confidence": N,
        "age": N,
        "has_job": N,
        "job_since": N,
        "voice_note": N,
        "picture": "AQADphoto2",
    }
    return [a, b, c]


TEXT_ANSWERS = ("mood", "wishes", "support", "voice_note", "picture")


def file_columns(fmt: str) -> list[str]:
    """COLUMNS as in the file: Stata has a `<name>_status` after each text answer."""
    if fmt == "sav":
        return COLUMNS
    return [n for c in COLUMNS for n in ((c, f"{c}_status") if c in TEXT_ANSWERS else (c,))]


def in_file(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """An expected row as the file holds it: a missing text answer is "-1"/"-2" in SPSS
    (user-missing strings); in Stata empty, its kind in the status companion (0 answered)."""
    out = dict(row)
    for name in TEXT_ANSWERS:
        missing = row[name] in (S, N)
        if fmt == "sav":
            out[name] = str(CODES["sav"][row[name]]) if missing else row[name]
        else:
            out[name] = "" if missing else row[name]
            out[f"{name}_status"] = row[name] if missing else 0
    return out


def read(path: Path, fmt: str, user_missing: bool = True) -> tuple[Any, Any]:
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    return reader(str(path), user_missing=user_missing)


def same(got: Any, want: Any, fmt: str) -> bool:
    """One cell: missing kinds as the format codes them; NaN/NaT as None."""
    if want in (S, N):
        want = CODES[fmt][want]
    if got is None or (isinstance(got, float) and math.isnan(got)) or str(got) == "NaT":
        got = None
    if hasattr(got, "to_pydatetime"):
        got = got.to_pydatetime()
    if isinstance(want, int) and isinstance(got, float):
        return got == want
    return got == want


@pytest.mark.parametrize("fmt", ["sav", "dta"])
async def test_a_flow_reads_back_cell_by_cell(db: Database, tmp_path: Path, fmt: str) -> None:
    seeded = await seed(db)
    out = tmp_path / f"flow.{fmt}"
    written = await export_flow_stats(db, FLOW_ID, fmt, out)
    assert written == [out, tmp_path / "flow.codebook.csv"]
    frame, meta = read(out, fmt)
    if fmt == "sav":
        # The reader turns a date's missing code into a date: compare it as stored.
        raw, _ = pyreadstat.read_sav(str(out), user_missing=True, disable_datetime_conversion=True)
        frame["job_since"] = [
            raw["job_since"].iloc[i] if raw["job_since"].iloc[i] < 0 else d
            for i, d in enumerate(frame["job_since"])
        ]
    assert list(frame.columns) == file_columns(fmt)
    expected = [in_file(row, fmt) for row in _expected(seeded)]
    assert len(frame) == len(expected)
    for i, want in enumerate(expected):
        for column in file_columns(fmt):
            got = frame[column].iloc[i]
            assert same(got, want[column], fmt), (i, column, got, want[column])

    labels = meta.column_names_to_labels
    assert labels["plan"] == "Was hast du nach der Schule vor?"  # source language (de)
    assert labels["confidence"] == "Wie genau weißt du, was du willst?"  # the newest wording
    assert labels["support__friends"] == "Was würde dir helfen?: Freund*innen"
    values = {k: {str(c): t for c, t in v.items()} for k, v in meta.variable_value_labels.items()}

    def code(n: Any) -> str:
        return str(float(n)) if fmt == "sav" and not isinstance(n, str) else str(n)

    skip, no = code(CODES[fmt][S]), code(CODES[fmt][N])
    assert values["plan"][code(1)] == "Ausbildung"
    assert values["plan"][code(2)] == "Studium"
    assert values["plan"][code(3)] == "Weiß noch nicht"
    assert values["plan"][skip] == "skipped" and values["plan"][no] == "not asked"
    assert values["has_job"][code(1)] == "yes" and values["has_job"][code(0)] == "no"
    assert values["support__time"][code(1)] == "chosen"
    if fmt == "sav":
        assert meta.missing_ranges["confidence"] == [{"lo": -3.0, "hi": -1.0}]
        assert meta.original_variable_types["job_since"].startswith("DATE")
        assert meta.original_variable_types["started_at"].startswith("DATETIME")
    else:
        # The reader lists the extended missing values present in the data.
        assert meta.missing_user_values["confidence"] == ["b"]
        assert meta.missing_user_values["support__time"] == ["a"]
        assert values["picture_status"]["0"] == "answered" and values["picture_status"]["a"] == S

    # Read as analysts' programs treat them: both missing kinds are missing.
    plain, _ = read(out, fmt, user_missing=False)
    assert math.isnan(plain["confidence"].iloc[1]) and math.isnan(plain["age"].iloc[2])
    assert plain["confidence"].iloc[0] == 4

    # Nothing identifying is in the file.
    raw = out.read_bytes()
    for who in SECRETS.values():
        assert who["first_name"].encode() not in raw
        assert who["username"].encode() not in raw


async def test_the_codebook_beside_names_the_file_variables(db: Database, tmp_path: Path) -> None:
    await seed(db)
    out = tmp_path / "flow.sav"
    await export_flow_stats(db, FLOW_ID, "sav", out)
    with open(tmp_path / "flow.codebook.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by = {r["variable"]: r for r in rows}
    assert by["support__mentor"]["name_in_file"] == "support__mentor"
    assert by["confidence"]["text_de"] == "Wie genau weißt du, was du willst?"


def test_names_are_valid_for_spss_and_stata() -> None:
    long = "a_very_long_question_identifier_of_forty"
    columns = [long + "__w1", long + "__w2", "in", "Plan", "plan", "9x", "ü-x", "x", "x"]
    names = dict(zip(columns, name_list(columns), strict=True))
    assert name_list(columns)[-2:] == ["x", "x_2"]  # the same name twice: still two
    assert names[long + "__w1"] == long[:32]
    assert names[long + "__w2"] == long[:30] + "_2"
    assert names["in"] == "in_"  # a reserved word in both
    assert names["Plan"] == "Plan" and names["plan"] == "plan_2"  # unique regardless of case
    assert names["9x"] == "v9x" and names["ü-x"] == "v__x"
    for name in names.values():
        assert len(name) <= 32 and name[0].isalpha()


async def test_rails(db: Database, tmp_path: Path) -> None:
    await seed(db)
    out = tmp_path / "flow.dta"
    await export_flow_stats(db, FLOW_ID, "dta", out)
    with pytest.raises(FilesExist):
        await export_flow_stats(db, FLOW_ID, "dta", out)
    await export_flow_stats(db, FLOW_ID, "dta", out, force=True)
    with pytest.raises(LookupError):
        await export_flow_stats(db, "no-such-flow", "dta", tmp_path / "x.dta")
    quiet = make_flow("2026-1").model_copy(update={"id": "quiet"})
    async with db.transaction() as repo:
        definition = quiet.model_dump(mode="json")
        await repo.flow_version("quiet", "1", quiet.content_hash(), definition)
    with pytest.raises(NoData):
        await export_flow_stats(db, "quiet", "sav", tmp_path / "o.sav")
    assert not (tmp_path / "o.sav").exists()
    assert not list(tmp_path.glob("*.part"))
    await export_flow_stats(db, "quiet", "sav", tmp_path / "o.sav", empty_ok=True)
    frame, meta = read(tmp_path / "o.sav", "sav")
    assert len(frame) == 0 and "plan" in frame.columns
    assert meta.column_names_to_labels["plan"] == "Was hast du nach der Schule vor?"


async def test_poll_votes_read_back_as_the_csv_export(db: Database, tmp_path: Path) -> None:
    from storage.export_polls import VOTE_COLUMNS, export_polls
    from tests.storage.test_export_safety import seed_polls

    await seed_polls(db)
    await export_polls(db, "SAFE22", "csv", tmp_path / "votes.csv", raw_csv=True)
    with open(tmp_path / "votes.csv", encoding="utf-8-sig", newline="") as fh:
        want = list(csv.DictReader(fh))
    assert want
    for fmt in ("sav", "dta"):
        out = tmp_path / fmt / f"votes.{fmt}"
        await export_polls_stats(db, "SAFE22", fmt, out)
        assert (tmp_path / fmt / "votes.summary.csv").exists()
        frame, meta = read(out, fmt)
        assert list(frame.columns) == list(VOTE_COLUMNS)
        assert len(frame) == len(want)
        for i, row in enumerate(want):
            for column in VOTE_COLUMNS:
                got = frame[column].iloc[i]
                if column in ("voted_at", "updated_at"):
                    got = got.to_pydatetime().strftime("%Y-%m-%dT%H:%M:%SZ")
                elif column in ("poll_id", "poll_position", "anonymous"):
                    got = str(int(got))
                # Lone surrogates become U+FFFD, as in the CSV.
                assert got == row[column], (fmt, i, column, got, row[column])
        labels = meta.variable_value_labels["anonymous"]
        assert set(labels.values()) == {"anonymous", "pseudonymous"}


def test_a_code_no_version_offers_keeps_its_own_number_and_label() -> None:
    from storage.export_stats import NOT_ASKED, SKIPPED, Column, stats_cell

    plan = Column("plan", "code", "Plan?", codes={"training": 1}, labels={1: "Ausbildung"})
    assert stats_cell(plan, "training") == 1
    assert stats_cell(plan, "gap_year") == 2  # stored by an older, lost version
    assert plan.labels[2] == "gap_year" and stats_cell(plan, "gap_year") == 2
    assert stats_cell(plan, SKIPPED) is SKIPPED and stats_cell(plan, NOT_ASKED) is NOT_ASKED
    run_id = Column("run_id", "int", "Run", answers=False)
    assert stats_cell(run_id, NOT_ASKED) is None  # run cells: system-missing
    assert stats_cell(Column("t", "text"), "a\ud83d") == "a\ufffd"
