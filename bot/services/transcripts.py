"""Transcribing voice answers in the background, never in a chat's handling path.

`backbone run` starts `TranscriptWorker.run` when a model is configured. It takes the
voice answers that have a downloaded file and no transcript (storage.transcripts.pending:
the rows are the queue, so a restart loses nothing), runs the CPU-bound model in one worker
thread, one note after the other, and stores text, detected language and confidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Protocol

from storage import transcripts as queries
from storage.repo import Database
from storage.transcripts import Heard, Pending

log = logging.getLogger(__name__)

BATCH = 20


class Engine(Protocol):
    """A speech-to-text model (bot.transcribe.WhisperEngine)."""

    name: str

    def transcribe(self, audio: Path, locale: str | None = None) -> Heard:
        """What is said in `audio`."""


class TranscriptWorker:
    """Works through the voice answers waiting for a transcript."""

    def __init__(
        self, db: Database, media_dir: Path, engine: Engine, interval: float = 10.0
    ) -> None:
        self.db = db
        self.media_dir = media_dir
        self.engine = engine
        self.interval = interval

    async def run_once(self) -> int:
        """Transcribe what is waiting now; the number of transcripts stored."""
        done = 0
        while True:
            async with self.db.transaction() as repo:
                batch = await queries.pending(repo.session, BATCH)
            if not batch:
                return done
            for item in batch:
                done += await self._one(item)

    async def _one(self, item: Pending) -> int:
        root = self.media_dir.resolve()
        audio = (root / item.path).resolve()
        heard, error = None, None
        # Only files inside the media directory: a path that climbs out counts as missing.
        if not audio.is_relative_to(root) or not audio.is_file():
            error = "the voice note's file is missing"
        else:
            try:
                heard = await asyncio.to_thread(self.engine.transcribe, audio, item.locale)
            except Exception as exc:  # an unreadable file is noted once, not retried forever
                log.warning("could not transcribe answer %s: %s", item.answer_id, exc)
                error = f"{type(exc).__name__}: {exc}"
        async with self.db.transaction() as repo:
            kept = await queries.store(repo.session, item, heard, self.engine.name, error)
        return int(kept and heard is not None)

    async def run(self, stop: asyncio.Event) -> None:
        """Transcribe until `stop` is set, looking for new voice notes every `interval`."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # the database may be briefly away: try again next round
                log.exception("transcription round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)


async def _serve(
    model_dir: Path | None, threads: int, db: Database, media_dir: Path, stop: asyncio.Event
) -> None:
    # Imported here: the model wrapper pulls in faster-whisper only when it is configured.
    from bot.transcribe import load_engine

    engine = await asyncio.to_thread(load_engine, model_dir, threads)
    if engine is None:
        return
    log.info("voice notes are transcribed with %s", engine.name)
    await TranscriptWorker(db, media_dir, engine).run(stop)


def start_worker(
    model_dir: Path | None, threads: int, db: Database, media_dir: Path, stop: asyncio.Event
) -> asyncio.Task:
    """The background task of `backbone run` that transcribes voice answers (it ends at once,
    after one line in the log, when no model is configured or it cannot be loaded)."""
    return asyncio.create_task(_serve(model_dir, threads, db, media_dir, stop))
