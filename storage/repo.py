"""Unit of work and the queries the use cases need; one transaction per incoming update."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from storage.db import checkpoint_wal, create_engine, session_factory
from storage.models import (
    Answer,
    AuditEntry,
    Consent,
    FlowVersion,
    Group,
    GroupMember,
    Identity,
    Invite,
    Participant,
    Poll,
    ProcessedUpdate,
    Run,
    StaffChat,
    utcnow,
)

# No 0/O, 1/I/L: pseudonyms get read aloud and typed by staff.
_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
OPEN_STATUSES = ("active", "paused")
# Session.info key: this transaction erased personal data (see Repo.wipe_after_commit).
WIPE_AFTER_COMMIT = "wipe_after_commit"

log = logging.getLogger(__name__)


def new_pseudonym() -> str:
    """A random pseudonym like P-7K3M9Q (31^6 ≈ 887 million possibilities)."""
    return "P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))


class Repo:
    """Queries and writes inside one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- updates -----------------------------------------------------------------------
    def insert_on_conflict(self, model: type) -> Any:
        """INSERT with ON CONFLICT support for the dialect in use (SQLite or PostgreSQL)."""
        if self.session.get_bind().dialect.name == "postgresql":
            return pg_insert(model)
        return sqlite_insert(model)

    async def claim_update(self, update_id: int) -> bool:
        """Mark a Telegram update as handled; False if it was handled before."""
        stmt = (
            self.insert_on_conflict(ProcessedUpdate)
            .values(update_id=update_id, processed_at=utcnow())
            .on_conflict_do_nothing(index_elements=["update_id"])
        )
        result = await self.session.execute(stmt)
        return result.rowcount == 1

    # --- participants ------------------------------------------------------------------
    async def identity_by_telegram(self, telegram_user_id: int) -> Identity | None:
        """The identity (with its participant) of a Telegram user, if known."""
        stmt = select(Identity).where(Identity.telegram_user_id == telegram_user_id)
        return (await self.session.scalars(stmt)).one_or_none()

    async def add_participant(
        self,
        telegram_user_id: int,
        chat_id: int,
        first_name: str,
        username: str | None,
        language_code: str | None,
    ) -> Identity:
        """A new participant with a fresh, unused pseudonym and its identity link."""
        while True:
            pseudonym = new_pseudonym()
            taken = await self.session.scalar(
                select(Participant.id).where(Participant.pseudonym == pseudonym)
            )
            if taken is None:
                break
        participant = Participant(pseudonym=pseudonym, stage="new")
        identity = Identity(
            participant=participant,
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            first_name=first_name or "",
            username=username,
            language_code=language_code,
        )
        self.session.add_all([participant, identity])
        await self.session.flush()
        return identity

    async def participant(self, participant_id: int) -> Participant | None:
        """A participant by id."""
        return await self.session.get(Participant, participant_id)

    async def add_consent(
        self,
        participant_id: int,
        notice_version: str,
        locale: str,
        given_by: str = "self",
        *,
        age_band: str | None = None,
        confirmed_by: str | None = None,
        group_id: int | None = None,
    ) -> Consent:
        """Record consent to a privacy notice version (by the person, or a parent on file)."""
        consent = Consent(
            participant_id=participant_id,
            notice_version=notice_version,
            locale=locale,
            given_by=given_by,
            age_band=age_band,
            confirmed_by=confirmed_by,
            group_id=group_id,
        )
        self.session.add(consent)
        await self.session.flush()
        return consent

    async def has_consent(self, participant_id: int, notice_version: str) -> bool:
        """Whether the participant consented to this notice version and did not withdraw."""
        stmt = select(Consent.id).where(
            Consent.participant_id == participant_id,
            Consent.notice_version == notice_version,
            Consent.withdrawn_at.is_(None),
        )
        return (await self.session.scalar(stmt.limit(1))) is not None

    # --- flow versions -----------------------------------------------------------------
    async def flow_version(
        self, flow_id: str, version: str, content_hash: str, definition: dict[str, Any]
    ) -> FlowVersion:
        """The stored version with this content hash, created on first use."""
        stmt = select(FlowVersion).where(
            FlowVersion.flow_id == flow_id, FlowVersion.content_hash == content_hash
        )
        found = (await self.session.scalars(stmt)).one_or_none()
        if found is not None:
            return found
        # Many people may start a new version at the same moment: insert-if-absent, then read.
        await self.session.execute(
            self.insert_on_conflict(FlowVersion)
            .values(
                flow_id=flow_id,
                version=version,
                content_hash=content_hash,
                definition=definition,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["flow_id", "content_hash"])
        )
        return (await self.session.scalars(stmt)).one()

    async def flow_version_by_id(self, flow_version_id: int) -> FlowVersion | None:
        """A stored flow version."""
        return await self.session.get(FlowVersion, flow_version_id)

    # --- runs and answers --------------------------------------------------------------
    async def open_run(self, participant_id: int) -> Run | None:
        """The participant's active or paused run, newest first."""
        stmt = (
            select(Run)
            .where(Run.participant_id == participant_id, Run.status.in_(OPEN_STATUSES))
            .order_by(Run.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def session_member_chats(self, session_id: int) -> list[tuple[int, bool]]:
        """Chat ids of a poll session's members, each with whether they have an open run."""
        from storage.models import SessionMember

        busy = (
            select(Run.id)
            .where(Run.participant_id == SessionMember.participant_id)
            .where(Run.status.in_(OPEN_STATUSES))
            .exists()
        )
        stmt = (
            select(Identity.chat_id, busy)
            .join(SessionMember, SessionMember.participant_id == Identity.participant_id)
            .where(SessionMember.session_id == session_id)
        )
        return [(chat_id, bool(open_run)) for chat_id, open_run in await self.session.execute(stmt)]

    async def run(self, run_id: int) -> Run | None:
        """A run by id."""
        return await self.session.get(Run, run_id)

    async def completed_run(self, participant_id: int, flow_version_id: int) -> Run | None:
        """A complete run of this exact flow version by this participant."""
        stmt = select(Run).where(
            Run.participant_id == participant_id,
            Run.flow_version_id == flow_version_id,
            Run.status == "complete",
        )
        return (await self.session.scalars(stmt.limit(1))).one_or_none()

    async def completed_run_in_campaign(self, participant_id: int, campaign_id: int) -> Run | None:
        """A complete run this participant started from this campaign."""
        stmt = select(Run).where(
            Run.participant_id == participant_id,
            Run.campaign_id == campaign_id,
            Run.status == "complete",
        )
        return (await self.session.scalars(stmt.limit(1))).one_or_none()

    async def add_run(
        self, participant_id: int, flow_version_id: int, locale: str, state: dict[str, Any]
    ) -> Run:
        """Start a run."""
        run = Run(
            participant_id=participant_id,
            flow_version_id=flow_version_id,
            locale=locale,
            status="active",
            state=state,
        )
        self.session.add(run)
        await self.session.flush()
        return run

    async def runs_collecting(self) -> list[Run]:
        """Runs waiting for more short messages to one free-text answer."""
        stmt = select(Run).where(Run.collect_until.is_not(None), Run.status == "active")
        return list((await self.session.scalars(stmt)).all())

    async def runs_due(self, now: datetime) -> list[tuple[int, int | None]]:
        """(run id, chat id) of active runs whose merge window ended by `now`, earliest first."""
        stmt = (
            select(Run.id, Identity.chat_id)
            .outerjoin(Identity, Identity.participant_id == Run.participant_id)
            .where(Run.collect_until.is_not(None), Run.collect_until <= now)
            .where(Run.status == "active")
            .order_by(Run.collect_until, Run.id)
        )
        return [(row.id, row.chat_id) for row in await self.session.execute(stmt)]

    async def lock_run(self, run_id: int) -> Run | None:
        """A run by id, locked until the transaction ends, so a timer handles it only once."""
        # FOR UPDATE waits for a concurrent writer and then reads the row as it committed it
        # (PostgreSQL); SQLite has no row locks, its BEGIN IMMEDIATE serialises instead.
        stmt = select(Run).where(Run.id == run_id).with_for_update(of=Run)
        return (await self.session.scalars(stmt)).one_or_none()

    async def polls_due(self, now: datetime) -> list[tuple[int, int | None, int | None]]:
        """(poll id, results chat, group chat) of open polls whose timer ran out by `now`."""
        stmt = (
            select(Poll.id, Poll.results_chat_id, Poll.group_chat_id)
            .where(Poll.status == "open", Poll.closes_at.is_not(None), Poll.closes_at <= now)
            .order_by(Poll.closes_at, Poll.id)
        )
        return [tuple(row) for row in await self.session.execute(stmt)]

    async def lock_poll(self, poll_id: int) -> Poll | None:
        """A poll by id, locked until the transaction ends (see `lock_run`)."""
        stmt = select(Poll).where(Poll.id == poll_id).with_for_update(of=Poll)
        return (await self.session.scalars(stmt)).one_or_none()

    async def answer(self, run_id: int, step_id: str) -> Answer | None:
        """The current answer of a run to a step."""
        stmt = select(Answer).where(Answer.run_id == run_id, Answer.step_id == step_id)
        return (await self.session.scalars(stmt)).one_or_none()

    async def save_answer(
        self,
        run_id: int,
        step_id: str,
        value: Any,
        skipped: bool,
        shown_text: str,
        locale: str,
        now: datetime | None = None,
    ) -> Answer:
        """Insert or replace the answer to a step; a change counts as a new revision."""
        now = now or utcnow()
        existing = await self.answer(run_id, step_id)
        if existing is None:
            existing = Answer(
                run_id=run_id,
                step_id=step_id,
                value=value,
                skipped=skipped,
                shown_text=shown_text,
                locale=locale,
                revision=1,
                answered_at=now,
                updated_at=now,
            )
            self.session.add(existing)
        elif (existing.value, existing.skipped) != (value, skipped) or (
            existing.shown_text != shown_text
        ):
            existing.value = value
            existing.skipped = skipped
            existing.shown_text = shown_text
            existing.locale = locale
            existing.revision += 1
            existing.updated_at = now
        await self.session.flush()
        return existing

    async def delete_answer(self, run_id: int, step_id: str) -> None:
        """Remove the answer to a step that is no longer on the run's path."""
        await self.session.execute(
            delete(Answer).where(Answer.run_id == run_id, Answer.step_id == step_id)
        )

    async def answers(self, run_id: int) -> list[Answer]:
        """All current answers of a run."""
        stmt = select(Answer).where(Answer.run_id == run_id).order_by(Answer.id)
        return list((await self.session.scalars(stmt)).all())

    async def set_prompt_message(self, run_id: int, message_id: int) -> None:
        """Remember which bot message carries the run's current question."""
        await self.session.execute(
            update(Run).where(Run.id == run_id).values(prompt_message_id=message_id)
        )

    async def identity_of(self, participant_id: int) -> Identity | None:
        """The Telegram identity linked to a participant, if the link still exists."""
        return await self.session.get(Identity, participant_id)

    async def participant_by_pseudonym(self, pseudonym: str) -> Participant | None:
        """A participant by pseudonym (case-insensitive, as staff type it)."""
        stmt = select(Participant).where(Participant.pseudonym == pseudonym.strip().upper())
        return (await self.session.scalars(stmt)).one_or_none()

    # --- groups and invites ------------------------------------------------------------
    async def group(self, name: str) -> Group | None:
        """A group by name."""
        return (await self.session.scalars(select(Group).where(Group.name == name))).one_or_none()

    async def group_by_id(self, group_id: int) -> Group | None:
        """A group by id."""
        return await self.session.get(Group, group_id)

    async def ensure_group(self, name: str, created_by: str) -> Group:
        """The group with this name, created if needed."""
        found = await self.group(name)
        if found is None:
            found = Group(name=name, created_by=created_by)
            self.session.add(found)
            await self.session.flush()
        return found

    async def add_member(
        self, group_id: int, participant_id: int, invite_token: str | None = None
    ) -> bool:
        """Put a participant in a group; False if they were in it already."""
        stmt = (
            self.insert_on_conflict(GroupMember)
            .values(
                group_id=group_id,
                participant_id=participant_id,
                invite_token=invite_token,
                joined_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["group_id", "participant_id"])
        )
        return (await self.session.execute(stmt)).rowcount == 1

    async def parental_consent_on_file(
        self, participant_id: int, admin_ids: frozenset[int]
    ) -> tuple[Group, Invite] | None:
        """A group the person joined through a link whose creator confirmed parental consent
        and is still an admin (by role, or by BACKBONE_ADMIN_IDS)."""
        creator = aliased(Participant)
        creator_identity = aliased(Identity)
        stmt = (
            select(Group, Invite)
            .join(GroupMember, GroupMember.group_id == Group.id)
            .join(Invite, Invite.token == GroupMember.invite_token)
            .join(creator, creator.pseudonym == Invite.created_by)
            .outerjoin(creator_identity, creator_identity.participant_id == creator.id)
            .where(
                GroupMember.participant_id == participant_id,
                Invite.parental_consent.is_(True),
                or_(
                    creator.role == "admin",
                    creator_identity.telegram_user_id.in_(sorted(admin_ids)),
                ),
            )
            .order_by(GroupMember.joined_at, Group.id)
            .limit(1)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def add_invite(
        self,
        kind: str,
        created_by: str,
        *,
        group_id: int | None = None,
        role: str | None = None,
        parental_consent: bool = False,
        expires_at: datetime | None = None,
        single_use: bool = False,
    ) -> Invite:
        """A new invite with an unguessable token (fits a Telegram deep link)."""
        invite = Invite(
            token=secrets.token_urlsafe(12),
            kind=kind,
            created_by=created_by,
            group_id=group_id,
            role=role,
            parental_consent=parental_consent,
            expires_at=expires_at,
            single_use=single_use,
        )
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def invite(self, token: str) -> Invite | None:
        """An invite by token."""
        return await self.session.get(Invite, token)

    async def set_member_invite(self, group_id: int, participant_id: int, token: str) -> None:
        """Record that a member's place in a group now rests on this invite link."""
        await self.session.execute(
            update(GroupMember)
            .where(GroupMember.group_id == group_id, GroupMember.participant_id == participant_id)
            .values(invite_token=token)
        )

    # --- authority ---------------------------------------------------------------------
    async def current_role(self, pseudonym: str, admin_ids: frozenset[int]) -> str | None:
        """A person's role right now (admin if BACKBONE_ADMIN_IDS names them); None if unknown."""
        stmt = (
            select(Participant.role, Identity.telegram_user_id)
            .outerjoin(Identity, Identity.participant_id == Participant.id)
            .where(Participant.pseudonym == pseudonym)
        )
        row = (await self.session.execute(stmt)).first()
        if row is None:
            return None
        return "admin" if row.telegram_user_id in admin_ids else row.role

    async def void_role_links(self, created_by: str, now: datetime) -> int:
        """End the unused, unexpired role links someone made; how many there were."""
        stmt = (
            update(Invite)
            .where(
                Invite.kind == "role",
                Invite.created_by == created_by,
                Invite.used_at.is_(None),
                or_(Invite.expires_at.is_(None), Invite.expires_at > now),
            )
            .values(expires_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return (await self.session.execute(stmt)).rowcount

    async def withdraw_self_consents(self, participant_id: int, now: datetime) -> int:
        """Withdraw the consents a person gave themselves (not a parent's); how many."""
        stmt = (
            update(Consent)
            .where(
                Consent.participant_id == participant_id,
                Consent.given_by == "self",
                Consent.withdrawn_at.is_(None),
            )
            .values(withdrawn_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return (await self.session.execute(stmt)).rowcount

    # --- staff chats -------------------------------------------------------------------
    async def add_staff_chat(self, chat_id: int, added_by: str) -> None:
        """Remember a group a staff member added the bot to."""
        stmt = (
            self.insert_on_conflict(StaffChat)
            .values(chat_id=chat_id, added_by=added_by, added_at=utcnow())
            .on_conflict_do_nothing(index_elements=["chat_id"])
        )
        await self.session.execute(stmt)

    async def is_staff_chat(self, chat_id: int) -> bool:
        """Whether staff added the bot to this group."""
        return await self.session.get(StaffChat, chat_id) is not None

    # --- audit -------------------------------------------------------------------------
    async def audit(self, actor: str, action: str, details: dict[str, Any] | None = None) -> None:
        """Write a staff action to the audit log (no personal data in details)."""
        self.session.add(AuditEntry(actor=actor, action=action, details=details or {}))

    # --- erasure -----------------------------------------------------------------------
    def wipe_after_commit(self) -> None:
        """Ask for the SQLite write-ahead log to be checkpointed and truncated once this
        transaction has committed (after an erasure: see Database.transaction)."""
        self.session.info[WIPE_AFTER_COMMIT] = True


class Database:
    """The composition root's handle on the database: engine plus unit-of-work factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions: async_sessionmaker = session_factory(self.engine)
        # A checkpoint that readers kept from completing is retried after later commits.
        self._wipe_pending = False
        # SQLite has one writer at a time, and every transaction here takes the write lock
        # up front (BEGIN IMMEDIATE). Waiters on that lock poll with growing sleeps (up to
        # 100 ms) and in no order, so under load some wait for seconds: in this process they
        # queue here instead, first come, first served. Other processes (the CLI) still meet
        # the busy timeout. PostgreSQL runs transactions side by side.
        self._writer = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Repo]:
        """One unit of work: commits on success, rolls back on any error."""
        async with self._writer or contextlib.nullcontext(), self.sessions() as session:
            async with session.begin():
                yield Repo(session)
            wipe = session.info.pop(WIPE_AFTER_COMMIT, False)
        if wipe or self._wipe_pending:
            await self.wipe(wait_ms=2000 if wipe else 0)

    async def wipe(self, wait_ms: int = 2000) -> bool:
        """Checkpoint and truncate the SQLite write-ahead log (no-op elsewhere); True if done."""
        done = await checkpoint_wal(self.engine, wait_ms)
        if not done and not self._wipe_pending:
            log.warning("the write-ahead log is busy; erased rows leave it after a later commit")
        self._wipe_pending = not done
        return done

    async def dispose(self) -> None:
        """Close all connections."""
        await self.engine.dispose()
