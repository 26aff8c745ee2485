"""Transcripts of voice answers, made offline in the background (bot.services.transcripts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.model_base import Base, UTCDateTime, utcnow


class Transcript(Base):
    """What a speech-to-text model heard in one voice answer.

    It belongs to the answer's `revision`: a voice note sent again (after /back) makes a new
    revision, and the old transcript stops counting until the new one replaces it. A row
    with `error` and no text is a file the model could not read; it is not tried again.
    Deleting the answer deletes the transcript (ON DELETE CASCADE; SQLite runs with
    foreign_keys=ON).
    """

    __tablename__ = "transcripts"

    answer_id: Mapped[int] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    revision: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    language_probability: Mapped[float | None] = mapped_column(Float)
    # Mean over the segments of exp(average token log-probability): 0..1, higher is surer.
    confidence: Mapped[float | None] = mapped_column(Float)
    audio_seconds: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
