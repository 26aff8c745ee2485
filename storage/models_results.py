"""Results sent back to the people who took part (issue 11): one row per sending, one per
message owed. The messages follow the outbox's lifecycle (DeliveryStatus): claimed and
committed as `sending` before Telegram is called, never sent twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.model_base import Base, UTCDateTime, utcnow
from storage.statuses import DeliveryStatus, StatusType


class ResultSend(Base):
    """Staff sending the results of a closed campaign or session; a draft until confirmed."""

    __tablename__ = "result_sends"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("poll_sessions.id", ondelete="CASCADE"), index=True
    )
    # The staff-written intro (one text, sent as written to everyone), or None.
    message: Mapped[str | None] = mapped_column(Text)
    quiet_start: Mapped[str] = mapped_column(String(5), default="20:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    created_by: Mapped[str] = mapped_column(String(64))
    # The staff chat that saw the preview (the confirm button's owner), if from the chat.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None: a draft (previewed, not confirmed); nothing is owed until it is set.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ResultDelivery(Base):
    """One person's results message of one sending (the outbox lifecycle)."""

    __tablename__ = "result_deliveries"
    __table_args__ = (UniqueConstraint("send_id", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    send_id: Mapped[int] = mapped_column(
        ForeignKey("result_sends.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        StatusType(DeliveryStatus), default=DeliveryStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
