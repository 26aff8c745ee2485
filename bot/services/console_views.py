"""What the staff console's pages show: campaigns with their figures, poll sessions with
their results, flows with their check results. Read-only; the changes go through the same
use cases as the CLI and the chat (bot/services/campaigns.py, groups.py, the exports)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.services.catalog import FlowCatalog
from bot.services.poll_views import Results, results, spec_of
from storage import campaigns as campaign_queries
from storage import console as store
from storage import outbox
from storage import polls as poll_queries
from storage.models import Campaign
from storage.outbox import Progress
from storage.repo import Database

# Campaigns the overview follows (a draft was never confirmed; ended ones are history).
ACTIVE = ("scheduled", "running", "paused")


@dataclass(frozen=True)
class CampaignRow:
    """One campaign with its figures."""

    campaign: Campaign
    title: str
    figures: Progress

    @property
    def rate(self) -> float:
        """Completed of invited, 0..1."""
        f = self.figures
        return f.completed / f.invited if f.invited else 0.0


def flow_title(catalog: FlowCatalog, flow_id: str, locale: str) -> str:
    """A flow's title in `locale`, or its id when the flow is gone."""
    flow = catalog.get(flow_id)
    return flow.text("title", locale) if flow else flow_id


async def campaign_rows(
    db: Database, catalog: FlowCatalog, locale: str, active_only: bool = False
) -> list[CampaignRow]:
    """Campaigns, newest first, with their figures."""
    async with db.transaction() as repo:
        rows = await campaign_queries.campaigns(repo, newest_first=True)
        if active_only:
            rows = [c for c in rows if c.status in ACTIVE]
        out = []
        for c in rows:
            out.append(
                CampaignRow(
                    c, flow_title(catalog, c.flow_id, locale), await outbox.progress(repo, c)
                )
            )
        return out


async def campaign_detail(
    db: Database, catalog: FlowCatalog, locale: str, campaign_id: int
) -> tuple[CampaignRow, list[str]] | None:
    """One campaign, its figures and who is uncertain (pseudonyms); None if unknown."""
    async with db.transaction() as repo:
        c = await campaign_queries.campaign(repo, campaign_id)
        if c is None:
            return None
        row = CampaignRow(c, flow_title(catalog, c.flow_id, locale), await outbox.progress(repo, c))
        return row, await store.uncertain_pseudonyms(repo, c.id)


@dataclass(frozen=True)
class SessionCard:
    """A poll session in a list: code, title, status, people joined, polls asked."""

    row: store.SessionRow
    joined: int


async def sessions(db: Database, open_only: bool = False) -> list[SessionCard]:
    """Poll sessions, newest first."""
    async with db.transaction() as repo:
        rows = await store.poll_sessions(repo, open_only=open_only)
        return [SessionCard(r, await poll_queries.member_count(repo, r.id)) for r in rows]


@dataclass(frozen=True)
class PollResult:
    """One poll of a session with its results."""

    id: int
    question: str
    kind: str
    status: str
    anonymous: bool
    results: Results

    def share(self, count: int) -> float:
        """A count's share of the voters, 0..1."""
        return count / self.results.voters if self.results.voters else 0.0


async def session_detail(db: Database, session_id: int):
    """(session card, its polls with results), or None if unknown."""
    async with db.transaction() as repo:
        found = [r for r in await store.poll_sessions(repo, limit=10_000) if r.id == session_id]
        if not found:
            return None
        card = SessionCard(found[0], await poll_queries.member_count(repo, session_id))
        out = []
        for poll in await store.session_polls(repo, session_id):
            spec = spec_of(poll)
            res = await results(repo, poll)
            out.append(
                PollResult(poll.id, spec.question, spec.type, str(poll.status), poll.anonymous, res)
            )
        return card, out


async def poll_result(db: Database, poll_id: int) -> PollResult | None:
    """One poll's results (for its chart)."""
    async with db.transaction() as repo:
        poll = await poll_queries.poll(repo, poll_id)
        if poll is None or poll.session_id is None:
            return None
        spec = spec_of(poll)
        res = await results(repo, poll)
        return PollResult(poll.id, spec.question, spec.type, str(poll.status), poll.anonymous, res)


@dataclass(frozen=True)
class FlowInfo:
    """A flow as the flows page lists it."""

    id: str
    title: str
    version: str
    languages: list[str]
    gaps: dict[str, dict[str, list[str]]]  # locale -> kind -> keys (missing, fuzzy, stale)


def flows_overview(directory: Path, locale: str) -> tuple[list[FlowInfo], list[str]]:
    """Every valid flow with its translation gaps, and `flows check`'s problems (as the CLI
    prints them, with file names relative to the flows directory)."""
    from flows.loader import check_paths
    from flows.translations import translation_report

    problems = [str(p).replace(str(directory) + "/", "") for p in check_paths([directory])]
    flows = []
    for flow in FlowCatalog(directory, recheck_seconds=0).all():
        report = translation_report(flow)
        gaps = {lang: {k: v for k, v in entry.items() if v} for lang, entry in report.items()}
        flows.append(
            FlowInfo(
                flow.id,
                flow.text("title", locale),
                str(flow.version),
                flow.locales(),
                gaps,
            )
        )
    return flows, problems


async def group_names(db: Database) -> list[str]:
    """Every group's name."""
    from bot.services import groups as group_cases

    async with db.transaction() as repo:
        return [name for name, _count in await group_cases.overview(repo)]


async def groups_with_members(db: Database) -> list[tuple[str, list[str]]]:
    """Every group with its members' pseudonyms."""
    from bot.services import groups as group_cases

    async with db.transaction() as repo:
        return [(g.name, await group_cases.members(repo, g)) for g in await group_cases.names(repo)]


async def create_group(db: Database, name: str, actor: str) -> None:
    """A new empty group (GroupExists if taken), audited like `backbone groups create`."""
    from bot.services import groups as group_cases

    async with db.transaction() as repo:
        await group_cases.create(repo, name, actor)


async def group_invite(
    db: Database, name: str, actor: str, bot_username: str, now, parental: bool
) -> str | None:
    """A join link for a group made by `actor` (an admin: checked again when it is used);
    with `parental`, the actor confirms the parents' consent is on file. None: no group."""
    from bot.services import groups as group_cases

    async with db.transaction() as repo:
        group = await repo.group(name)
        if group is None:
            return None
        return await group_cases.invite_link(
            repo,
            group,
            created_by=actor,
            actor=actor,
            bot_username=bot_username,
            now=now,
            parental=parental,
            confirmed_by=actor if parental else None,
        )


async def session_questions(db: Database, session_id: int) -> list:
    """A session's open questions from the room, most upvoted first (texts only: who asked
    is never shown)."""
    from storage import questions as question_queries

    async with db.transaction() as repo:
        return await question_queries.open_questions(repo, session_id, 50)


async def mark_question(
    db: Database, question_id: int, to: str, who_pseudonym: str, is_admin: bool, clock
) -> str:
    """Mark an open question answered or hidden, as the chat's ✅ / 🙈 do: only the
    session's facilitator or an admin. "done", "not_found" (unknown, closed session, no
    longer open) or "not_yours"."""
    from bot.services.room_questions import RoomQuestions
    from storage import questions as question_queries
    from storage.models_questions import QuestionStatus

    async with db.transaction() as repo:
        question = await question_queries.question(repo, question_id)
        session = await poll_queries.poll_session(repo, question.session_id) if question else None
        if session is None or str(session.status) != "open":
            return "not_found"
        if question.status != QuestionStatus.OPEN:
            return "not_found"
        owner = await repo.participant(session.facilitator_id) if session.facilitator_id else None
        if not is_admin and (owner is None or owner.pseudonym != who_pseudonym):
            return "not_yours"
        status = QuestionStatus.ANSWERED if to == "answered" else QuestionStatus.HIDDEN
        await RoomQuestions(clock).mark(repo, question, session, status, who_pseudonym)
        return "done"
