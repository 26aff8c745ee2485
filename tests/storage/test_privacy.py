"""Privacy use cases against a real database: /mydata, /delete (erase, unlink), anonymise, audit."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.engine import make_url

from bot.services.privacy import (
    anonymise,
    audit_entries,
    erase_participant,
    personal_data,
    personal_data_json,
)
from storage.migrate import upgrade
from storage.models import (
    Answer,
    AuditEntry,
    Campaign,
    Consent,
    Group,
    GroupMember,
    Identity,
    Participant,
    Poll,
    PollSession,
    Run,
    SessionMember,
    Vote,
)
from storage.repo import Database
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.storage

T0 = datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)
ISO_Z = "%Y-%m-%dT%H:%M:%SZ"


@dataclass
class Person:
    id: int
    pseudonym: str
    telegram_user_id: int
    first_name: str
    username: str
    runs: list[int]


@dataclass
class World:
    alex: Person  # a finished interview, an open poll, media, two consents, a group
    bea: Person  # one finished interview with a voice note
    media_dir: Path
    outside: Path  # a file next to media_dir that nothing may delete


async def _person(db: Database, tg: int, first_name: str, username: str) -> Person:
    async with db.transaction() as repo:
        identity = await repo.add_participant(tg, tg + 1, first_name, username, "de-DE")
        participant = identity.participant
        participant.locale = "de"
        participant.age_band = "under16"
        participant.stage = "ready"
        return Person(identity.participant_id, participant.pseudonym, tg, first_name, username, [])


async def _run(
    db: Database, person: Person, flow_id: str, status: str, answers: dict[str, object]
) -> int:
    async with db.transaction() as repo:
        fv = await repo.flow_version(flow_id, "2026-1", f"hash-{flow_id}", {"id": flow_id})
        run = await repo.add_run(person.id, fv.id, "de", {"current": None})
        run.started_at = T0
        for n, (step_id, value) in enumerate(answers.items()):
            if callable(value):
                value = value(run.id)
            await repo.save_answer(
                run.id, step_id, value, value is None, f"Frage {step_id}?", "de", T0 + timedelta(n)
            )
        run.status = status
        if status not in ("active", "paused"):
            run.finished_at = T0 + timedelta(hours=1)
    person.runs.append(run.id)
    return run.id


async def _world(db: Database, tmp_path: Path) -> World:
    media_dir = tmp_path / "media"
    outside = tmp_path / "outside.txt"
    outside.write_text("not media", encoding="utf-8")
    alex = await _person(db, 9_000_000_001, "Zeynep", "zey_geheim")
    bea = await _person(db, 9_000_000_002, "Björn", "bjoern_geheim")
    await _run(
        db,
        alex,
        "interview",
        "complete",
        {
            "mood": "Gut, ich heiße übrigens Zeynep",
            "skip": None,
            "voice": lambda run_id: {
                "file_id": "AwAD-secret-alex",
                "path": f"{alex.pseudonym}/run{run_id}-voice.ogg",
            },
            # A path that climbs out of media_dir must never lead to a deletion.
            "evil": {"file_id": "x", "path": "../outside.txt"},
        },
    )
    await _run(db, alex, "poll", "active", {"q1": "b"})
    await _run(
        db,
        bea,
        "interview",
        "complete",
        {
            "mood": "Müde",
            "voice": lambda run_id: {
                "file_id": "AwAD-secret-bea",
                "path": f"{bea.pseudonym}/run{run_id}-voice.ogg",
            },
        },
    )
    async with db.transaction() as repo:
        klasse = Group(name="Klasse 9b", created_by="admin")
        other = Group(name="Steuerkreis", created_by="admin")
        repo.session.add_all([klasse, other])
        await repo.session.flush()
        repo.session.add_all(
            [
                GroupMember(group_id=klasse.id, participant_id=alex.id, joined_at=T0),
                GroupMember(group_id=klasse.id, participant_id=bea.id, joined_at=T0),
                GroupMember(group_id=other.id, participant_id=alex.id, joined_at=T0),
            ]
        )
        parent = await repo.add_consent(
            alex.id,
            "2026-1",
            "de",
            "parent",
            age_band="under16",
            confirmed_by="staff-member-42",
            group_id=klasse.id,
        )
        parent.given_at = T0
        own = await repo.add_consent(alex.id, "2026-2", "de", age_band="under16")
        own.given_at = T0 + timedelta(days=1)
        await repo.add_consent(bea.id, "2026-1", "de", age_band="16plus")

    alex_dir = media_dir / alex.pseudonym
    alex_dir.mkdir(parents=True)
    (alex_dir / f"run{alex.runs[0]}-voice.ogg").write_bytes(b"voice")
    (alex_dir / "sub").mkdir()
    (alex_dir / "sub" / "stray.jpg").write_bytes(b"photo")  # on disk, in no answer
    os.symlink(outside, alex_dir / "link-out.txt")  # removed as a link, target kept
    bea_dir = media_dir / bea.pseudonym
    bea_dir.mkdir(parents=True)
    (bea_dir / f"run{bea.runs[0]}-voice.ogg").write_bytes(b"voice")
    return World(alex, bea, media_dir, outside)


async def _count(db: Database, model: type, *where: object) -> int:
    async with db.transaction() as repo:
        stmt = select(func.count()).select_from(model)
        return int(await repo.session.scalar(stmt.where(*where) if where else stmt))


async def _audit_log(db: Database) -> list[AuditEntry]:
    async with db.transaction() as repo:
        return list((await repo.session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all())


def _assert_no_personal_data(entries: list[AuditEntry], *people: Person) -> None:
    # Details are also compared whole in each test, so ids cannot hide behind a count key.
    text = json.dumps([[e.actor, e.action, e.details] for e in entries], ensure_ascii=False)
    for person in people:
        for secret in (
            person.pseudonym,
            str(person.telegram_user_id),
            str(person.telegram_user_id + 1),  # chat id
            person.first_name,
            person.username,
        ):
            assert secret not in text


# --------------------------------------------------------------------------- /mydata


async def test_personal_data_has_everything_about_one_person(db: Database, tmp_path: Path):
    world = await _world(db, tmp_path)
    alex = world.alex
    async with db.transaction() as repo:
        data = await personal_data(repo, alex.id)

    assert data["pseudonym"] == alex.pseudonym
    assert (data["language"], data["role"], data["age_band"], data["opted_out"]) == (
        "de",
        "participant",
        "under16",
        False,
    )
    datetime.strptime(data["created_at"], ISO_Z)
    datetime.strptime(data["exported_at"], ISO_Z)
    telegram = data["telegram"]
    assert telegram["user_id"] == alex.telegram_user_id
    assert telegram["chat_id"] == alex.telegram_user_id + 1
    assert (telegram["first_name"], telegram["username"], telegram["language_code"]) == (
        "Zeynep",
        "zey_geheim",
        "de-DE",
    )

    parent, own = data["consents"]
    assert parent == {
        "notice_version": "2026-1",
        "language": "de",
        "given_by": "parent",
        "age_band": "under16",
        "confirmed_by": "school/staff",  # not who exactly
        "group": "Klasse 9b",
        "given_at": "2026-11-24T15:04:05Z",
        "withdrawn_at": None,
    }
    assert (own["given_by"], own["confirmed_by"], own["group"]) == ("self", None, None)
    assert own["given_at"] == "2026-11-25T15:04:05Z"
    assert sorted(g["name"] for g in data["groups"]) == ["Klasse 9b", "Steuerkreis"]
    assert all(g["joined_at"] == "2026-11-24T15:04:05Z" for g in data["groups"])

    interview, poll = data["runs"]
    assert {k: v for k, v in interview.items() if k != "answers"} == {
        "run_id": alex.runs[0],
        "flow_id": "interview",
        "flow_version": "2026-1",
        "status": "complete",
        "language": "de",
        "started_at": "2026-11-24T15:04:05Z",
        "finished_at": "2026-11-24T16:04:05Z",
    }
    assert [a["step_id"] for a in interview["answers"]] == ["mood", "skip", "voice", "evil"]
    mood = interview["answers"][0]
    assert mood == {
        "step_id": "mood",
        "value": "Gut, ich heiße übrigens Zeynep",
        "skipped": False,
        "shown_text": "Frage mood?",
        "language": "de",
        "answered_at": "2026-11-24T15:04:05Z",
        "updated_at": "2026-11-24T15:04:05Z",
        "revision": 1,
    }
    assert interview["answers"][1]["skipped"] is True
    assert (poll["flow_id"], poll["status"], poll["finished_at"]) == ("poll", "active", None)
    assert data["media_files"] == [
        f"{alex.pseudonym}/run{alex.runs[0]}-voice.ogg",
        "../outside.txt",
    ]

    # Nothing of the other person.
    raw = personal_data_json(data)
    assert world.bea.pseudonym.encode() not in raw
    assert b"Bj" not in raw and b"Steuerkreis" in raw
    assert json.loads(raw.decode("utf-8")) == data
    assert "heiße übrigens".encode() in raw  # readable, not \u00df
    assert raw.startswith(b'{\n  "')


async def test_personal_data_after_the_link_was_deleted(db: Database, tmp_path: Path):
    world = await _world(db, tmp_path)
    assert (await anonymise(db, "interview"))["unlinked"] == 1  # bea
    async with db.transaction() as repo:
        data = await personal_data(repo, world.bea.id)
    assert data["telegram"] is None
    assert len(data["runs"]) == 1
    async with db.transaction() as repo:
        with pytest.raises(LookupError):
            await personal_data(repo, 999_999)


# --------------------------------------------------------------------------- /delete


async def test_erase_deletes_everything_of_one_person_only(db: Database, tmp_path: Path):
    world = await _world(db, tmp_path)
    alex, bea = world.alex, world.bea
    async with db.transaction() as repo:
        # As the conversation does: the person's objects are loaded in the same session.
        identity = await repo.identity_by_telegram(alex.telegram_user_id)
        assert identity is not None and identity.participant.pseudonym == alex.pseudonym
        await repo.open_run(alex.id)
        counts = await erase_participant(repo, alex.id, world.media_dir)

    # voice file + stray photo + symlink; the "../outside.txt" answer is ignored.
    assert counts == {"mode": "erase", "runs": 2, "answers": 5, "media_files": 3}
    assert not (world.media_dir / alex.pseudonym).exists()
    assert world.outside.read_text(encoding="utf-8") == "not media"
    assert (world.media_dir / bea.pseudonym / f"run{bea.runs[0]}-voice.ogg").exists()

    for model, column in (
        (Participant, Participant.id),
        (Identity, Identity.participant_id),
        (Consent, Consent.participant_id),
        (GroupMember, GroupMember.participant_id),
        (Run, Run.participant_id),
    ):
        assert await _count(db, model, column == alex.id) == 0, model
        assert await _count(db, model, column == bea.id) == 1, model
    assert await _count(db, Answer, Answer.run_id.in_(alex.runs)) == 0
    assert await _count(db, Answer, Answer.run_id.in_(bea.runs)) == 2
    assert await _count(db, Group) == 2  # groups themselves stay

    (entry,) = await _audit_log(db)
    assert (entry.actor, entry.action) == ("participant", "participant_deleted")
    assert entry.details == {"mode": "erase", "runs": 2, "answers": 5, "media_files": 3}
    _assert_no_personal_data([entry], alex, bea)

    # The other person can still use everything.
    async with db.transaction() as repo:
        data = await personal_data(repo, bea.id)
    assert data["telegram"]["user_id"] == bea.telegram_user_id


async def test_erase_of_an_unknown_or_erased_person_is_a_no_op(db: Database, tmp_path: Path):
    world = await _world(db, tmp_path)
    async with db.transaction() as repo:
        await erase_participant(repo, world.alex.id, world.media_dir)
    async with db.transaction() as repo:
        again = await erase_participant(repo, world.alex.id, world.media_dir)
    assert again == {"mode": "erase", "runs": 0, "answers": 0, "media_files": 0}
    assert len(await _audit_log(db)) == 1


async def test_erase_without_media_directory(db: Database, tmp_path: Path):
    world = await _world(db, tmp_path)
    async with db.transaction() as repo:
        counts = await erase_participant(repo, world.bea.id, tmp_path / "nowhere")
    assert counts == {"mode": "erase", "runs": 1, "answers": 2, "media_files": 0}
    assert await _count(db, Participant, Participant.id == world.bea.id) == 0


async def test_unlink_keeps_answers_and_removes_the_telegram_link(db: Database, tmp_path: Path):
    world = await _world(db, tmp_path)
    alex, bea = world.alex, world.bea
    async with db.transaction() as repo:
        await repo.identity_by_telegram(alex.telegram_user_id)
        counts = await erase_participant(repo, alex.id, world.media_dir, mode="unlink")
    assert counts == {"mode": "unlink", "runs": 2, "answers": 5, "media_files": 0}

    assert await _count(db, Identity, Identity.participant_id == alex.id) == 0
    assert await _count(db, GroupMember, GroupMember.participant_id == alex.id) == 0
    assert await _count(db, Answer, Answer.run_id.in_(alex.runs)) == 5
    assert (world.media_dir / alex.pseudonym / f"run{alex.runs[0]}-voice.ogg").exists()
    async with db.transaction() as repo:
        participant = await repo.participant(alex.id)
        assert participant.pseudonym == alex.pseudonym
        assert participant.opted_out is True
        consents = (
            await repo.session.scalars(select(Consent).where(Consent.participant_id == alex.id))
        ).all()
        assert len(consents) == 2 and all(c.withdrawn_at is not None for c in consents)
        # Nobody can continue the open poll any more: it is closed, not left dangling.
        assert await repo.open_run(alex.id) is None
        assert (await repo.run(alex.runs[1])).status == "incomplete"
        # The same Telegram account is a stranger now.
        assert await repo.identity_by_telegram(alex.telegram_user_id) is None
        # The other person is untouched.
        assert await repo.identity_by_telegram(bea.telegram_user_id) is not None
        assert await repo.has_consent(bea.id, "2026-1")
    assert await _count(db, GroupMember, GroupMember.participant_id == bea.id) == 1

    (entry,) = await _audit_log(db)
    assert entry.details == {"mode": "unlink", "runs": 2, "answers": 5, "media_files": 0}
    _assert_no_personal_data([entry], alex, bea)


async def test_erase_rejects_an_unknown_mode(db: Database, tmp_path: Path):
    world = await _world(db, tmp_path)
    async with db.transaction() as repo:
        with pytest.raises(ValueError):
            await erase_participant(repo, world.alex.id, world.media_dir, mode="shred")
    assert await _count(db, Participant) == 2


# --------------------------------------------------------------------------- anonymise


async def test_anonymise_respects_open_runs_and_is_idempotent(db: Database, tmp_path: Path):
    world = await _world(db, tmp_path)
    alex, bea = world.alex, world.bea
    loner = await _person(db, 9_000_000_003, "Carla", "carla_geheim")  # no runs at all

    # Alex's poll is still open: their link stays although their interview is finished.
    assert await anonymise(db, "interview") == {"flow": "interview", "unlinked": 1, "skipped": 1}
    assert await _count(db, Identity, Identity.participant_id == bea.id) == 0
    assert await _count(db, Identity, Identity.participant_id == alex.id) == 1
    assert await _count(db, Answer, Answer.run_id.in_(bea.runs)) == 2  # data stays
    assert await anonymise(db, "interview") == {"flow": "interview", "unlinked": 0, "skipped": 1}

    async with db.transaction() as repo:
        poll = await repo.run(alex.runs[1])
        poll.status, poll.finished_at = "complete", T0
    assert await anonymise(db, "poll") == {"flow": "poll", "unlinked": 1, "skipped": 0}
    assert await _count(db, Identity, Identity.participant_id == loner.id) == 1
    assert await anonymise(db, None) == {"flow": None, "unlinked": 1, "skipped": 0}
    assert await anonymise(db, None) == {"flow": None, "unlinked": 0, "skipped": 0}
    assert await _count(db, Identity) == 0
    assert await _count(db, Participant) == 3

    entries = await _audit_log(db)
    assert [(e.actor, e.action) for e in entries] == [("cli", "anonymise")] * 5
    assert entries[0].details == {"flow": "interview", "unlinked": 1, "skipped": 1}
    _assert_no_personal_data(entries, alex, bea, loner)


async def test_anonymise_unknown_flow(db: Database, tmp_path: Path):
    await _world(db, tmp_path)
    with pytest.raises(LookupError, match="nope"):
        await anonymise(db, "nope")
    assert await _count(db, Identity) == 2
    assert await _audit_log(db) == []


# --------------------------------------------------------------------------- audit log


async def test_audit_entries_in_time_order_and_since(db: Database):
    async with db.transaction() as repo:
        for n, at in enumerate([T0 + timedelta(hours=2), T0, T0 + timedelta(hours=1)]):
            repo.session.add(AuditEntry(at=at, actor="admin", action=f"a{n}", details={"n": n}))
    entries = await audit_entries(db, None)
    assert [e["action"] for e in entries] == ["a1", "a2", "a0"]
    assert entries[0] == {"at": T0, "actor": "admin", "action": "a1", "details": {"n": 1}}
    later = await audit_entries(db, T0 + timedelta(hours=1))
    assert [e["action"] for e in later] == ["a2", "a0"]
    with pytest.raises(ValueError):
        await audit_entries(db, datetime(2026, 11, 24))


# --------------------------------------------------------------------------- traces

LONE = "Herz \ud83d kaputt"  # half an emoji, as an older version could store it


async def test_personal_data_file_never_fails_on_a_lone_surrogate(db: Database, tmp_path: Path):
    world = await _world(db, tmp_path)
    await _run(db, world.alex, "interview", "complete", {"wish": LONE})
    async with db.transaction() as repo:
        data = await personal_data(repo, world.alex.id)
    parsed = json.loads(personal_data_json(data).decode("utf-8"))
    values = [a["value"] for run in parsed["runs"] for a in run["answers"]]
    assert "Herz \ufffd kaputt" in values


def _build_default_off(dbapi_conn, _record) -> None:
    # Like an SQLite built without SQLITE_SECURE_DELETE (Debian's has it on by default).
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA secure_delete=OFF")
    cursor.close()


async def _secure_delete_of_two_connections(db: Database) -> list[int]:
    def read(sync_conn) -> int:
        cursor = sync_conn.connection.cursor()
        cursor.execute("PRAGMA secure_delete")
        (value,) = cursor.fetchone()
        cursor.close()
        return value

    async with db.engine.connect() as first, db.engine.connect() as second:
        return [await first.run_sync(read), await second.run_sync(read)]


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite files; PostgreSQL: see test_trust_data")
@pytest.mark.parametrize("mode", ["erase", "unlink"])
async def test_erasure_leaves_no_bytes_in_the_sqlite_files(db: Database, tmp_path: Path, mode: str):
    # Before the first connection, so every connection of the pool starts with it off.
    event.listen(db.engine.sync_engine, "connect", _build_default_off, insert=True)
    world = await _world(db, tmp_path)
    quirin = await _person(db, 9_000_000_021, "Quirinella", "quirin_zx42")
    story = "Zauberwald-Tischlerin mit Mondschein-Werkstatt " * 8  # long: an overflow page
    await _run(db, quirin, "story", "complete", {"story": story})
    async with db.transaction() as repo:
        await erase_participant(repo, quirin.id, world.media_dir, mode)

    assert await _secure_delete_of_two_connections(db) == [1, 1]
    path = Path(make_url(db.url).database)
    assert Path(f"{path}-wal").stat().st_size == 0  # checkpointed and truncated
    blob = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")))
    for secret in (quirin.first_name, quirin.username):
        assert secret.encode("utf-8") not in blob
    assert (story.encode() in blob) is (mode == "unlink")  # unlink keeps answers by design
    assert world.bea.username.encode() in blob  # the scan sees what is still there


async def _poll_world(db: Database, tmp_path: Path) -> dict[str, int]:
    """Fenja facilitates an open and a closed session and started a campaign; Olaf has an
    open session of his own; Bea voted in Fenja's open poll."""
    await _world(db, tmp_path)
    fenja = await _person(db, 9_000_000_011, "Fenja", "fenja_fac")
    olaf = await _person(db, 9_000_000_012, "Olaf", "olaf_fac")
    await _run(db, fenja, "moderation", "complete", {"q": "ok"})  # for anonymise --flow
    ids: dict[str, int] = {"fenja": fenja.id, "fenja_chat": fenja.telegram_user_id + 1}
    async with db.transaction() as repo:
        s = repo.session
        for key, who, status in (
            ("open", fenja, "open"),
            ("closed", fenja, "closed"),
            ("olaf", olaf, "open"),
        ):
            row = PollSession(
                code=f"C{key.upper()}"[:12],
                title=key,
                facilitator_id=who.id,
                facilitator_chat_id=who.telegram_user_id + 1,
                status=status,
            )
            s.add(row)
            await s.flush()
            poll = Poll(
                session_id=row.id,
                spec={"id": "p", "type": "single_choice", "question": "?", "anonymous": True},
                status=status,
                salt="s3cr3t" if status == "open" else None,
                opened_by=who.pseudonym,
                results_chat_id=who.telegram_user_id + 1,
                results_message_id=77,
            )
            s.add(poll)
            await s.flush()
            ids[f"session_{key}"], ids[f"poll_{key}"] = row.id, poll.id
        s.add(Vote(poll_id=ids["poll_open"], voter_key="k-bea", value=["a"]))
        for key, who in (("fenja", fenja), ("olaf", olaf)):
            campaign = Campaign(
                flow_id="interview",
                groups=["Klasse 9b"],
                start_at=T0,
                deadline=T0 + timedelta(days=7),
                created_by=who.pseudonym,
                progress_chat_id=who.telegram_user_id + 1,
                progress_message_id=88,
            )
            s.add(campaign)
            await s.flush()
            ids[f"campaign_{key}"] = campaign.id
    return ids


@pytest.mark.parametrize("how", ["erase", "unlink", "anonymise"])
async def test_a_facilitators_chat_id_leaves_sessions_polls_and_campaigns(
    db: Database, tmp_path: Path, how: str
):
    ids = await _poll_world(db, tmp_path)
    if how == "anonymise":
        assert (await anonymise(db, "moderation"))["unlinked"] == 1
    else:
        async with db.transaction() as repo:
            await erase_participant(repo, ids["fenja"], tmp_path / "media", how)

    async with db.transaction() as repo:
        get = repo.session.get
        for key in ("open", "closed"):
            session = await get(PollSession, ids[f"session_{key}"])
            poll = await get(Poll, ids[f"poll_{key}"])
            assert session.facilitator_chat_id is None and session.status == "closed"
            assert (poll.results_chat_id, poll.results_message_id) == (None, None)
            assert poll.status == "closed" and poll.salt is None
        assert (await get(PollSession, ids["session_open"])).closed_at is not None
        assert (await get(Poll, ids["poll_open"])).closed_at is not None
        olaf_session = await get(PollSession, ids["session_olaf"])
        olaf_poll = await get(Poll, ids["poll_olaf"])
        assert olaf_session.status == "open" and olaf_session.facilitator_chat_id is not None
        assert olaf_poll.status == "open" and olaf_poll.salt == "s3cr3t"
        assert olaf_poll.results_chat_id == olaf_session.facilitator_chat_id
        fenja_campaign = await get(Campaign, ids["campaign_fenja"])
        assert (fenja_campaign.progress_chat_id, fenja_campaign.progress_message_id) == (None, None)
        assert (await get(Campaign, ids["campaign_olaf"])).progress_chat_id is not None
    assert await _count(db, Vote) == 1  # the room's vote is kept


def test_migration_0005_keeps_every_session_poll_and_vote(database_url: str) -> None:
    upgrade(database_url, "0004")
    statements = [
        "INSERT INTO participants (id, pseudonym, stage, role, opted_out, unreachable, "
        "created_at) VALUES (1, 'P-MIGRA1', 'ready', 'facilitator', false, false, :t)",
        "INSERT INTO poll_sessions (id, code, title, facilitator_id, facilitator_chat_id, "
        "status, agenda_position, created_at) VALUES (1, 'MIG1', 'x', 1, 4242, 'open', 0, :t)",
        "INSERT INTO session_members (session_id, participant_id, joined_at) VALUES (1, 1, :t)",
        "INSERT INTO polls (id, session_id, spec, anonymous, status, opened_by, opened_at) "
        "VALUES (1, 1, '{}', true, 'open', 'P-MIGRA1', :t)",
        "INSERT INTO votes (id, poll_id, voter_key, value, voted_at, updated_at) "
        "VALUES (1, 1, 'k', '[\"a\"]', :t, :t)",
    ]

    async def seed() -> None:
        database = Database(database_url)
        try:
            async with database.transaction() as repo:
                for sql in statements:
                    await repo.session.execute(text(sql), {"t": T0})
        finally:
            await database.dispose()

    async def after() -> tuple[int, ...]:
        database = Database(database_url)
        try:
            async with database.transaction() as repo:
                s = repo.session
                counts = [
                    await s.scalar(select(func.count()).select_from(model))
                    for model in (PollSession, SessionMember, Poll, Vote)
                ]
                await s.execute(update(PollSession).values(facilitator_chat_id=None))
                return tuple(counts)
        finally:
            await database.dispose()

    asyncio.run(seed())
    upgrade(database_url)
    assert asyncio.run(after()) == (1, 1, 1, 1)
