"""Transcription benchmark: seconds of audio transcribed per second of CPU on this machine.

    python -m bench.transcribe [--threads 1,2] [--repeat 2] [--keep]

espeak-ng speaks German and English sentences of different lengths (2 s to about 30 s),
opusenc makes Telegram-like OGG/Opus voice notes of them; `backbone transcribe-model` puts the
packaged Whisper base model together (the transcribe extra), and bot.transcribe.WhisperEngine
transcribes every note as the bot's worker does (int8 on the CPU, greedy decoding, language
detected). For each thread count it prints the audio seconds per CPU second (the process's
user + system time: all threads together) and per wall-clock second, and the slowest note's
real-time factor. Loading the model is timed on its own line. Each figure is the best of
--repeat rounds (the one the rest of the machine disturbed least).
Exit status 0 unless the run itself broke (a tool missing, a note not transcribed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import BenchError, run_in_workdir

SENTENCES = {
    "de": [
        "Ich mache eine Ausbildung.",
        "Nach der Schule möchte ich eine Ausbildung machen und später studieren.",
        "Im Praktikum habe ich viel gelernt. Die Kolleginnen waren nett, aber die Arbeit "
        "war manchmal langweilig. Ich möchte lieber etwas mit Menschen machen, vielleicht "
        "in der Pflege oder in einer Kita. Meine Eltern finden das gut.",
    ],
    "en": [
        "I want to be a nurse.",
        "I like working in the garden and reading a book in the evening.",
        "My internship was interesting. I learned a lot about computers and how a small "
        "company works. Next year I want to apply for an apprenticeship as an IT specialist, "
        "and my teacher will help me write the applications.",
    ],
}
SPEED = {"de": 110, "en": 130}


def _notes(folder: Path) -> list[tuple[Path, float]]:
    """The spoken test notes with their length in seconds."""
    for tool in ("espeak-ng", "opusenc", "soxi"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is not installed (apt-get install espeak-ng opus-tools sox)")
    notes = []
    for lang, texts in SENTENCES.items():
        for i, text in enumerate(texts):
            wav, ogg = folder / f"{lang}{i}.wav", folder / f"{lang}{i}.ogg"
            voice = ["espeak-ng", "-v", lang, "-s", str(SPEED[lang]), "-w", str(wav), text]
            subprocess.run(voice, check=True)
            subprocess.run(["opusenc", "--quiet", str(wav), str(ogg)], check=True)
            seconds = float(
                subprocess.run(
                    ["soxi", "-D", str(wav)], capture_output=True, text=True, check=True
                ).stdout
            )
            notes.append((ogg, seconds))
    return notes


def _cpu() -> float:
    return time.process_time()


def _round(engine, notes: list[tuple[Path, float]]) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, worst real-time factor) for transcribing every note."""
    cpu0, wall0, worst = _cpu(), time.perf_counter(), 0.0
    for path, seconds in notes:
        start = time.perf_counter()
        heard = engine.transcribe(path)
        if not heard.text:
            raise BenchError(f"nothing heard in {path.name}")
        worst = max(worst, (time.perf_counter() - start) / seconds)
    return _cpu() - cpu0, time.perf_counter() - wall0, worst


def bench(workdir: Path, args: argparse.Namespace) -> str:
    """Make the notes and the model, then time the rounds; the figures as text."""
    try:
        from bot.transcribe import TranscribeUnavailable, WhisperEngine, assemble_model
    except ImportError as exc:
        raise BenchError(f"{exc} (pip install -e '.[transcribe]')") from None
    notes = _notes(workdir)
    audio = sum(s for _, s in notes)
    try:
        model = assemble_model(workdir / "model")
    except TranscribeUnavailable as exc:
        raise BenchError(str(exc)) from None
    lines = [f"{len(notes)} voice notes (German, English), {audio:.1f} s of audio in all"]
    for threads in args.threads:
        start = time.perf_counter()
        engine = WhisperEngine(model, threads)
        lines.append(f"threads={threads}: model loaded in {time.perf_counter() - start:.2f} s")
        cpu, wall, worst = min(_round(engine, notes) for _ in range(args.repeat))
        lines.append(
            f"threads={threads}: {audio / cpu:.2f} s of audio per CPU second, "
            f"{audio / wall:.2f} per wall second (CPU {cpu:.1f} s, wall {wall:.1f} s; "
            f"slowest note {worst:.2f}x real time)"
        )
    return "\n".join(lines)


def main() -> int:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="CPU thread counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per thread count")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    return run_in_workdir("bench-transcribe-", args, lambda workdir: bench(workdir, args))


if __name__ == "__main__":
    sys.exit(main())
