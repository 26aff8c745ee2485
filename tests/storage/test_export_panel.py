"""`backbone export panel`: two campaigns and a run outside campaigns are three waves; a
person's waves land in one wide row (or one long row per wave); the codebook shows where the
wording changed; CSV, JSON, SPSS and Stata read back cell by cell; the rails of exports."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage.campaigns import add_campaign
from storage.export_panel import export_panel, half_year
from storage.export_writers import FilesExist, NoData
from storage.repo import Database
from tests.conftest import REPO_ROOT
from tests.storage.exportdata import FLOW_ID, make_flow
from tests.storage.test_export_rails import backbone, refused

pyreadstat = pytest.importorskip("pyreadstat")
pytestmark = pytest.mark.storage

S, N, R = "<skipped>", "<not asked>", "<no run>"
MISSING = {"sav": {S: -1, N: -2, R: -3}, "dta": {S: "a", N: "b", R: "c"}}
PLAN = {1: "training", 2: "study", 3: "unsure"}
VARIABLES = [
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
TEXT = {"mood", "wishes", "support", "voice_note", "picture", "job_since"}
RUN = ["run_id", "flow_version", "language", "status", "started_at", "finished_at"]
WAVES = ["w1", "w2", "w3"]


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=UTC)


async def seed_panel(db: Database) -> dict[str, Any]:
    """Wave 1: campaign 1 on v1; wave 2: campaign 2 on v2 (reworded confidence); wave 3: a
    run outside campaigns in 2027-H1. p1 took wave 1 twice (the later run counts)."""
    out: dict[str, Any] = {"runs": {}}
    async with db.transaction() as repo:
        versions = {}
        for label in ("2026-1", "2026-2"):
            flow = make_flow(label)
            row = await repo.flow_version(
                FLOW_ID, label, flow.content_hash(), flow.model_dump(mode="json")
            )
            versions[label] = row.id
        out["versions"] = versions
        people = {}
        for n, key in enumerate(("p1", "p2", "p3"), start=1):
            made = await repo.add_participant(4000 + n, 4000 + n, f"Name{n}", None, "de")
            people[key] = (made.participant_id, made.participant.pseudonym)
        out["who"] = {k: v[1] for k, v in people.items()}
        camps = []
        for month in (5, 11):
            c = await add_campaign(
                repo,
                flow_id=FLOW_ID,
                groups=["panel"],
                start_at=at(month, 1),
                deadline=at(month, 20),
                created_by="test",
            )
            camps.append(c.id)
        out["campaigns"] = camps

        async def run(key, who, version, campaign, started, answers, status="complete"):
            r = await repo.add_run(people[who][0], versions[version], "de", {})
            r.campaign_id, r.started_at, r.status = campaign, started, status
            r.finished_at = started.replace(hour=10) if status == "complete" else None
            for step_id, value in answers.items():
                skipped = value is None
                await repo.save_answer(r.id, step_id, value, skipped, "wording", "de", started)
            out["runs"][key] = r.id

        await run("p1w1a", "p1", "2026-1", camps[0], at(5, 2), {"plan": "unsure"}, "incomplete")
        await run(
            "p1w1",
            "p1",
            "2026-1",
            camps[0],
            at(5, 3),
            {"mood": "=cmd", "plan": "study", "support": ["time"], "confidence": 4},
        )
        await run(
            "p1w2",
            "p1",
            "2026-2",
            camps[1],
            at(11, 2),
            {"plan": "training", "wishes": None, "confidence": 5, "has_job": "no"},
        )
        await run("p2w2", "p2", "2026-2", camps[1], at(11, 4), {"plan": "unsure", "support": None})
        await run("p3w3", "p3", "2026-2", None, at(2, 3, 2027), {"plan": "study", "age": 19})
    return out


def blank_block(missing: str) -> dict[str, Any]:
    return dict.fromkeys(RUN, R if missing == R else None) | dict.fromkeys(VARIABLES, missing)


def block(s: dict, key: str, version: str, started: datetime, status: str, **answers) -> dict:
    """A wave's cells (typed, stats terms: plan as its code, has_job 1/0)."""
    cells = blank_block(N)
    cells |= {
        "run_id": s["runs"][key],
        "flow_version": version,
        "language": "de",
        "status": status,
        "started_at": started.replace(tzinfo=None),
        "finished_at": started.replace(hour=10, tzinfo=None) if status == "complete" else None,
    }
    return cells | answers  # (wishes in v1, which lacks it: not asked, like any unanswered)


def expected_wide(s: dict) -> dict[str, dict[str, Any]]:
    """Per pseudonym: column -> typed cell."""
    who = s["who"]
    p1w1 = block(s, "p1w1", "2026-1", at(5, 3), "complete", mood="=cmd", plan=2)
    p1w1 |= {"support": "time", "confidence": 4}
    p1w1 |= {"support__mentor": 0, "support__money": 0, "support__time": 1}  # friends: N (v1)
    p1w2 = block(s, "p1w2", "2026-2", at(11, 2), "complete", plan=1, wishes=S, confidence=5)
    p1w2 |= {"has_job": 0}
    p2w2 = block(s, "p2w2", "2026-2", at(11, 4), "complete", plan=3, support=S)
    p2w2 |= dict.fromkeys(["support__mentor", "support__money", "support__time"], S)
    p2w2 |= {"support__friends": S}
    p3w3 = block(s, "p3w3", "2026-2", at(2, 3, 2027), "complete", plan=2, age=19)
    rows = {
        who["p1"]: {"w1": p1w1, "w2": p1w2, "w3": blank_block(R)},
        who["p2"]: {"w1": blank_block(R), "w2": p2w2, "w3": blank_block(R)},
        who["p3"]: {"w1": blank_block(R), "w2": blank_block(R), "w3": p3w3},
    }
    return {
        pseudonym: {"pseudonym": pseudonym}
        | {f"{c}__{w}": v for w in WAVES for c, v in waves[w].items()}
        for pseudonym, waves in rows.items()
    }


def as_csv(column: str, value: Any) -> str:
    """The CSV form of a typed cell (every missing kind empty; formulas defused)."""
    name = column.rsplit("__w", 1)[0]
    if value in (S, N, R) or value is None:
        return ""
    if name == "plan":
        return PLAN[value]
    if name == "has_job":
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str) and value.startswith("="):
        return "'" + value
    return str(value)


ANSWER_TEXT = TEXT - {"job_since"}


def as_stats(column: str, value: Any, fmt: str) -> Any:
    """The .sav/.dta form of a typed cell: answers' missing codes (SPSS text: "-1"...; Stata
    text: empty, the code in its status companion); run cells system-missing or empty."""
    name = column.rsplit("__w", 1)[0]
    if value not in (S, N, R) and value is not None:
        return value
    if name in ANSWER_TEXT:
        return str(MISSING["sav"][value]) if fmt == "sav" else ""
    if name in {"run_id", "started_at", "finished_at"} or value is None:
        return None
    return "" if name in {"flow_version", "language", "status"} else MISSING[fmt][value]


def in_file(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """An expected row's columns and cells as the file holds them (Stata: a `<name>_status`
    after each text answer, 0 when answered)."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        out[column] = as_stats(column, value, fmt)
        if fmt == "dta" and column.rsplit("__w", 1)[0] in ANSWER_TEXT:
            missing = value in (S, N, R)
            out[f"{column}_status"] = MISSING["dta"][value] if missing else 0
    return out


def cell(got: Any) -> Any:
    if got is None or (isinstance(got, float) and math.isnan(got)) or str(got) == "NaT":
        return None
    if hasattr(got, "to_pydatetime"):
        return got.to_pydatetime()
    if isinstance(got, float) and got.is_integer():
        return int(got)
    return got


async def test_two_campaigns_land_in_one_wide_row_csv(db: Database, tmp_path: Path) -> None:
    s = await seed_panel(db)
    out = tmp_path / "panel.csv"
    assert await export_panel(db, FLOW_ID, "csv", "wide", out) == [
        out,
        tmp_path / "panel.codebook.csv",
    ]
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = expected_wide(s)
    assert list(rows[0]) == list(next(iter(expected.values())))
    assert [r["pseudonym"] for r in rows] == list(expected)  # one row per person
    for row in rows:
        for column, value in expected[row["pseudonym"]].items():
            assert row[column] == as_csv(column, value), (row["pseudonym"], column)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
async def test_wide_panel_reads_back_cell_by_cell(db: Database, tmp_path: Path, fmt: str) -> None:
    s = await seed_panel(db)
    out = tmp_path / f"panel.{fmt}"
    await export_panel(db, FLOW_ID, fmt, "wide", out)
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    frame, meta = reader(str(out), user_missing=True)
    if fmt == "sav":
        # The reader turns a date's missing code into a date: compare those as stored.
        raw, _ = reader(str(out), user_missing=True, disable_datetime_conversion=True)
        for name in [c for c in frame.columns if c.startswith("job_since")]:
            frame[name] = [r if r < 0 else d for r, d in zip(raw[name], frame[name], strict=True)]
    expected = [in_file(row, fmt) for row in expected_wide(s).values()]
    assert list(frame.columns) == list(expected[0])
    assert len(frame) == 3
    for i, want in enumerate(expected):
        for column, value in want.items():
            got = cell(frame[column].iloc[i])
            assert got == value, (i, column, got, value)
    labels = meta.column_names_to_labels
    assert labels["confidence__w1"] == "[w1] Wie genau weißt du, was du willst?"
    values = meta.variable_value_labels["plan__w2"]
    assert {cell(k): v for k, v in values.items()}[MISSING[fmt][R]] == "no run in this wave"


async def test_long_panel_one_row_per_person_and_wave(db: Database, tmp_path: Path) -> None:
    s = await seed_panel(db)
    out = tmp_path / "long.dta"
    await export_panel(db, FLOW_ID, "dta", "long", out)
    frame, meta = pyreadstat.read_dta(str(out), user_missing=True)
    who, wide = s["who"], expected_wide(s)
    keys = [(who["p1"], "w1"), (who["p1"], "w2"), (who["p2"], "w2"), (who["p3"], "w3")]
    assert len(frame) == len(keys)
    assert list(frame.columns)[:3] == ["pseudonym", "wave", "wave_name"]
    for i, (pseudonym, wave) in enumerate(keys):
        assert frame["pseudonym"].iloc[i] == pseudonym
        assert cell(frame["wave"].iloc[i]) == int(wave[1])
        row = in_file({c: wide[pseudonym][f"{c}__{wave}"] for c in [*RUN, *VARIABLES]}, "dta")
        for column, want in row.items():
            assert cell(frame[column].iloc[i]) == want, (i, column)
    c1, c2 = s["campaigns"]
    assert list(frame["wave_name"]) == [
        f"campaign {c1} (2026-05-01)",
        f"campaign {c2} (2026-11-01)",
        f"campaign {c2} (2026-11-01)",
        "2027-H1",
    ]
    wave_labels = {cell(k): v for k, v in meta.variable_value_labels["wave"].items()}
    assert wave_labels[3] == "w3: 2027-H1"


async def test_json_long_and_the_codebook_shows_the_changed_wording(
    db: Database, tmp_path: Path
) -> None:
    await seed_panel(db)
    out = tmp_path / "long.json"
    await export_panel(db, FLOW_ID, "json", "long", out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [r["wave"] for r in doc["rows"]] == ["w1", "w2", "w2", "w3"]
    assert doc["rows"][0]["plan"] == "study" and doc["rows"][0]["support"] == ["time"]
    book = {e["variable"]: e for e in doc["codebook"]}
    assert book["confidence"]["wording_changed"] == 1
    assert book["confidence"]["changed_in"] == ["2026-2"]
    assert book["confidence"]["wording_by_version"] == {
        "2026-1": "Wie gut weißt du, was du willst?",
        "2026-2": "Wie genau weißt du, was du willst?",
    }
    assert book["plan"]["wording_changed"] == 0
    assert book["wishes"]["versions"] == ["2026-2"]

    await export_panel(db, FLOW_ID, "csv", "wide", tmp_path / "wide.csv")
    with open(tmp_path / "wide.codebook.csv", encoding="utf-8-sig", newline="") as fh:
        wide = {e["variable"]: e for e in csv.DictReader(fh)}
    assert wide["confidence__w1"]["label"] == "Wie gut weißt du, was du willst?"
    assert wide["confidence__w1"]["wording_changed"] == "0"
    # The wave whose runs first saw the new wording is flagged.
    assert wide["confidence__w2"]["label"] == "Wie genau weißt du, was du willst?"
    assert wide["confidence__w2"]["wording_changed"] == "1"
    assert wide["confidence__w3"]["wording_changed"] == "0"
    assert wide["plan__w2"]["wording_changed"] == "0"
    assert wide["wishes__w1"]["description"].startswith("not asked in this wave")
    assert wide["run_id__w3"]["description"] == "w3 = 2027-H1"


def test_a_run_outside_campaigns_is_in_its_half_year() -> None:
    assert half_year("2026-06-30T23:59:59Z") == "2026-H1"
    assert half_year("2026-07-01T00:00:00Z") == "2026-H2"


async def test_rails_in_storage(db: Database, tmp_path: Path) -> None:
    await seed_panel(db)
    out = tmp_path / "p.xlsx"
    await export_panel(db, FLOW_ID, "xlsx", "wide", out)
    with pytest.raises(FilesExist):
        await export_panel(db, FLOW_ID, "xlsx", "wide", out)
    await export_panel(db, FLOW_ID, "xlsx", "long", out, force=True)
    with pytest.raises(LookupError):
        await export_panel(db, "nope", "csv", "wide", tmp_path / "n.csv")
    quiet = make_flow("2026-1").model_copy(update={"id": "quiet"})
    async with db.transaction() as repo:
        await repo.flow_version("quiet", "1", quiet.content_hash(), quiet.model_dump(mode="json"))
    with pytest.raises(NoData):
        await export_panel(db, "quiet", "sav", "wide", tmp_path / "q.sav")
    assert not list(tmp_path.glob("q*"))
    await export_panel(db, "quiet", "sav", "wide", tmp_path / "q.sav", empty_ok=True)
    frame, _ = pyreadstat.read_sav(str(tmp_path / "q.sav"))
    assert list(frame.columns) == ["pseudonym"] and len(frame) == 0


async def test_cli_rails(db: Database, migrated_url: str, tmp_path: Path) -> None:
    await seed_panel(db)
    panel = ("export", "panel", "--flow", FLOW_ID, "-o")
    done = backbone(migrated_url, tmp_path, *panel, "p.sav")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["wrote p.sav", "wrote p.codebook.csv"]
    refused(backbone(migrated_url, tmp_path, *panel, "p.sav"), 1, "already exists")
    done = backbone(migrated_url, tmp_path, *panel, "p.sav", "--force", "--layout", "long")
    assert done.returncode == 0, done.stderr
    refused(backbone(migrated_url, tmp_path, *panel, "p.ods"), 2, "cannot write .ods")
    refused(backbone(migrated_url, tmp_path, *panel, "p.dta", "--format", "sav"), 2, "match")
    refused(backbone(migrated_url, tmp_path, *panel, "p.dta", "--excel"), 2, "only for CSV")
    nope = ("export", "panel", "--flow", "nope", "-o", "n.csv")
    refused(backbone(migrated_url, tmp_path, *nope), 1, "no data for flow 'nope'")
    flow = ("export", "--flow", FLOW_ID, "-o")
    refused(backbone(migrated_url, tmp_path, *flow, "f.sav", "--layout", "long"), 2, "long")
    done = backbone(migrated_url, tmp_path, *flow, "f.dta")
    assert done.returncode == 0 and (tmp_path / "f.dta").exists(), done.stderr


async def test_written_without_pyreadstat_or_pandas(
    db: Database, migrated_url: str, tmp_path: Path
) -> None:
    """The bot writes .sav and .dta itself: a machine without the tests' reader exports."""
    await seed_panel(db)
    fake = tmp_path / "fake"
    for package in ("pyreadstat", "pandas"):
        (fake / package).mkdir(parents=True)
        (fake / package / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    env.update(BACKBONE_DATABASE_URL=migrated_url, PYTHONPATH=f"{fake}:{REPO_ROOT}")
    for args in (
        ("export", "panel", "--flow", FLOW_ID, "-o", "p.dta"),
        ("export", "--flow", FLOW_ID, "-o", "f.sav"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "bot", "export", "polls", "--session", "NONE", "-o", "v.sav"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    refused(done, 1, "NONE")
    frame, _ = pyreadstat.read_dta(str(tmp_path / "p.dta"))
    assert len(frame) == 3  # three people
    frame, _ = pyreadstat.read_sav(str(tmp_path / "f.sav"))
    assert len(frame) > 0


async def test_runs_outside_campaigns_by_half_year_or_by_month(db: Database, tmp_path: Path):
    s = await seed_panel(db)
    async with db.transaction() as repo:
        p3 = await repo.participant_by_pseudonym(s["who"]["p3"])
        later = await repo.add_run(p3.id, s["versions"]["2026-2"], "de", {})
        later.started_at, later.status = at(5, 10, 2027), "complete"
        await repo.save_answer(later.id, "plan", "training", False, "w", "de", at(5, 10, 2027))

    def row_of_p3(path: Path) -> dict[str, str]:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return next(r for r in csv.DictReader(fh) if r["pseudonym"] == s["who"]["p3"])

    await export_panel(db, FLOW_ID, "csv", "wide", tmp_path / "h.csv")
    halves = row_of_p3(tmp_path / "h.csv")
    assert halves["plan__w3"] == "training" and "plan__w4" not in halves  # the newer run
    await export_panel(db, FLOW_ID, "csv", "wide", tmp_path / "m.csv", period="months")
    months = row_of_p3(tmp_path / "m.csv")
    assert (months["plan__w3"], months["plan__w4"]) == ("study", "training")
    with open(tmp_path / "m.codebook.csv", encoding="utf-8-sig", newline="") as fh:
        book = {e["variable"]: e for e in csv.DictReader(fh)}
    assert book["run_id__w3"]["description"] == "w3 = 2027-02"
    assert book["run_id__w4"]["description"] == "w4 = 2027-05"
    with pytest.raises(ValueError):
        await export_panel(db, FLOW_ID, "csv", "wide", tmp_path / "x.csv", period="weeks")
