"""A spoken German voice note, through the real bot and the real model: transcribed in the
background, in the export and in /mydata, and gone after /delete."""

from __future__ import annotations

import csv
import json
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Transcript
from tests.e2e.conftest import backbone_command
from tests.e2e.helpers import _query, act, answer_map, onboard
from tests.e2e.test_trust_data import bytes_found
from tests.speech import model_dir, voice_note

pytestmark = pytest.mark.e2e

SAID = "Nach der Schule möchte ich eine Ausbildung machen und später studieren."
KEY_WORDS = {"schule", "möchte", "ausbildung", "machen", "später", "studieren"}


@pytest.fixture(scope="module")
def packaged_model(tmp_path_factory) -> Path:
    return model_dir(tmp_path_factory.mktemp("model"))


@pytest.fixture
def bot_env(bot_env: dict[str, str], packaged_model: Path) -> dict[str, str]:
    return {**bot_env, "BACKBONE_TRANSCRIBE_MODEL": str(packaged_model)}


def _transcripts(url: str) -> list[Transcript]:
    async def fn(session):
        return list((await session.scalars(select(Transcript))).all())

    return _query(url, fn)


def _wait_for_transcript(url: str, timeout: float = 120.0) -> Transcript:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rows := _transcripts(url):
            return rows[0]
        time.sleep(0.5)
    raise AssertionError("no transcript within the time limit")


def _words(text: str) -> set[str]:
    return {w.strip(".,!?;:").lower() for w in text.split()}


def test_a_spoken_german_voice_note_is_transcribed_exported_shown_and_deleted(
    bot, fake_api, migrated_url, tmp_path
):
    ogg = voice_note(SAID, "de", tmp_path).read_bytes()
    lea = fake_api.user(8642097301, "Lea", "de")
    onboard(lea, expect="Wie würdest du dich")
    act(lea, lambda: lea.send("Ich bin neugierig."), "Wie gut weißt du")
    act(lea, lambda: lea.press("4"), "Was hast du nach der Schule vor?")
    act(lea, lambda: lea.press("Ausbildung"), "Welche Ausbildung")
    act(lea, lambda: lea.send("Mechatronikerin"), "Nebenjob")
    act(lea, lambda: lea.press("Nein"), "Unterstützung")
    act(lea, lambda: lea.press("Bewerbungen"), "✅ Bewerbungen")
    act(lea, lambda: lea.press("Fertig"), "Termin")
    act(lea, lambda: lea.send("15.03.2027"), "verändert")
    act(lea, lambda: lea.send("Nicht viel."), "Sprachnachricht")
    act(lea, lambda: lea.send_voice(duration=5, data=ogg), "Foto")
    # The chat goes on while the model works: the next answer is taken at once.
    act(lea, lambda: lea.send_photo(data=b"\xff\xd8jpeg"), "Danke dir, Lea!")

    heard = _wait_for_transcript(migrated_url)
    assert heard.language == "de" and heard.error is None
    assert len(KEY_WORDS & _words(heard.text)) >= 4, heard.text
    assert 0 < heard.confidence <= 1
    assert "story" in answer_map(migrated_url)

    out = tmp_path / "wide.csv"
    done = subprocess.run(
        [*backbone_command(), "export", "--flow", "reporter-interview", "-o", str(out)],
        env=bot.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with out.open(encoding="utf-8-sig", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["story__transcript"] == heard.text

    act(lea, lambda: lea.send("/mydata"), lambda m: m.kind == "document")
    data = json.loads(lea.last().document_bytes.decode("utf-8"))
    by_step = {a["step_id"]: a for run in data["runs"] for a in run["answers"]}
    assert by_step["story"]["transcript"]["text"] == heard.text
    assert by_step["story"]["transcript"]["language"] == "de"

    act(lea, lambda: lea.send("/delete"), "🗑")
    act(lea, lambda: lea.press("🗑"), "gelöscht")
    assert _transcripts(migrated_url) == []
    if migrated_url.startswith("sqlite"):
        # Not even the bytes stay behind in the database file or its write-ahead log.
        assert bytes_found(migrated_url, [heard.text]) == set()
    assert "voice notes are transcribed with whisper" in bot.log()
