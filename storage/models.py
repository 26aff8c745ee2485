"""SQLAlchemy 2 models: the database is the source of truth for every conversation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from storage.statuses import (
    CampaignStatus,
    DeliveryStatus,
    PollStatus,
    SessionStatus,
    StatusType,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC and always hands back aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING)


class Participant(Base):
    """A person, known to exports only by a random pseudonym."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    # new -> language -> consent -> ready: where onboarding stands.
    stage: Mapped[str] = mapped_column(String(16), default="new")
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
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
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
