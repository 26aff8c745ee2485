"""`backbone export polls`: every vote and the summary per option, cell by cell, in CSV and
XLSX; anonymous votes without a voter; no Telegram data anywhere in the files."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from storage.export import NoData
from storage.export_polls import SUMMARY_COLUMNS, VOTE_COLUMNS, export_polls, summary_path
from storage.models import (
    AuditEntry,
    Identity,
    Participant,
    Poll,
    PollSession,
    SessionMember,
    Vote,
)
from storage.repo import Database
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.storage

FORMATS = ["csv", "xlsx"]
BOM = b"\xef\xbb\xbf"
CODE = "K7M2QX"
T0 = datetime(2026, 11, 24, 15, 0, 0, tzinfo=UTC)

# key -> (pseudonym, Telegram user id, first name, username); none but the pseudonym may leak.
PEOPLE = {
    "fac": ("P-FAC111", 987654321100, "Moderatorin", "secret_facilitator"),
    "p1": ("P-AAA111", 987654321101, "Jürgenwolf", "geheim_user_one"),
    "p2": ("P-BBB222", 987654321102, "Zoraidalie", "geheim_user_two"),
    "p3": ("P-CCC333", 987654321103, "Quirinius", "geheim_user_three"),
    "p4": ("P-DDD444", 987654321104, "Ottokarla", "geheim_user_four"),
}
FACILITATOR_CHAT = 987654321199
RESULTS_CHAT = 987654321198


def ts(minutes: float, micro: int = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, microseconds=micro)


def iso(minutes: float) -> str:
    return ts(minutes).strftime("%Y-%m-%dT%H:%M:%SZ")


def spec(poll_id: str, kind: str, question: str, anonymous: bool, **extra: Any) -> dict[str, Any]:
    return {"id": poll_id, "type": kind, "question": question, "anonymous": anonymous, **extra}


@dataclass
class Seeded:
    ids: dict[str, int] = field(default_factory=dict)  # poll key -> Poll.id
    people: dict[str, int] = field(default_factory=dict)  # person key -> Participant.id


async def seed(db: Database) -> Seeded:
    """A session with five polls opened in an order that differs from their ids, members
    p1..p4 (p4 votes only in the words poll), plus another session and a group poll that
    must stay out of the export."""
    out = Seeded()
    async with db.transaction() as repo:
        s = repo.session
        for key, (pseudonym, tg, first_name, username) in PEOPLE.items():
            person = Participant(pseudonym=pseudonym, stage="ready", locale="de")
            s.add(person)
            s.add(
                Identity(
                    participant=person,
                    telegram_user_id=tg,
                    chat_id=tg,
                    first_name=first_name,
                    username=username,
                    language_code="de",
                )
            )
            await s.flush()
            out.people[key] = person.id
        p = out.people

        session = PollSession(
            code=CODE,
            title="Steuerkreis November",
            facilitator_id=p["fac"],
            facilitator_chat_id=FACILITATOR_CHAT,
            status="closed",
            created_at=ts(-5),
        )
        other = PollSession(
            code="OTHER2",
            title="Andere Runde",
            facilitator_id=p["fac"],
            facilitator_chat_id=FACILITATOR_CHAT,
        )
        s.add_all([session, other])
        await s.flush()
        s.add_all(
            SessionMember(session_id=session.id, participant_id=p[k], joined_at=ts(-1))
            for k in ("p1", "p2", "p3", "p4")
        )
        s.add(SessionMember(session_id=other.id, participant_id=p["p1"]))

        def poll(session_id: int | None, body: dict[str, Any], opened: float) -> Poll:
            row = Poll(
                session_id=session_id,
                spec=body,
                anonymous=body["anonymous"],
                status="closed",
                salt=None,
                opened_by="facilitator:1",
                opened_at=ts(opened),
                closed_at=ts(opened + 5),
                results_chat_id=RESULTS_CHAT,
                results_message_id=4242,
            )
            s.add(row)
            return row

        # Added (so numbered) in another order than they were opened: position follows time.
        polls = {
            "scale": poll(
                session.id,
                spec(
                    "clarity",
                    "scale",
                    "Wie klar ist der nächste Schritt?",
                    True,
                    min=1,
                    max=5,
                    min_label="unklar",
                    max_label="klar",
                ),
                30,
            ),
            "single": poll(
                session.id,
                spec(
                    "priorities",
                    "single_choice",
                    "Welches Problem zuerst?",
                    True,
                    options={
                        "info": "Zu wenig Information",
                        "match": "Passung Betrieb–Jugendliche",
                        "time": "=Zeit",
                    },
                ),
                0,
            ),
            "multi": poll(
                session.id,
                spec(
                    "roles",
                    "multiple_choice",
                    "Wer muss mitmachen?",
                    False,
                    options={"a": "Schule", "b": "Betrieb", "c": "Eltern"},
                    max=3,
                ),
                10,
            ),
            "words": poll(
                session.id,
                spec("feeling", "words", "Wie geht es dir?", False, max_words=3),
                20,
            ),
            "quiet": poll(
                session.id,
                spec("silence", "words", "Noch etwas?", False, max_words=1),
                40,
            ),
            "elsewhere": poll(
                other.id,
                spec("x", "single_choice", "Andere Frage", False, options={"y": "Ja", "n": "Nein"}),
                1,
            ),
        }
        group = Poll(
            spec=spec("g", "single_choice", "Gruppe?", False, options={"y": "Ja", "n": "Nein"}),
            anonymous=False,
            status="closed",
            opened_by="staff",
            opened_at=ts(2),
            group_chat_id=-100987654321,
        )
        s.add(group)
        await s.flush()
        out.ids = {key: row.id for key, row in polls.items()}
        ids = out.ids

        def vote(key: str, voter: str, who: str | None, value: Any, at: float, upd: float) -> None:
            s.add(
                Vote(
                    poll_id=ids[key],
                    voter_key=voter,
                    participant_id=p[who] if who else None,
                    value=value,
                    voted_at=ts(at, 654321),
                    updated_at=ts(upd, 123456),
                )
            )

        # Anonymous single choice: k2 first chose "info", then changed to "match" (one row).
        vote("single", "k1", None, ["info"], 1, 1)
        vote("single", "k2", None, ["match"], 2, 3)
        vote("single", "k3", None, ["info"], 2.5, 2.5)
        # Pseudonymous multiple choice: p1 ticked two options (two rows), p2 one.
        vote("multi", "m1", "p1", ["a", "c"], 11, 12)
        vote("multi", "m2", "p2", ["c"], 11.5, 11.5)
        # Pseudonymous words: a tie between "aufgeregt" and "müde" is ranked alphabetically.
        vote("words", "w1", "p1", ["gut vorbereitet"], 21, 21)
        vote("words", "w2", "p2", ["müde"], 21.5, 21.5)
        vote("words", "w3", "p3", ["gut vorbereitet"], 22, 22)
        vote("words", "w4", "p4", ["aufgeregt"], 22.5, 24)
        # Anonymous scale.
        vote("scale", "s1", None, 4, 31, 31)
        vote("scale", "s2", None, 2, 31.5, 32)
        vote("scale", "s3", None, 4, 32.5, 32.5)
        # Elsewhere: another session and a group poll.
        vote("elsewhere", "e1", "p1", ["y"], 2, 2)
        s.add(
            Vote(
                poll_id=group.id,
                voter_key="g1",
                participant_id=p["p2"],
                value=["n"],
                voted_at=ts(3),
                updated_at=ts(3),
            )
        )
    return out


def expected_votes(seeded: Seeded) -> list[list[Any]]:
    """Typed cells (as XLSX keeps them) of the votes sheet."""
    ids = seeded.ids
    single = [CODE, ids["single"], 1, "Welches Problem zuerst?", "single_choice", 1, None]
    multi = [CODE, ids["multi"], 2, "Wer muss mitmachen?", "multiple_choice", 0]
    words = [CODE, ids["words"], 3, "Wie geht es dir?", "words", 0]
    scale = [CODE, ids["scale"], 4, "Wie klar ist der nächste Schritt?", "scale", 1, None]
    return [
        [*single, "info", "Zu wenig Information", iso(1), iso(1)],
        [*single, "match", "Passung Betrieb–Jugendliche", iso(2), iso(3)],
        [*single, "info", "Zu wenig Information", iso(2.5), iso(2.5)],
        [*multi, "P-AAA111", "a", "Schule", iso(11), iso(12)],
        [*multi, "P-AAA111", "c", "Eltern", iso(11), iso(12)],
        [*multi, "P-BBB222", "c", "Eltern", iso(11.5), iso(11.5)],
        [*words, "P-AAA111", "gut vorbereitet", "gut vorbereitet", iso(21), iso(21)],
        [*words, "P-BBB222", "müde", "müde", iso(21.5), iso(21.5)],
        [*words, "P-CCC333", "gut vorbereitet", "gut vorbereitet", iso(22), iso(22)],
        [*words, "P-DDD444", "aufgeregt", "aufgeregt", iso(22.5), iso(24)],
        [*scale, 4, 4, iso(31), iso(31)],
        [*scale, 2, 2, iso(31.5), iso(32)],
        [*scale, 4, 4, iso(32.5), iso(32.5)],
    ]


def expected_summary(seeded: Seeded) -> list[list[Any]]:
    """Typed cells of the summary sheet: every option, zeros included; 4 members joined."""
    ids = seeded.ids

    def rows(key: str, question: str, voters: int, options: list[tuple[Any, Any, int]]):
        return [
            [ids[key], question, code, label, votes, share(votes, voters), voters, 4]
            for code, label, votes in options
        ]

    def share(votes: int, voters: int) -> float:
        return round(votes / voters, 4) if voters else 0.0

    return [
        *rows(
            "single",
            "Welches Problem zuerst?",
            3,
            [
                ("info", "Zu wenig Information", 2),
                ("match", "Passung Betrieb–Jugendliche", 1),
                ("time", "=Zeit", 0),
            ],
        ),
        *rows(
            "multi",
            "Wer muss mitmachen?",
            2,
            [("a", "Schule", 1), ("b", "Betrieb", 0), ("c", "Eltern", 2)],
        ),
        *rows(
            "words",
            "Wie geht es dir?",
            4,
            [
                ("gut vorbereitet", "gut vorbereitet", 2),
                ("aufgeregt", "aufgeregt", 1),
                ("müde", "müde", 1),
            ],
        ),
        *rows(
            "scale",
            "Wie klar ist der nächste Schritt?",
            3,
            [(1, 1, 0), (2, 2, 1), (3, 3, 0), (4, 4, 2), (5, 5, 0)],
        ),
        *rows("quiet", "Noch etwas?", 0, [(None, None, 0)]),
    ]


def as_csv(row: list[Any], columns: tuple[str, ...]) -> list[str]:
    """A typed row as CSV shows it: text, empty for None, shares with four decimals."""
    cells = []
    for column, value in zip(columns, row, strict=True):
        if value is None:
            cells.append("")
        elif column == "share":
            cells.append(f"{value:.4f}")
        elif isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            cells.append("'" + value)  # defused for spreadsheets
        else:
            cells.append(str(value))
    return cells


def read_csv(path: Path) -> list[list[str]]:
    assert path.read_bytes().startswith(BOM), f"{path.name} lacks the UTF-8 BOM"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def as_xlsx(row: list[Any]) -> list[Any]:
    """A typed vote row as XLSX keeps it: moments as (naive, UTC) date cells."""
    return [
        datetime.fromisoformat(v.removesuffix("Z")) if c in ("voted_at", "updated_at") else v
        for c, v in zip(VOTE_COLUMNS, row, strict=True)
    ]


def read_sheets(path: Path) -> dict[str, list[list[Any]]]:
    wb = load_workbook(path)
    assert wb.sheetnames == ["votes", "summary"]
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def read_back(fmt: str, paths: list[Path]) -> tuple[list[list[Any]], list[list[Any]]]:
    """(votes rows, summary rows) of an export, each with its header row first."""
    if fmt == "csv":
        votes, summary = paths
        return read_csv(votes), read_csv(summary)
    (path,) = paths
    sheets = read_sheets(path)
    return sheets["votes"], sheets["summary"]


async def _audit(db: Database) -> list[AuditEntry]:
    async with db.transaction() as repo:
        return list(await repo.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("fmt", FORMATS)
async def test_every_cell_of_votes_and_summary(db: Database, tmp_path: Path, fmt: str) -> None:
    seeded = await seed(db)
    out = tmp_path / "exports" / f"votes.{fmt}"
    paths = await export_polls(db, CODE, fmt, out)

    if fmt == "csv":
        assert paths == [out, tmp_path / "exports" / "votes.summary.csv"]
        assert summary_path(out) == paths[1]
    else:
        assert paths == [out]
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(p.name for p in paths)

    votes, summary = read_back(fmt, paths)
    assert votes[0] == list(VOTE_COLUMNS)
    assert summary[0] == list(SUMMARY_COLUMNS)
    want_votes = expected_votes(seeded)
    want_summary = expected_summary(seeded)
    if fmt == "csv":
        want_votes = [as_csv(r, VOTE_COLUMNS) for r in want_votes]
        want_summary = [as_csv(r, SUMMARY_COLUMNS) for r in want_summary]
    else:
        want_votes = [as_xlsx(r) for r in want_votes]
    assert len(votes) - 1 == len(want_votes)
    for got, want in zip(votes[1:], want_votes, strict=True):
        assert got == want
    assert len(summary) - 1 == len(want_summary)
    for got, want in zip(summary[1:], want_summary, strict=True):
        assert got == want

    entries = await _audit(db)
    assert [(e.actor, e.action, e.details) for e in entries] == [
        ("cli", "export_polls", {"session": CODE, "format": fmt, "rows": len(want_votes)})
    ]


async def test_xlsx_types_and_formats(db: Database, tmp_path: Path) -> None:
    await seed(db)
    out = tmp_path / "polls.xlsx"
    await export_polls(db, CODE, "xlsx", out)
    wb = load_workbook(out)
    votes, summary = wb["votes"], wb["summary"]
    for ws in (votes, summary):
        assert ws.freeze_panes == "A2"
        assert all(cell.font.b for cell in ws[1])
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
    voted = [row[VOTE_COLUMNS.index("voted_at")] for row in votes.iter_rows(min_row=2)]
    assert voted and all(c.is_date for c in voted)
    # An option label starting with "=" stays text, never a formula.
    labels = [row[3] for row in summary.iter_rows(min_row=2, values_only=True)]
    assert "=Zeit" in labels
    time_label = next(c for c in summary["D"] if c.value == "=Zeit")
    assert time_label.data_type == "s"
    share = SUMMARY_COLUMNS.index("share") + 1
    cells = [row[share - 1] for row in summary.iter_rows(min_row=2)]
    assert cells and all(c.number_format == "0.0000" for c in cells)
    # Numbers, not text (a whole share such as 0.0 reads back as the int 0).
    assert all(isinstance(c.value, int | float) for c in cells)
    assert next(c.value for c in cells if c.row == 2) == pytest.approx(0.6667)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_anonymous_votes_have_no_voter(db: Database, tmp_path: Path, fmt: str) -> None:
    seeded = await seed(db)
    # Even a participant link that should never exist on an anonymous poll is not shown.
    async with db.transaction() as repo:
        stray = await repo.session.scalar(
            select(Vote).where(Vote.poll_id == seeded.ids["single"], Vote.voter_key == "k1")
        )
        stray.participant_id = seeded.people["p3"]
    votes, _ = read_back(fmt, await export_polls(db, CODE, fmt, tmp_path / f"v.{fmt}"))
    head = votes[0]
    rows = [dict(zip(head, r, strict=True)) for r in votes[1:]]
    blank = "" if fmt == "csv" else None
    one = "1" if fmt == "csv" else 1
    anonymous = [r for r in rows if r["anonymous"] == one]
    assert len(anonymous) == 6
    assert all(r["voter"] == blank for r in anonymous)
    named = [r for r in rows if r["anonymous"] != one]
    assert named and all(str(r["voter"]).startswith("P-") for r in named)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_no_telegram_data_in_any_byte(db: Database, tmp_path: Path, fmt: str) -> None:
    await seed(db)
    needles: list[bytes] = []
    for _pseudonym, tg, first_name, username in PEOPLE.values():
        needles += [str(tg).encode(), username.encode(), first_name.encode("utf-8")]
        if not first_name.isascii():
            # An escaped spelling (J\u00fcrgenwolf) would still contain the ASCII tail.
            needles.append(first_name[2:].encode("ascii"))
    needles += [str(FACILITATOR_CHAT).encode(), str(RESULTS_CHAT).encode(), b"987654321"]
    needles.append(b"Steuerkreis")  # not personal, but the export has no use for the title

    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        paths = await export_polls(db, CODE, fmt, tmp_path / f"polls.{fmt}")
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)

    for path in paths:
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


async def test_unknown_session_and_code_spelling(db: Database, tmp_path: Path) -> None:
    await seed(db)
    out = tmp_path / "nothing.csv"
    with pytest.raises(LookupError) as info:
        await export_polls(db, "NOPE99", "csv", out)
    assert str(info.value) == "no session with code NOPE99"
    assert not out.exists() and not summary_path(out).exists()
    assert await _audit(db) == []
    with pytest.raises(ValueError):
        await export_polls(db, CODE, "json", out)  # type: ignore[arg-type]
    # Codes are typed from a projector: lower case and spaces are forgiven.
    paths = await export_polls(db, f" {CODE.lower()} ", "csv", out)
    votes, _ = read_back("csv", paths)
    assert {r[0] for r in votes[1:]} == {CODE}
    assert (await _audit(db))[-1].details["session"] == CODE


async def test_session_without_polls(db: Database, tmp_path: Path) -> None:
    async with db.transaction() as repo:
        repo.session.add(PollSession(code="EMPTY2", title="Leer", facilitator_chat_id=1))
    with pytest.raises(NoData, match="nothing to export: session EMPTY2 has no votes yet"):
        await export_polls(db, "EMPTY2", "xlsx", tmp_path / "empty.xlsx")
    assert not (tmp_path / "empty.xlsx").exists()
    assert await _audit(db) == []
    paths = await export_polls(db, "EMPTY2", "xlsx", tmp_path / "empty.xlsx", empty_ok=True)
    sheets = read_sheets(paths[0])
    assert sheets == {"votes": [list(VOTE_COLUMNS)], "summary": [list(SUMMARY_COLUMNS)]}
    assert (await _audit(db))[-1].details == {"session": "EMPTY2", "format": "xlsx", "rows": 0}


# --------------------------------------------------------------------------- command line


def backbone(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    env["BACKBONE_DATABASE_URL"] = url
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_command_line(db: Database, migrated_url: str, tmp_path: Path) -> None:
    seeded = await seed(db)
    out = tmp_path / "round.csv"
    done = backbone(migrated_url, tmp_path, "export", "polls", "--session", CODE, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"wrote {out}", f"wrote {summary_path(out)}"]
    assert read_csv(out)[1:] == [as_csv(r, VOTE_COLUMNS) for r in expected_votes(seeded)]

    xlsx = tmp_path / "round.xlsx"
    args = ["export", "polls", "--session", CODE, "--format", "xlsx", "--output", str(xlsx)]
    done = backbone(migrated_url, tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert read_sheets(xlsx)["votes"][1:] == [as_xlsx(r) for r in expected_votes(seeded)]

    missing = backbone(
        migrated_url, tmp_path, "export", "polls", "--session", "NOPE99", "-o", "x.csv"
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == "backbone: no session with code NOPE99"
    assert not (tmp_path / "x.csv").exists()

    # Flow options before the subcommand are refused rather than silently ignored.
    mixed = backbone(
        migrated_url, tmp_path, "export", "--format", "xlsx", "polls", "--session", CODE
    )
    assert mixed.returncode == 2
    assert "only for a flow export" in mixed.stderr

    helped = backbone(migrated_url, tmp_path, "export", "--help")
    assert helped.returncode == 0
    assert "backbone export --flow ID --output FILE" in helped.stdout
    assert "backbone export polls --session CODE --output FILE" in helped.stdout
    assert "polls" in helped.stdout and "--layout" in helped.stdout
