"""Retention use cases: what a period would delete (dry run), deleting it, the daily sweep.

The rule is storage.retention's: media go per finished run past its period; a person's
identity link goes once every one of their runs under a rule is past its period and they have
nothing open. Audit entries carry counts, the flow or campaign and the period, never a
pseudonym or id of a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.services.campaigns import add_months
from bot.services.catalog import FlowCatalog
from bot.services.privacy import delete_media
from flows.model import Flow
from storage import retention as queries
from storage.export import iso_utc
from storage.models import utcnow
from storage.repo import Database

log = logging.getLogger(__name__)

MONTHS_MAX = 600  # the same bound as a flow file's retain_identity_months
SWEEP_SECONDS = 24 * 3600.0  # the bot sweeps once a day (and at start)
START_DELAY = 1.0  # after start-up, so the first sweep does not compete with it
ACTOR = "retention"


@dataclass(frozen=True, slots=True)
class ScopeReport:
    """One rule's share: what goes (dry run) or went."""

    kind: str  # "flow" | "campaign"
    key: str | int
    flow_id: str
    months: int
    finished_before: datetime
    runs: int
    identity_links: int
    kept: int  # people with due runs here who keep their link (open or newer run, ...)
    media_files: int  # media answers with a file (dry run: listed; done: their files)
    media_deleted: int = 0  # files actually removed from MEDIA_DIR (0 in a dry run)

    def details(self) -> dict[str, Any]:
        """The audit entry's details: counts and the rule, nobody's identity."""
        return {
            self.kind: self.key,
            "flow": self.flow_id,
            "months": self.months,
            "finished_before": iso_utc(self.finished_before),
            "runs": self.runs,
            "identity_links": self.identity_links,
            "kept": self.kept,
            "media_answers": self.media_files,
            "media_files_deleted": self.media_deleted,
        }


def flow_rules(flows: Iterable[Flow]) -> dict[str, int]:
    """flow id -> retain_identity_months of the flows that have one."""
    return {f.id: f.retain_identity_months for f in flows if f.retain_identity_months}


def _cutoffs(now: datetime) -> Callable[[int], datetime]:
    return lambda months: add_months(now, -months)


def _report(scope: queries.ScopePlan, unlinked: int, deleted: int = 0) -> ScopeReport:
    return ScopeReport(
        kind=scope.kind,
        key=scope.key,
        flow_id=scope.flow_id,
        months=scope.months,
        finished_before=scope.cutoff,
        runs=len(scope.runs),
        identity_links=unlinked,
        kept=len(scope.kept),
        media_files=sum(1 for path in scope.media.values() if path),
        media_deleted=deleted,
    )


async def plan(db: Database, rules: dict[str, int], now: datetime | None = None):
    """The storage plan of what retention would delete now (storage.retention)."""
    async with db.transaction() as repo:
        return await queries.plan_retention(repo.session, rules, _cutoffs(now or utcnow()))


async def dry_run(
    db: Database, rules: dict[str, int], now: datetime | None = None
) -> list[ScopeReport]:
    """What `apply` would delete now, per flow or campaign; changes nothing."""
    found = await plan(db, rules, now)
    return [_report(scope, len(scope.people)) for scope in found.scopes]


async def apply(
    db: Database,
    rules: dict[str, int],
    media_dir: Path,
    actor: str = ACTOR,
    now: datetime | None = None,
) -> list[ScopeReport]:
    """Delete what retention lists now (identity links, media answers and their files);
    one audit entry per flow or campaign that lost something."""
    now = now or utcnow()
    reports: list[ScopeReport] = []
    async with db.transaction() as repo:
        found = await queries.plan_retention(repo.session, rules, _cutoffs(now))
        if not found.scopes:
            return []
        unlinked, _ = await queries.apply_plan(repo.session, found, now)
        repo.wipe_after_commit()
        # The rows change first: a failed file deletion never leaves a row without its file.
        await repo.session.flush()
        for scope, count in queries.unlinked_by_scope(found, unlinked):
            paths = [p for p in scope.media.values() if p]
            deleted = await asyncio.to_thread(delete_media, media_dir, "", paths)
            report = _report(scope, count, deleted)
            reports.append(report)
            await repo.audit(actor, "retention", report.details())
    return reports


class RetentionSweep:
    """Inside `backbone run`: applies the flows' and campaigns' periods at start and then
    once a day; a failed sweep is logged and tried again the next time."""

    def __init__(self, db: Database, flows_dir: Path, media_dir: Path) -> None:
        self.db = db
        self.catalog = FlowCatalog(flows_dir)
        self.media_dir = media_dir

    async def sweep(self) -> list[ScopeReport]:
        """One sweep now."""
        rules = flow_rules(self.catalog.all())
        reports = await apply(self.db, rules, self.media_dir)
        for r in reports:
            log.info(
                "retention: %s %s: %d identity links, %d media files removed",
                r.kind,
                r.key,
                r.identity_links,
                r.media_deleted,
            )
        return reports

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep until `stop` is set."""
        delay = START_DELAY
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            if stop.is_set():
                return
            delay = SWEEP_SECONDS
            try:
                await self.sweep()
            except Exception:
                log.exception("the retention sweep failed; it runs again in a day")


def start_sweep(
    db: Database, flows_dir: Path, media_dir: Path, stop: asyncio.Event
) -> asyncio.Task:
    """The daily sweep as a task of the running bot (ends when `stop` is set)."""
    return asyncio.create_task(RetentionSweep(db, flows_dir, media_dir).run(stop))
