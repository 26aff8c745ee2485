"""Transcripts against a real database: the queue, storing, revisions, /mydata, /delete.

A scripted engine stands in for the model here (the real one: tests/unit/test_transcribe.py
and tests/e2e/test_transcripts.py), so these tests check the bookkeeping exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services.privacy import erase_participant, personal_data
from bot.services.transcripts import TranscriptWorker
from storage import transcripts
from storage.models import Answer, Transcript
from storage.repo import Database
from storage.transcripts import Heard

pytestmark = pytest.mark.storage


class Scripted:
    """An engine that 'hears' the file's bytes as text; a file saying BROKEN fails."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls: list[tuple[Path, str | None]] = []

    def transcribe(self, audio: Path, locale: str | None = None) -> Heard:
        self.calls.append((audio, locale))
        said = audio.read_text()
        if said == "BROKEN":
            raise RuntimeError("Invalid data found when processing input")
        return Heard(said, "de", 0.97, 0.8, 2.5)


async def _person(db: Database, tg: int):
    async with db.transaction() as repo:
        identity = await repo.add_participant(tg, tg, "Nele", None, "de")
        fv = await repo.flow_version("f", "1", "hash-f", {"id": "f"})
        run = await repo.add_run(identity.participant_id, fv.id, "de", {"current": None})
        return identity.participant_id, identity.participant.pseudonym, run.id


async def _voice(db: Database, run_id: int, step: str, path: str | None, media: Path, said=""):
    value = {"file_id": f"AwAC-{step}", "duration": 3, "path": path}
    async with db.transaction() as repo:
        await repo.save_answer(run_id, step, value, False, "Erzähl!", "de")
    if path is not None:
        (media / path).parent.mkdir(parents=True, exist_ok=True)
        (media / path).write_text(said)


async def _rows(db: Database) -> list[Transcript]:
    async with db.transaction() as repo:
        return list((await repo.session.scalars(select(Transcript))).all())


async def test_only_downloaded_voice_answers_are_queued_and_each_is_transcribed_once(
    db: Database, tmp_path: Path
):
    _, pseudonym, run_id = await _person(db, 7001)
    await _voice(db, run_id, "story", f"{pseudonym}/run{run_id}-story.ogg", tmp_path, "Hallo")
    await _voice(db, run_id, "later", None, tmp_path)  # not downloaded yet
    async with db.transaction() as repo:
        photo = {"file_id": "AgAC", "path": f"{pseudonym}/run{run_id}-pic.jpg"}
        await repo.save_answer(run_id, "pic", photo, False, "Foto!", "de")
        # Typed text that mentions a voice file is no voice answer.
        await repo.save_answer(run_id, "text", 'see x.ogg" here', False, "Text?", "de")
    engine = Scripted()
    worker = TranscriptWorker(db, tmp_path, engine)
    assert await worker.run_once() == 1
    assert [(p.name, loc) for p, loc in engine.calls] == [(f"run{run_id}-story.ogg", "de")]
    [row] = await _rows(db)
    assert (row.text, row.language, row.confidence, row.revision) == ("Hallo", "de", 0.8, 1)
    assert row.model == "scripted" and row.error is None
    assert await worker.run_once() == 0  # nothing left: the model is not run again
    assert len(engine.calls) == 1


async def test_a_voice_note_sent_again_is_transcribed_again(db: Database, tmp_path: Path):
    _, pseudonym, run_id = await _person(db, 7002)
    path = f"{pseudonym}/run{run_id}-story.ogg"
    await _voice(db, run_id, "story", path, tmp_path, "erste")
    worker = TranscriptWorker(db, tmp_path, Scripted())
    await worker.run_once()
    # /back and a new voice note: a new revision of the same answer, the old text is stale.
    async with db.transaction() as repo:
        value = {"file_id": "AwAC-new", "duration": 4, "path": path}
        await repo.save_answer(run_id, "story", value, False, "Erzähl!", "de")
    (tmp_path / path).write_text("zweite")
    async with db.transaction() as repo:
        assert await transcripts.of_runs(repo.session, [run_id]) == {}
        [waiting] = await transcripts.pending(repo.session)
    assert waiting.revision == 2
    assert await worker.run_once() == 1
    [row] = await _rows(db)
    assert (row.text, row.revision) == ("zweite", 2)


async def test_a_result_for_an_answer_changed_meanwhile_is_not_kept(db: Database, tmp_path):
    _, pseudonym, run_id = await _person(db, 7003)
    await _voice(db, run_id, "story", f"{pseudonym}/a.ogg", tmp_path, "alt")
    async with db.transaction() as repo:
        [item] = await transcripts.pending(repo.session)
        value = {"file_id": "AwAC-2", "path": f"{pseudonym}/b.ogg"}
        await repo.save_answer(run_id, "story", value, False, "Erzähl!", "de")
    async with db.transaction() as repo:
        heard = Heard("alt", "de", 0.9, 0.9, 1.0)
        assert await transcripts.store(repo.session, item, heard, "m") is False
    assert await _rows(db) == []


async def test_unreadable_or_missing_files_are_noted_once_and_not_retried(
    db: Database, tmp_path: Path
):
    _, pseudonym, run_id = await _person(db, 7004)
    await _voice(db, run_id, "broken", f"{pseudonym}/broken.ogg", tmp_path, "BROKEN")
    await _voice(db, run_id, "gone", f"{pseudonym}/gone.ogg", tmp_path, "x")
    (tmp_path / pseudonym / "gone.ogg").unlink()
    engine = Scripted()
    worker = TranscriptWorker(db, tmp_path, engine)
    assert await worker.run_once() == 0
    rows = sorted(await _rows(db), key=lambda r: r.answer_id)
    assert [r.text for r in rows] == [None, None]
    assert "Invalid data" in rows[0].error and "missing" in rows[1].error
    await worker.run_once()
    assert len(engine.calls) == 1  # neither is tried again
    async with db.transaction() as repo:
        assert await transcripts.of_runs(repo.session, [run_id]) == {}  # no text, no transcript


async def test_a_path_that_climbs_out_of_the_media_directory_is_not_read(db: Database, tmp_path):
    _, pseudonym, run_id = await _person(db, 7008)
    media = tmp_path / "media"
    media.mkdir()
    (tmp_path / "secret.ogg").write_text("geheim")  # outside the media directory
    async with db.transaction() as repo:
        value = {"file_id": "AwAC-x", "path": "../secret.ogg"}
        await repo.save_answer(run_id, "story", value, False, "Erzähl!", "de")
    engine = Scripted()
    assert await TranscriptWorker(db, media, engine).run_once() == 0
    assert engine.calls == []
    [row] = await _rows(db)
    assert row.text is None and "missing" in row.error


async def test_mydata_shows_the_transcript_and_delete_erases_it(db: Database, tmp_path: Path):
    person, pseudonym, run_id = await _person(db, 7005)
    await _voice(db, run_id, "story", f"{pseudonym}/s.ogg", tmp_path, "Ich mag Holz")
    async with db.transaction() as repo:
        await repo.save_answer(run_id, "mood", "gut", False, "Wie geht's?", "de")
    await TranscriptWorker(db, tmp_path, Scripted()).run_once()
    async with db.transaction() as repo:
        data = await personal_data(repo, person)
    by_step = {a["step_id"]: a for run in data["runs"] for a in run["answers"]}
    heard = by_step["story"]["transcript"]
    assert heard["text"] == "Ich mag Holz" and heard["language"] == "de"
    assert heard["confidence"] == 0.8 and heard["transcribed_at"].endswith("Z")
    assert "transcript" not in by_step["mood"]
    async with db.transaction() as repo:
        await erase_participant(repo, person, tmp_path, "erase")
    assert await _rows(db) == []
    assert not (tmp_path / pseudonym / "s.ogg").exists()


async def test_unlink_keeps_the_transcript_with_the_pseudonymous_answer(db: Database, tmp_path):
    person, pseudonym, run_id = await _person(db, 7006)
    await _voice(db, run_id, "story", f"{pseudonym}/s.ogg", tmp_path, "Ich mag Holz")
    await TranscriptWorker(db, tmp_path, Scripted()).run_once()
    async with db.transaction() as repo:
        await erase_participant(repo, person, tmp_path, "unlink")
    [row] = await _rows(db)
    assert row.text == "Ich mag Holz"
    async with db.transaction() as repo:
        answers = await repo.session.scalar(select(func.count()).select_from(Answer))
    assert answers == 1


async def test_deleting_an_answer_deletes_its_transcript(db: Database, tmp_path: Path):
    _, pseudonym, run_id = await _person(db, 7007)
    await _voice(db, run_id, "story", f"{pseudonym}/s.ogg", tmp_path, "weg damit")
    await TranscriptWorker(db, tmp_path, Scripted()).run_once()
    async with db.transaction() as repo:
        await repo.delete_answer(run_id, "story")  # the question left the run's path
    assert await _rows(db) == []


async def test_the_qdpx_audio_source_carries_its_transcript(db: Database, tmp_path: Path):
    from tests.storage import exportdata as data
    from tests.storage.test_export_qdpx import NS, Qdpx, export, q, seed_with_media

    media = tmp_path / "media"
    seeded = await seed_with_media(db, media)  # run A's voice note has a transcript
    await export(db, data.FLOW_ID, tmp_path / "out.qdpx", media)
    cases = Qdpx(tmp_path / "out.qdpx").cases()  # validated against the REFI-QDA schema
    p1, p2 = seeded.pseudonyms["p1"], seeded.pseudonyms["p2"]
    [audio1] = [s for s in cases[p1]["sources"] if s.tag == q("AudioSource")]
    [transcript] = audio1.findall("q:Transcript", NS)
    assert transcript.find("q:PlainTextContent", NS).text == data.TRANSCRIPT_TEXT
    assert transcript.get("guid") and "transcript" in transcript.get("name")
    [audio2] = [s for s in cases[p2]["sources"] if s.tag == q("AudioSource")]
    assert audio2.findall("q:Transcript", NS) == []  # run D's note was not transcribed
