"""Models of the live instruments: poll sessions, polls and votes; campaigns and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.model_base import Base, UTCDateTime, utcnow
from storage.statuses import (
    CampaignStatus,
    DeliveryStatus,
    PollStatus,
    SessionStatus,
    StatusType,
)


class PollSession(Base):
    """A round-table session: a facilitator, a join code, the people who joined."""

    __tablename__ = "poll_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    facilitator_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    # Where the facilitator sees live results (their private chat); cleared by their /delete.
    facilitator_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[SessionStatus] = mapped_column(
        StatusType(SessionStatus), default=SessionStatus.OPEN, index=True
    )
    # A prepared agenda (flows.agenda.Agenda as JSON) and how far it got.
    agenda: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    agenda_position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The projector page's unguessable address (/p/<token>); it works while the session is open.
    projector_token: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)


class SessionMember(Base):
    """A participant who joined a session (by link, QR code or typed code)."""

    __tablename__ = "session_members"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("poll_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Poll(Base):
    """One question put to a session (or to a Telegram group as a native poll)."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("poll_sessions.id", ondelete="CASCADE"), index=True
    )
    # flows.agenda.PollSpec as JSON: type, question, options, anonymous, timer, ...
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[PollStatus] = mapped_column(
        StatusType(PollStatus), default=PollStatus.OPEN, index=True
    )
    # Random per-poll secret for anonymous polls: lets a person change their vote while the
    # poll is open; erased on close, after which no vote can be linked to anyone.
    salt: Mapped[str | None] = mapped_column(String(64))
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    results_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    results_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Group mode: the Telegram group and its native poll.
    group_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    native_poll_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    native_message_id: Mapped[int | None] = mapped_column(BigInteger)


class Vote(Base):
    """The current vote of one voter in one poll (changing a vote updates this row)."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("poll_id", "voter_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    # sha256 of the poll's salt and the voter; no participant link for anonymous polls.
    voter_key: Mapped[str] = mapped_column(String(64))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    # Option codes (list), a scale value or words, as the poll type needs.
    value: Mapped[Any] = mapped_column(JSON)
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Campaign(Base):
    """Invitations to a flow for one or more groups, with reminders, on a schedule."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(64), index=True)
    groups: Mapped[list[str]] = mapped_column(JSON)
    # draft (waiting for confirmation) | scheduled | running | paused | cancelled | finished
    status: Mapped[CampaignStatus] = mapped_column(
        StatusType(CampaignStatus), default=CampaignStatus.DRAFT, index=True
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # Seconds after the invitation at which non-finishers are reminded.
    remind_after: Mapped[list[int]] = mapped_column(JSON, default=list)
    max_reminders: Mapped[int] = mapped_column(Integer, default=3)
    quiet_start: Mapped[str] = mapped_column(String(5), default="20:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    # Optional texts per language: {"invitation": {"de": "..."}, "reminder": {...}}.
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Recurring campaigns: the next wave starts this many months after this one.
    every_months: Mapped[int | None] = mapped_column(Integer)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    # Months after a run of this campaign finished until the identity link and media go
    # (storage.retention); overrides the flow's retain_identity_months. None: the flow's.
    retain_identity_months: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where the progress message lives (the admin who started it).
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)


class Delivery(Base):
    """One message the bot owes someone (the outbox): due time, status, attempts, error.

    At most once: a row is marked `sending` before Telegram is called; a row found in that
    state after a crash becomes `uncertain` and is reported, never sent again.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("campaign_id", "participant_id", "kind", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # invitation | reminder
    seq: Mapped[int] = mapped_column(Integer, default=0)  # reminder number
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # pending | sending | sent | failed | uncertain | skipped
    status: Mapped[DeliveryStatus] = mapped_column(
        StatusType(DeliveryStatus), default=DeliveryStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
