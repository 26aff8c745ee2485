"""SQLAlchemy 2 models: the database is the source of truth for every conversation.

People, runs, groups and staff live here; the live instruments (polls, campaigns) in
storage/models_live.py. Every model can be imported from this module."""

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
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.model_base import NAMING, Base, UTCDateTime, utcnow
from storage.models_console import ConsoleLogin, ConsoleSession  # noqa: F401 (registers)
from storage.models_live import (
    Campaign,
    Delivery,
    Poll,
    PollSession,
    SessionMember,
    Vote,
)
from storage.models_questions import QuestionRoom, QuestionUpvote, RoomQuestion  # noqa: F401
from storage.models_results import ResultDelivery, ResultSend  # noqa: F401 (registers)
from storage.models_transcripts import Transcript  # noqa: F401 (registers)
from storage.statuses import (
    RunStatus,
    Stage,
    StatusType,
)

__all__ = [
    "NAMING",
    "Answer",
    "AuditEntry",
    "Base",
    "Campaign",
    "Consent",
    "Delivery",
    "FlowVersion",
    "Group",
    "GroupMember",
    "Identity",
    "Invite",
    "Participant",
    "Poll",
    "PollSession",
    "ProcessedUpdate",
    "Run",
    "SessionMember",
    "StaffChat",
    "UTCDateTime",
    "Vote",
    "utcnow",
]


class Participant(Base):
    """A person, known to exports only by a random pseudonym."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    # new -> language -> consent -> ready: where onboarding stands.
    stage: Mapped[Stage] = mapped_column(StatusType(Stage), default=Stage.NEW)
    # A deep-link flow waiting for onboarding to finish.
    pending_flow: Mapped[str | None] = mapped_column(String(64))
    # participant | facilitator | admin (admins from BACKBONE_ADMIN_IDS are admins regardless).
    role: Mapped[str] = mapped_column(
        String(16), default="participant", server_default="participant"
    )
    # "16plus" or "under16", asked once during onboarding.
    age_band: Mapped[str | None] = mapped_column(String(16))
    # Sent /stop: no more campaign messages (undone by /start).
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Telegram said 403 (the person blocked the bot): no more messages of any kind.
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    identity: Mapped[Identity | None] = relationship(back_populates="participant")


class Identity(Base):
    """The link between a Telegram account and a pseudonym, kept apart so it can be deleted."""

    __tablename__ = "identities"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    participant: Mapped[Participant] = relationship(back_populates="identity", lazy="joined")


class Consent(Base):
    """Who agreed to which privacy notice, when, in which language, and any withdrawal."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    notice_version: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16))
    # "self", or "parent" (on file with a school; see confirmed_by and group_id).
    given_by: Mapped[str] = mapped_column(String(16), default="self")
    age_band: Mapped[str | None] = mapped_column(String(16))
    # For parental consent: the staff member who confirmed it is on file, and for which group.
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessedUpdate(Base):
    """Telegram update ids already handled: a redelivered update is recorded only once."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlowVersion(Base):
    """One version of a flow definition, stored whole so runs stay pinned to it."""

    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Run(Base):
    """One person going through one flow version; its state is the engine's RunState."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    flow_version_id: Mapped[int] = mapped_column(ForeignKey("flow_versions.id"), index=True)
    locale: Mapped[str] = mapped_column(String(16))
    # active | paused | complete | incomplete
    status: Mapped[RunStatus] = mapped_column(
        StatusType(RunStatus), default=RunStatus.ACTIVE, index=True
    )
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The bot's message carrying the current question (edited for multiple-choice toggles).
    prompt_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The campaign whose invitation started this run, if any.
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    # While set, more text messages for the current free-text step are appended to its answer.
    collect_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Joined: the pinned definition is needed whenever a run is touched.
    flow_version: Mapped[FlowVersion] = relationship(lazy="joined")


class Answer(Base):
    """The current answer of one run to one step, with the exact wording the person saw."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("run_id", "step_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    shown_text: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(16))
    # How often the person changed this answer (via /back).
    revision: Mapped[int] = mapped_column(Integer, default=1)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """A staff action (export, role change, ...) without personal data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Group(Base):
    """A named group of participants (a class, the steering circle, the partners, ...)."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupMember(Base):
    """Membership of a participant in a group."""

    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The invite link used to join (it may carry parental consent on file).
    invite_token: Mapped[str | None] = mapped_column(
        ForeignKey("invites.token", ondelete="SET NULL")
    )


class Invite(Base):
    """A deep-link token: joins a group, or grants a role once. Carries no authority itself:
    the row says what it may do, who made it, until when, and whether it was used."""

    __tablename__ = "invites"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "group" | "role"
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(String(16))
    # The school collected parents' consent on paper for this group's under-16s.
    parental_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    single_use: Mapped[bool] = mapped_column(Boolean, default=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffChat(Base):
    """A Telegram group a staff member added the bot to; the bot leaves any other group."""

    __tablename__ = "staff_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
