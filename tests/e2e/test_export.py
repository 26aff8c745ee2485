"""Answers given through Telegram come out of `backbone export` cell by cell."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import openpyxl
import pytest

from tests.e2e.conftest import backbone_command
from tests.e2e.helpers import act, onboard

pytestmark = pytest.mark.e2e

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def export(env: dict[str, str], cwd: Path, *args: str) -> None:
    result = subprocess.run(
        [*backbone_command(), "export", "--flow", "school-survey", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_export_matches_what_people_answered(bot, fake_api, bot_env, tmp_path):
    jana = fake_api.user(730155501, "Jana", "de", username="jana_k")
    onboard(jana, payload="school-survey", expect="In welcher Klasse")
    act(jana, lambda: jana.send("9"), "richtig gut")
    act(jana, lambda: jana.send("Zeichnen; und Mathe"), "traust du dir zu")
    act(jana, lambda: jana.press("4"), "nach der Schule machen")
    act(jana, lambda: jana.press("Ausbildung"), "Bereich")
    act(jana, lambda: jana.send("Gestaltung"), "Unterstützung")
    act(jana, lambda: jana.press("Praktikum"), "✅ Praktikum")
    act(jana, lambda: jana.press("Bewerbungen"), "✅ Bewerbungen")
    act(jana, lambda: jana.press("Fertig"), "Berufsberatung")
    act(jana, lambda: jana.press("Ja"), "/start")

    tom = fake_api.user(730155502, "Tom", "en", username="tom_b")
    onboard(tom, payload="school-survey", expect="grade")
    act(tom, lambda: tom.send("10"), "really good")
    act(tom, lambda: tom.send("/cancel"), "/start")

    # wide CSV with the codebook beside it
    out = tmp_path / "survey.csv"
    export(bot_env, tmp_path, "--format", "csv", "--layout", "wide", "--output", str(out))
    rows = read_csv(out)
    assert len(rows) == 2
    by_lang = {r["language"]: r for r in rows}
    de, en = by_lang["de"], by_lang["en"]
    assert de["status"] == "complete" and en["status"] == "incomplete"
    assert de["grade"] == "9"
    assert de["strengths"] == "Zeichnen; und Mathe"
    assert de["self_confidence"] == "4"
    assert de["career_plan"] == "training"
    assert de["career_field"] == "Gestaltung"
    assert de["support_needs"] == "internship;applications"
    assert de["support_needs__internship"] == "1"
    assert de["support_needs__applications"] == "1"
    assert de["support_needs__grades"] == "0"
    assert de["talked_to_counsellor"] == "yes"
    assert en["grade"] == "10" and en["strengths"] == "" and en["finished_at"]
    for row in rows:
        assert row["pseudonym"].startswith("P-")
        assert row["flow_id"] == "school-survey"
        assert ISO_UTC.match(row["started_at"]) and ISO_UTC.match(row["finished_at"])
    codebook = read_csv(tmp_path / "survey.codebook.csv")
    grade = next(r for r in codebook if r["variable"] == "grade")
    assert grade["text_de"] == "In welcher Klasse bist du?"
    assert grade["text_en"].startswith("Which grade") or grade["text_en"]

    # long XLSX: one row per answer, with the wording shown and the label in the language
    xlsx = tmp_path / "survey.xlsx"
    export(bot_env, tmp_path, "--format", "xlsx", "--layout", "long", "--output", str(xlsx))
    book = openpyxl.load_workbook(xlsx)
    assert {"data", "codebook"} <= set(book.sheetnames)
    sheet = book["data"]
    header = [c.value for c in sheet[1]]
    records = [dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(2)]
    plan = next(r for r in records if r["step_id"] == "career_plan")
    assert plan["value"] == "training" and plan["value_label"] == "Ausbildung"
    assert plan["shown_text"] == "Was willst du nach der Schule machen?"
    assert len(records) == 7 + 1  # Jana's seven answers, Tom's one

    # JSON keeps types
    js = tmp_path / "survey.json"
    export(bot_env, tmp_path, "--format", "json", "--layout", "wide", "--output", str(js))
    data = json.loads(js.read_text(encoding="utf-8"))
    jana_row = next(r for r in data["rows"] if r["language"] == "de")
    assert jana_row["grade"] == 9 and jana_row["support_needs"] == ["internship", "applications"]

    # no Telegram identity anywhere
    for path in (out, tmp_path / "survey.codebook.csv", js):
        content = path.read_text(encoding="utf-8-sig")
        for secret in ("730155501", "730155502", "jana_k", "tom_b", "Jana", "Tom"):
            assert secret not in content, (path.name, secret)
