"""After /delete nothing of the person can be read from the database, not even as bytes;
exports defuse answers that a spreadsheet would run as formulas. Through the real bot."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from storage.models import Poll, PollSession
from tests.e2e.conftest import BotProcess, backbone_command
from tests.e2e.helpers import _query, act, answer_map, onboard

pytestmark = pytest.mark.e2e

ADMIN = 9000  # in BACKBONE_ADMIN_IDS (see conftest)
# Distinctive values, so a byte or row scan cannot hit them by accident.
USER_ID = 8642097531
FIRST_NAME = "Quirinella"
LAST_NAME = "Vonderhexe"
USERNAME = "quirin_zx42"
ANSWERS = ("Zauberwald-Tischler", "Glasblaeserei-Mondschein", "Kraehenfeder-Kompass")
IDENTIFIERS = (str(USER_ID), FIRST_NAME, LAST_NAME, USERNAME)


def needles(values) -> dict[str, list[bytes]]:
    """Each value as it could sit in a file: UTF-8, JSON-escaped; an id also as the
    big-endian integer SQLite stores."""
    out: dict[str, list[bytes]] = {}
    for value in values:
        forms = {value.encode("utf-8"), json.dumps(value)[1:-1].encode("ascii")}
        if value.isdigit():
            number = int(value)
            forms |= {number.to_bytes(n, "big") for n in (6, 8) if number < 1 << (8 * n - 1)}
        out[value] = sorted(forms)
    return out


def sqlite_files(url: str) -> list[Path]:
    """The SQLite database file and its -wal / -shm companions (those that exist)."""
    path = Path(make_url(url).database)
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def bytes_found(url: str, values) -> set[str]:
    """Which values occur anywhere in the bytes of the SQLite files."""
    blobs = [p.read_bytes() for p in sqlite_files(url)]
    return {v for v, forms in needles(values).items() if any(f in b for f in forms for b in blobs)}


def rows_found(url: str, values) -> dict[str, list[str]]:
    """value -> the tables in which some row, cast to text, contains it."""

    async def fn(session):
        conn = await session.connection()
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        postgres = conn.dialect.name == "postgresql"
        dumps: dict[str, str] = {}
        for table in tables:
            if postgres:
                stmt = text(f'SELECT CAST(t AS text) FROM "{table}" AS t')
            else:
                stmt = text(f'SELECT * FROM "{table}"')
            rows = (await conn.execute(stmt)).all()
            dumps[table] = "\n".join(" | ".join(map(str, row)) for row in rows)
        return dumps

    dumps = _query(url, fn)
    found: dict[str, list[str]] = {}
    for value in values:
        forms = [value, json.dumps(value)[1:-1]]
        hits = [table for table, dump in dumps.items() if any(f in dump for f in forms)]
        if hits:
            found[value] = hits
    return found


def sessions_and_polls(url: str) -> tuple[list[PollSession], list[Poll]]:
    async def fn(session):
        sessions = (await session.scalars(select(PollSession))).all()
        polls = (await session.scalars(select(Poll))).all()
        return list(sessions), list(polls)

    return _query(url, fn)


def start_bot(fake_api, bot_env, tmp_path, mode: str) -> BotProcess:
    process = BotProcess(fake_api, {**bot_env, "BACKBONE_DELETE_MODE": mode}, tmp_path)
    process.start()
    return process


def interview_then_delete(fake_api) -> None:
    """A person with a username answers with distinctive texts, then /delete + confirm."""
    quirin = fake_api.user(USER_ID, FIRST_NAME, "de", username=USERNAME, last_name=LAST_NAME)
    onboard(quirin, expect="Wie würdest du dich")
    assert any(f"Hallo {FIRST_NAME}!" in m.content for m in quirin.messages())
    act(quirin, lambda: quirin.send(ANSWERS[0]), "Wie gut weißt du")
    act(quirin, lambda: quirin.press("4"), "Was hast du nach der Schule vor?")
    act(quirin, lambda: quirin.press("Ausbildung"), "Welche Ausbildung")
    act(quirin, lambda: quirin.send(ANSWERS[1]), "Nebenjob")
    act(quirin, lambda: quirin.send("/mydata"), lambda m: m.kind == "document")
    act(quirin, lambda: quirin.send("/delete"), "🗑")
    act(quirin, lambda: quirin.press("🗑"), "gelöscht")


@pytest.mark.parametrize("mode", ["erase", "unlink"])
def test_delete_leaves_no_trace_in_the_database_files(
    fake_api, bot_env, migrated_url, tmp_path, mode
):
    # Someone else's answer stays: the scan must not be fooled by an empty database.
    other = fake_api.user(8642097000, "Bertholda", "de")
    bot = start_bot(fake_api, bot_env, tmp_path, mode)
    try:
        onboard(other, expect="Wie würdest du dich")
        act(other, lambda: other.send(ANSWERS[2]), "Wie gut weißt du")
        interview_then_delete(fake_api)
        # The bot keeps running and writing (the other person goes on) after the erasure.
        act(other, lambda: other.press("3"), "Was hast du nach der Schule vor?")

        assert rows_found(migrated_url, IDENTIFIERS) == {}
        kept = rows_found(migrated_url, ANSWERS[:2])
        if mode == "erase":
            assert kept == {}
        else:  # unlink keeps the answers under the pseudonym, by design
            assert set(kept) == set(ANSWERS[:2])
        assert ANSWERS[2] in rows_found(migrated_url, ANSWERS[2:])
        if make_url(migrated_url).get_backend_name() == "sqlite":
            files = sqlite_files(migrated_url)
            assert files[0].stat().st_size > 0
            assert bytes_found(migrated_url, IDENTIFIERS) == set()
            if mode == "erase":
                assert bytes_found(migrated_url, ANSWERS[:2]) == set()
            assert bytes_found(migrated_url, ANSWERS[2:]) == {ANSWERS[2]}
    finally:
        bot.stop()
    assert "Traceback" not in bot.log()


def link_payload(message) -> str:
    match = re.search(r"\?start=(\S+)", message.content)
    assert match, message.content
    return match.group(1)


@pytest.mark.parametrize("mode", ["erase", "unlink"])
def test_a_facilitators_delete_removes_their_chat_from_sessions_and_polls(
    fake_api, bot_env, migrated_url, tmp_path, mode
):
    bot = start_bot(fake_api, bot_env, tmp_path, mode)
    try:
        admin = fake_api.user(ADMIN, "Ada", "de")
        onboard(admin, payload="", expect="Was möchtest du")
        grant = act(admin, lambda: admin.send("/grant facilitator"), "?start=")
        fac = fake_api.user(USER_ID, FIRST_NAME, "de", username=USERNAME)
        act(fac, lambda: fac.send(f"/start {link_payload(grant)}"), "/privacy")
        act(fac, lambda: fac.press("✅"), "Was möchtest du")
        session = act(fac, lambda: fac.send("/session Runder Tisch"), "?start=")
        code = re.search(r"start=S([A-Z0-9]+)", session.content).group(1)
        fac.wait_for(lambda m: m.kind == "photo")

        anna = fake_api.user(8642097001, "Anna", "de")
        act(anna, lambda: anna.send(f"/start S{code}"), "/privacy")
        act(anna, lambda: anna.press("✅"), "Runder Tisch")
        act(fac, lambda: fac.send("/poll Was zuerst? | Praktika | Bewerbungen"), "Was zuerst?")
        anna.wait_for("Was zuerst?")
        qid = anna.press("Praktika")
        anna.wait_callback_answer(qid)
        fac.wait_for("1 abgestimmt", timeout=10)
        [before], [poll] = sessions_and_polls(migrated_url)
        assert before.facilitator_chat_id == USER_ID and poll.results_chat_id == USER_ID

        act(fac, lambda: fac.send("/delete"), "🗑")
        act(fac, lambda: fac.press("🗑"), "gelöscht")

        [after], [poll] = sessions_and_polls(migrated_url)
        assert after.facilitator_chat_id is None and after.status == "closed"
        assert poll.results_chat_id is None and poll.results_message_id is None
        assert poll.status == "closed" and poll.salt is None
        assert rows_found(migrated_url, IDENTIFIERS) == {}
        # The room's vote is kept; the poll no longer takes votes.
        qid = anna.press("Bewerbungen")
        assert "beendet" in anna.wait_callback_answer(qid)["text"].lower()
        if make_url(migrated_url).get_backend_name() == "sqlite":
            assert bytes_found(migrated_url, IDENTIFIERS) == set()
    finally:
        bot.stop()
    assert "Traceback" not in bot.log()


FORMULAS = ('=HYPERLINK("http://example.invalid/x","click")', "+1+1", "@SUM(A1)")


def backbone(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*backbone_command(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_answers_that_look_like_formulas_are_defused_in_csv_exports(
    bot, fake_api, migrated_url, tmp_path
):
    lia = fake_api.user(8642097002, "Lia", "de")
    onboard(lia, expect="Wie würdest du dich")
    act(lia, lambda: lia.send(FORMULAS[0]), "Wie gut weißt du")
    act(lia, lambda: lia.press("2"), "Was hast du nach der Schule vor?")
    act(lia, lambda: lia.press("Ausbildung"), "Welche Ausbildung")
    act(lia, lambda: lia.send(FORMULAS[1]), "Nebenjob")
    assert answer_map(migrated_url)["self_image"] == FORMULAS[0]  # stored as typed

    out = tmp_path / "r.csv"
    done = backbone(bot.env, tmp_path, "export", "--flow", "reporter-interview", "-o", str(out))
    assert done.returncode == 0, done.stderr
    [row] = read_csv(out)
    assert row["self_image"] == "'" + FORMULAS[0] and row["plan_detail"] == "'" + FORMULAS[1]
    assert row["confidence"] == "2" and row["plan"] == "training"
    note = read_csv(tmp_path / "r.codebook.csv")[0]
    assert note["variable"] == "_csv_text_cells" and "--raw-csv" in note["description"]

    raw = tmp_path / "raw.csv"
    args = ("export", "--flow", "reporter-interview", "-o", str(raw), "--raw-csv")
    assert backbone(bot.env, tmp_path, *args).returncode == 0
    [row] = read_csv(raw)
    assert row["self_image"] == FORMULAS[0] and row["plan_detail"] == FORMULAS[1]

    xlsx = tmp_path / "raw.xlsx"
    refused = backbone(
        bot.env, tmp_path, *args[:3], "-o", str(xlsx), "--format", "xlsx", "--raw-csv"
    )
    assert refused.returncode == 2 and "--raw-csv" in refused.stderr
    assert not xlsx.exists()
