"""Unit of work and the queries the use cases need; one transaction per incoming update."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import checkpoint_wal, create_engine, session_factory
from storage.models import (
    AuditEntry,
    Consent,
    Identity,
    Participant,
    ProcessedUpdate,
    utcnow,
)
from storage.repo_groups import GroupQueries
from storage.repo_runs import RunQueries
from storage.statuses import Stage

# No 0/O, 1/I/L: pseudonyms get read aloud and typed by staff.
_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# Session.info key: this transaction erased personal data (see Repo.wipe_after_commit).
WIPE_AFTER_COMMIT = "wipe_after_commit"
# Built once: every update reads its person (see storage/repo_runs.py).
_IDENTITY_BY_TELEGRAM = select(Identity).where(Identity.telegram_user_id == bindparam("uid"))

_PREPARED: dict[tuple[str, str], Any] = {}  # see Repo.prepared

log = logging.getLogger(__name__)


def _claim_statement(repo: Repo) -> Any:
    return (
        repo.insert_on_conflict(ProcessedUpdate.__table__)  # the table: a Core statement
        .values(update_id=bindparam("uid"), processed_at=bindparam("at"))
        .on_conflict_do_nothing(index_elements=["update_id"])
    )


def new_pseudonym() -> str:
    """A random pseudonym like P-7K3M9Q (31^6 ≈ 887 million possibilities)."""
    return "P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))


class Repo(RunQueries, GroupQueries):
    """Queries and writes inside one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._open_runs: dict[int, Any] = {}  # participant id -> open run (see open_run)
        self.committed: list[Callable[[], None]] = []  # see after_commit

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction has committed (never after a rollback)."""
        self.committed.append(callback)

    # --- updates -----------------------------------------------------------------------
    def insert_on_conflict(self, model: type) -> Any:
        """INSERT with ON CONFLICT support for the dialect in use (SQLite or PostgreSQL), for
        a model or (a Core statement, to run with parameters) its table."""
        if self.dialect == "postgresql":
            return pg_insert(model)
        return sqlite_insert(model)

    @property
    def dialect(self) -> str:
        """The database's dialect name ("sqlite" or "postgresql")."""
        return self.session.get_bind().dialect.name

    def prepared(self, name: str, build: Callable[[Repo], Any]) -> Any:
        """A statement built once per dialect with bind parameters: on the paths every
        update takes, building a statement costs more than running it."""
        key = (name, self.dialect)
        stmt = _PREPARED.get(key)
        if stmt is None:
            stmt = _PREPARED[key] = build(self)
        return stmt

    async def claim_update(self, update_id: int) -> bool:
        """Mark a Telegram update as handled; False if it was handled before."""
        stmt = self.prepared("claim_update", _claim_statement)
        result = await self.session.execute(stmt, {"uid": update_id, "at": utcnow()})
        return result.rowcount == 1

    # --- participants ------------------------------------------------------------------
    async def identity_by_telegram(self, telegram_user_id: int) -> Identity | None:
        """The identity (with its participant) of a Telegram user, if known."""
        params = {"uid": telegram_user_id}
        return (await self.session.scalars(_IDENTITY_BY_TELEGRAM, params)).one_or_none()

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
        participant = Participant(pseudonym=pseudonym, stage=Stage.NEW)
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

    async def identity_of(self, participant_id: int) -> Identity | None:
        """The Telegram identity linked to a participant, if the link still exists."""
        return await self.session.get(Identity, participant_id)

    async def participant_by_pseudonym(self, pseudonym: str) -> Participant | None:
        """A participant by pseudonym (case-insensitive, as staff type it)."""
        stmt = select(Participant).where(Participant.pseudonym == pseudonym.strip().upper())
        return (await self.session.scalars(stmt)).one_or_none()

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
                repo = Repo(session)
                yield repo
            wipe = session.info.pop(WIPE_AFTER_COMMIT, False)
        for callback in repo.committed:
            callback()
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
