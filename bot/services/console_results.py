"""Results back to the people from the staff console: which closed campaigns and sessions
there are, whether (and how) their results were sent, and the same prepare / confirm use case
as /results and `backbone results send` (bot.services.results_back), in one transaction each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.i18n import Translator
from bot.services import results_back
from bot.services.catalog import FlowCatalog
from bot.services.console_views import flow_title
from storage import campaigns as campaign_queries
from storage import console as store
from storage import results_back as queries
from storage.repo import Database

SESSIONS_LISTED = 500  # closed sessions shown, newest first


@dataclass(frozen=True)
class Sending:
    """One confirmed sending and its messages' statuses in the outbox."""

    at: datetime
    actor: str
    planned: int
    statuses: dict[str, int]  # outbox status -> messages (pending, sent, skipped, failed, …)


@dataclass
class SourceRow:
    """A closed campaign or session and its results sent so far."""

    kind: str  # "campaign" | "session"
    key: str  # the campaign's id or the session's code
    title: str
    status: str
    sent: int = 0  # confirmed sendings
    sendings: list[Sending] = field(default_factory=list)  # newest first

    @property
    def value(self) -> str:
        """The form value naming this source."""
        return f"{self.kind}:{self.key}"


def parse_source(value: str) -> results_back.Source | None:
    """A form's source ("campaign:12", "session:ABC123"), or None when it cannot be read."""
    kind, _, key = value.strip().partition(":")
    if kind == "campaign" and key.isdigit() and 0 < int(key) < 2**31:
        return results_back.Source(campaign_id=int(key))
    if kind == "session" and key.isalnum() and len(key) <= 12:
        return results_back.Source(session_code=key.upper())
    return None


async def _sendings(repo) -> dict[str, list]:
    """The confirmed sendings by source value, newest first."""
    out: dict[str, list] = {}
    for row in await queries.sendings(repo):
        key = f"campaign:{row.campaign_id}" if row.campaign_id else f"session:{row.session_id}"
        out.setdefault(key, []).append(row)
    return out


async def overview(db: Database, catalog: FlowCatalog, locale: str) -> list[SourceRow]:
    """Closed campaigns, then closed sessions (newest first), each with its sendings."""
    rows: list[tuple[SourceRow, str]] = []
    async with db.transaction() as repo:
        sent = await _sendings(repo)
        for c in await campaign_queries.campaigns(repo, newest_first=True):
            if c.status in results_back.CLOSED_CAMPAIGN:
                title = flow_title(catalog, c.flow_id, locale)
                rows.append((SourceRow("campaign", str(c.id), title, c.status), f"campaign:{c.id}"))
        for s in await store.poll_sessions(repo, limit=SESSIONS_LISTED):
            if s.status == "closed":
                rows.append((SourceRow("session", s.code, s.title, s.status), f"session:{s.id}"))
        for row, key in rows:
            for send in sent.get(key, []):
                counts = await queries.statuses(repo, send.id)
                planned = sum(counts.values())
                row.sendings.append(Sending(send.confirmed_at, send.created_by, planned, counts))
            row.sent = len(row.sendings)
    return [row for row, _ in rows]


async def prepare(
    db: Database,
    catalog: FlowCatalog,
    source: results_back.Source,
    *,
    actor: str,
    t: Translator,
    k: int,
    message: str | None,
) -> results_back.Preview:
    """A draft and its preview (Refused as the use case refuses). Results sent before get
    a preview too: the preview page warns, and only "send again" confirms them."""
    async with db.transaction() as repo:
        return await results_back.prepare(
            repo, catalog, source, actor=actor, t=t, k=k, message=message, again=True
        )


async def confirm(db: Database, send_id: int, actor: str, now: datetime, again: bool) -> int:
    """Plan the messages of `actor`'s own draft; Refused("stale") for anybody else's (as the
    chat's confirm button), or as the use case refuses."""
    async with db.transaction() as repo:
        row = await queries.send(repo, send_id)
        if row is None or row.created_by != actor:
            raise results_back.Refused("stale")
        return await results_back.confirm(repo, send_id, actor, now, again)


async def discard(db: Database, send_id: int, actor: str) -> None:
    """Drop `actor`'s own unconfirmed draft (the preview's cancel button)."""
    async with db.transaction() as repo:
        row = await queries.send(repo, send_id)
        if row is not None and row.created_by == actor:
            await queries.discard(repo, send_id)
