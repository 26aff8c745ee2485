"""The unit of work's queries on flow versions, runs and answers (mixed into Repo)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import (
    Answer,
    FlowVersion,
    Identity,
    Poll,
    Run,
    utcnow,
)
from storage.statuses import RunStatus

OPEN_STATUSES = (RunStatus.ACTIVE, RunStatus.PAUSED)
# Statements on the answering path are built once: building one costs more than running it.
_OPEN_RUN = (
    select(Run)
    .where(Run.participant_id == bindparam("pid"), Run.status.in_(OPEN_STATUSES))
    .order_by(Run.id.desc())
    .limit(1)
)
_LOCK_RUN = (
    select(Run, Identity)
    .outerjoin(Identity, Identity.participant_id == Run.participant_id)
    .where(Run.id == bindparam("rid"))
    .with_for_update(of=Run)
)


def _write_run(names: list[str]) -> Any:
    table = Run.__table__
    values = {name: bindparam(name) for name in names}
    return update(table).where(table.c.id == bindparam("run_id")).values(values)


def _first_text_statement(repo: Any) -> Any:
    return (
        repo.insert_on_conflict(Answer.__table__)  # the table: a Core statement
        .values(
            run_id=bindparam("rid"),
            step_id=bindparam("sid"),
            value=bindparam("v"),
            skipped=False,
            shown_text=bindparam("w"),
            locale=bindparam("l"),
            revision=1,
            answered_at=bindparam("t"),
            updated_at=bindparam("t"),
        )
        .on_conflict_do_nothing(index_elements=["run_id", "step_id"])
        .returning(Answer.__table__.c.id)
    )


_ANSWER = select(Answer).where(
    Answer.run_id == bindparam("rid"), Answer.step_id == bindparam("sid")
)


class RunQueries:
    """Flow versions, runs and their answers."""

    session: AsyncSession
    insert_on_conflict: Callable[[type], Any]  # Repo's
    prepared: Callable[[str, Callable[[Any], Any]], Any]  # Repo's
    _open_runs: dict[int, Run | None]  # Repo's: open_run's answers in this transaction

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
        # Asked more than once per update (the poll and interview routers both need it):
        # read once per transaction. A run started here is noted by add_run; one that ended
        # here, or was deleted, is read again.
        if participant_id in self._open_runs:
            known = self._open_runs[participant_id]
            if known is None or (known.status in OPEN_STATUSES and inspect(known).persistent):
                return known
        run = (await self.session.scalars(_OPEN_RUN, {"pid": participant_id})).one_or_none()
        self._open_runs[participant_id] = run
        return run

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
            Run.status == RunStatus.COMPLETE,
        )
        return (await self.session.scalars(stmt.limit(1))).one_or_none()

    async def previous_wave(self, participant_id: int, flow_id: str) -> dict[str, Any]:
        """The person's answers (step id -> value; skipped ones left out) in their latest
        finished run of this flow, any version: what `previous.<step id>` reads."""
        latest = (
            select(Run.id)
            .join(FlowVersion, FlowVersion.id == Run.flow_version_id)
            .where(
                Run.participant_id == participant_id,
                FlowVersion.flow_id == flow_id,
                Run.status.in_((RunStatus.COMPLETE, RunStatus.INCOMPLETE)),
            )
            .order_by(Run.started_at.desc(), Run.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        stmt = select(Answer.step_id, Answer.value).where(
            Answer.run_id == latest, Answer.skipped.is_(False)
        )
        return {step_id: value for step_id, value in await self.session.execute(stmt)}

    async def completed_run_in_campaign(self, participant_id: int, campaign_id: int) -> Run | None:
        """A complete run this participant started from this campaign."""
        stmt = select(Run).where(
            Run.participant_id == participant_id,
            Run.campaign_id == campaign_id,
            Run.status == RunStatus.COMPLETE,
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
            status=RunStatus.ACTIVE,
            state=state,
        )
        self.session.add(run)
        await self.session.flush()
        self._open_runs[participant_id] = run
        return run

    async def runs_collecting(self) -> list[Run]:
        """Runs waiting for more short messages to one free-text answer."""
        stmt = select(Run).where(Run.collect_until.is_not(None), Run.status == RunStatus.ACTIVE)
        return list((await self.session.scalars(stmt)).all())

    async def runs_due(self, now: datetime) -> list[tuple[int, int | None]]:
        """(run id, chat id) of active runs whose merge window ended by `now`, earliest first."""
        stmt = (
            select(Run.id, Identity.chat_id)
            .outerjoin(Identity, Identity.participant_id == Run.participant_id)
            .where(Run.collect_until.is_not(None), Run.collect_until <= now)
            .where(Run.status == RunStatus.ACTIVE)
            .order_by(Run.collect_until, Run.id)
        )
        return [(row.id, row.chat_id) for row in await self.session.execute(stmt)]

    async def lock_run(self, run_id: int) -> tuple[Run | None, Identity | None]:
        """A run by id, locked until the transaction ends, so a timer handles it only once;
        with its person's identity (and participant), if the link still exists."""
        # FOR UPDATE waits for a concurrent writer and then reads the row as it committed it
        # (PostgreSQL); SQLite has no row locks, its BEGIN IMMEDIATE serialises instead.
        row = (await self.session.execute(_LOCK_RUN, {"rid": run_id})).one_or_none()
        return (row[0], row[1]) if row is not None else (None, None)

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
        params = {"rid": run_id, "sid": step_id}
        return (await self.session.scalars(_ANSWER, params)).one_or_none()

    async def write_run(self, run: Run, **values: Any) -> None:
        """Set columns of a run at once, as one prepared UPDATE, without making the object
        dirty: on the answering path this replaces a flush of the unit of work."""
        values["updated_at"] = utcnow()
        names = sorted(values)
        stmt = self.prepared("write_run:" + ",".join(names), lambda _repo: _write_run(names))
        await self.session.execute(stmt, {"run_id": run.id, **values})
        for name, value in values.items():
            set_committed_value(run, name, value)

    async def first_text(
        self, run_id: int, step_id: str, text: str, shown_text: str, locale: str, now: datetime
    ) -> None:
        """Store the first message of a free-text answer, or replace the step's earlier answer
        (the person came back to it): one INSERT in the usual case instead of read + write."""
        stmt = self.prepared("first_text", _first_text_statement)
        params = {"rid": run_id, "sid": step_id, "v": text, "w": shown_text, "l": locale, "t": now}
        if (await self.session.execute(stmt, params)).first() is None:
            await self.save_answer(run_id, step_id, text, False, shown_text, locale, now)

    async def save_answer(
        self,
        run_id: int,
        step_id: str,
        value: Any,
        skipped: bool,
        shown_text: str,
        locale: str,
        now: datetime | None = None,
        known: Answer | None = None,
    ) -> Answer:
        """Insert or replace the answer to a step; a change counts as a new revision.
        `known`: the stored answer, when the caller has just read it (saves reading it again)."""
        now = now or utcnow()
        if known is not None and (known.run_id, known.step_id) == (run_id, step_id):
            existing = known
        else:
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
        # No flush here: the next query or the commit writes it, with the run's own change.
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
