"""The rails of `backbone export` and `backbone export polls`, as staff meet them in a shell:
the format follows the file name, nothing is overwritten without --force, CSV for German
Excel, one line and exit 3 when there is nothing to export (--empty-ok writes the header),
and a progress bar only on a terminal."""

from __future__ import annotations

import csv
import os
import pty
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from flows.model import Flow, Step, StepType
from storage.models import PollSession
from storage.repo import Database
from tests.conftest import REPO_ROOT
from tests.storage.test_export_safety import FLOW_ID, seed_flow, seed_polls

pytestmark = pytest.mark.storage

BOM = b"\xef\xbb\xbf"
XLSX_MAGIC = b"PK\x03\x04"


def backbone(
    url: str, cwd: Path, *args: str, stderr=subprocess.PIPE
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    env.update(BACKBONE_DATABASE_URL=url, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        timeout=60,
    )


def flow_export(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return backbone(url, cwd, "export", "--flow", FLOW_ID, *args)


def polls_export(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return backbone(url, cwd, "export", "polls", "--session", "SAFE22", *args)


def refused(done: subprocess.CompletedProcess, code: int, text: str) -> None:
    """Exit `code` with exactly one line on stderr containing `text`, nothing on stdout."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("backbone: ") and text in lines[0], lines[0]
    assert done.stdout == ""


async def test_the_format_follows_the_file_name(
    db: Database, migrated_url: str, tmp_path: Path
) -> None:
    await seed_flow(db, ["hallo"])
    await seed_polls(db)
    for name, magic in (("a.xlsx", XLSX_MAGIC), ("a.csv", BOM), ("a.json", b"{")):
        done = flow_export(migrated_url, tmp_path, "-o", name)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / name).read_bytes().startswith(magic), name
    done = polls_export(migrated_url, tmp_path, "-o", "p.XLSX")
    assert done.returncode == 0, done.stderr
    assert zipfile.is_zipfile(tmp_path / "p.XLSX")
    # An explicit --format that agrees is fine; an unknown suffix needs one.
    done = flow_export(migrated_url, tmp_path, "-o", "b.xlsx", "--format", "xlsx")
    assert done.returncode == 0, done.stderr
    done = flow_export(migrated_url, tmp_path, "-o", "answers.txt", "--format", "xlsx")
    assert done.returncode == 0 and zipfile.is_zipfile(tmp_path / "answers.txt")
    # A name without a format of its own: CSV, as before.
    done = flow_export(migrated_url, tmp_path, "-o", "answers")
    assert done.returncode == 0 and (tmp_path / "answers").read_bytes().startswith(BOM)


async def test_a_contradicting_format_or_unknown_suffix_is_refused(
    db: Database, migrated_url: str, tmp_path: Path
) -> None:
    await seed_flow(db, ["hallo"])
    await seed_polls(db)
    done = flow_export(migrated_url, tmp_path, "-o", "out.xlsx", "--format", "csv")
    refused(done, 2, "--format csv does not match the file name out.xlsx")
    done = flow_export(migrated_url, tmp_path, "-o", "out.csv", "--format", "json")
    refused(done, 2, "does not match the file name out.csv")
    done = flow_export(migrated_url, tmp_path, "-o", "out.xls")
    refused(done, 2, "cannot write .xls files: name the file .csv, .xlsx or .json")
    done = polls_export(migrated_url, tmp_path, "-o", "votes.ods")
    refused(done, 2, "cannot write .ods files: name the file .csv or .xlsx")
    done = polls_export(migrated_url, tmp_path, "-o", "votes.json", "--format", "xlsx")
    refused(done, 2, "cannot write .json files: name the file .csv or .xlsx")
    done = polls_export(migrated_url, tmp_path, "-o", "votes.csv", "--format", "xlsx")
    refused(done, 2, "--format xlsx does not match the file name votes.csv")
    assert not [p for p in tmp_path.iterdir() if p.stem in ("out", "votes")]


async def test_existing_files_are_kept_unless_force(
    db: Database, migrated_url: str, tmp_path: Path
) -> None:
    await seed_flow(db, ["hallo"])
    await seed_polls(db)
    data, codebook = tmp_path / "f.csv", tmp_path / "f.codebook.csv"
    data.write_text("keep me")
    refused(flow_export(migrated_url, tmp_path, "-o", "f.csv"), 1, "f.csv already exists")
    assert data.read_text() == "keep me" and not codebook.exists()
    # The side file counts too: a codebook from another export is not replaced silently.
    data.unlink()
    codebook.write_text("old codebook")
    done = flow_export(migrated_url, tmp_path, "-o", "f.csv")
    refused(done, 1, "f.codebook.csv already exists; use --force to replace it")
    assert codebook.read_text() == "old codebook" and not data.exists()
    done = flow_export(migrated_url, tmp_path, "-o", "f.csv", "--force")
    assert done.returncode == 0, done.stderr
    assert "hallo" in data.read_text(encoding="utf-8-sig")
    assert "old codebook" not in codebook.read_text(encoding="utf-8-sig")

    summary = tmp_path / "p.summary.csv"
    summary.write_text("old summary")
    done = polls_export(migrated_url, tmp_path, "-o", "p.csv")
    refused(done, 1, "p.summary.csv already exists")
    assert summary.read_text() == "old summary" and not (tmp_path / "p.csv").exists()
    (tmp_path / "p.xlsx").write_text("not a workbook")
    refused(polls_export(migrated_url, tmp_path, "-o", "p.xlsx"), 1, "already exists")
    assert polls_export(migrated_url, tmp_path, "-o", "p.csv", "--force").returncode == 0
    assert polls_export(migrated_url, tmp_path, "-o", "p.xlsx", "--force").returncode == 0
    assert zipfile.is_zipfile(tmp_path / "p.xlsx")


async def test_a_file_that_cannot_be_written_is_one_line(
    db: Database, migrated_url: str, tmp_path: Path
) -> None:
    await seed_flow(db, ["hallo"])
    await seed_polls(db)
    (tmp_path / "plain").write_text("a file, not a folder")
    for fmt in ("csv", "xlsx", "json"):
        done = flow_export(migrated_url, tmp_path, "-o", f"plain/x.{fmt}")
        refused(done, 1, f"cannot write plain/x.{fmt}")
    refused(polls_export(migrated_url, tmp_path, "-o", "plain/p.csv"), 1, "cannot write")
    assert (tmp_path / "plain").read_text() == "a file, not a folder"


def rows(path: Path, delimiter: str) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh, delimiter=delimiter))


async def test_csv_for_german_excel(db: Database, migrated_url: str, tmp_path: Path) -> None:
    await seed_flow(db, ["Übergang; mit Semikolon", "ä,ö"])
    await seed_polls(db)
    done = flow_export(migrated_url, tmp_path, "-o", "de.csv", "--excel", "--layout", "long")
    assert done.returncode == 0, done.stderr
    raw = (tmp_path / "de.csv").read_bytes()
    assert raw.startswith(BOM)
    header = raw[3:].split(b"\r\n", 1)[0].decode()
    assert header.startswith("pseudonym;run_id;flow_id;") and "," not in header
    got = rows(tmp_path / "de.csv", ";")
    assert {r[got[0].index("value")] for r in got[1:]} >= {"Übergang; mit Semikolon", "ä,ö"}
    assert rows(tmp_path / "de.codebook.csv", ";")[0][:3] == ["variable", "step", "type"]
    done = polls_export(migrated_url, tmp_path, "-o", "p.csv", "--delimiter", ";")
    assert done.returncode == 0, done.stderr
    assert rows(tmp_path / "p.summary.csv", ";")[0][:2] == ["poll_id", "question"]
    done = flow_export(migrated_url, tmp_path, "-o", "t.csv", "--delimiter", "tab")
    assert done.returncode == 0 and rows(tmp_path / "t.csv", "\t")[0][0] == "pseudonym"


async def test_wrong_delimiter_options_are_refused(
    db: Database, migrated_url: str, tmp_path: Path
) -> None:
    await seed_flow(db, ["hallo"])
    refused(flow_export(migrated_url, tmp_path, "-o", "a.xlsx", "--excel"), 2, "--excel: only")
    done = flow_export(migrated_url, tmp_path, "-o", "a.json", "--delimiter", ";")
    refused(done, 2, "--delimiter: only for CSV files")
    for bad in ("ab", '"', "x", ""):
        done = flow_export(migrated_url, tmp_path, "-o", "a.csv", "--delimiter", bad)
        refused(done, 2, "--delimiter: one character")
    done = flow_export(migrated_url, tmp_path, "-o", "a.csv", "--excel", "--delimiter", ",")
    refused(done, 2, "--excel already means --delimiter ';'")
    assert not list(tmp_path.glob("a.*"))


async def empty_flow(db: Database) -> None:
    flow = Flow(
        id="leer",
        title="Leer",
        version="1",
        steps=[Step(id="q", type=StepType.TEXT, text="Frage?")],
    )
    async with db.transaction() as repo:
        await repo.flow_version(
            flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
        )


async def test_nothing_to_export_is_one_line_unless_empty_ok(
    db: Database, migrated_url: str, tmp_path: Path
) -> None:
    await empty_flow(db)
    async with db.transaction() as repo:
        repo.session.add(PollSession(code="LEER22", title="Leer", facilitator_chat_id=1))
    args = ("export", "--flow", "leer", "-o")
    for name in ("e.csv", "e.xlsx", "e.json"):
        done = backbone(migrated_url, tmp_path, *args, name)
        refused(done, 3, "nothing to export: flow 'leer' has no answers yet (--empty-ok")
    polls = ("export", "polls", "--session", "LEER22", "-o")
    refused(backbone(migrated_url, tmp_path, *polls, "v.csv"), 3, "session LEER22 has no votes")
    assert not list(tmp_path.glob("e.*")) and not list(tmp_path.glob("v.*"))

    done = backbone(migrated_url, tmp_path, *args, "e.csv", "--empty-ok", "--excel")
    assert done.returncode == 0, done.stderr
    assert rows(tmp_path / "e.csv", ";") == [
        ["pseudonym", "run_id", "flow_id", "flow_version", "version_hash", "language"]
        + ["status", "started_at", "finished_at", "q"]
    ]
    assert rows(tmp_path / "e.codebook.csv", ";")[-1][:2] == ["q", "q"]
    done = backbone(migrated_url, tmp_path, *polls, "v.csv", "--empty-ok")
    assert done.returncode == 0, done.stderr
    assert len(rows(tmp_path / "v.csv", ",")) == 1
    # An unknown flow stays exit 1: a typo is not "nothing yet".
    refused(backbone(migrated_url, tmp_path, "export", "--flow", "nope", "-o", "n.csv"), 1, "nope")


async def test_progress_bar_only_on_a_terminal(
    db: Database, migrated_url: str, tmp_path: Path
) -> None:
    await seed_flow(db, [f"Antwort {i}" for i in range(30)])
    done = flow_export(migrated_url, tmp_path, "-o", "quiet.csv")
    assert done.returncode == 0 and done.stderr == ""
    leader, follower = pty.openpty()
    try:
        done = flow_export_tty(migrated_url, tmp_path, follower)
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert done.returncode == 0, done.stdout
    assert b"exporting" in seen
    assert done.stdout.splitlines()[0] == "wrote tty.csv"


def flow_export_tty(url: str, cwd: Path, tty: int) -> subprocess.CompletedProcess:
    return backbone(url, cwd, "export", "--flow", FLOW_ID, "-o", "tty.csv", stderr=tty)
