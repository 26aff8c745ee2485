"""People with interviews, check-ups (campaign runs), named and anonymous poll votes and media:
the data of the person-level export and retention tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.model import Flow, Step, StepType
from storage.models import Campaign, Poll, PollSession, Vote
from storage.repo import Database

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
INTERVIEW, CHECKUP = "reporter-interview", "partner-checkup"


def interview() -> Flow:
    """A small interview: a choice, a text and a voice note."""
    return Flow(
        id=INTERVIEW,
        title="Interview",
        version="2026-1",
        language="de",
        steps=[
            Step(
                id="plans",
                type=StepType.SINGLE_CHOICE,
                text="Was hast du vor?",
                options={"training": "Ausbildung", "school": "Schule"},
            ),
            Step(id="story", type=StepType.TEXT, text="Erzähl!"),
            Step(id="voice", type=StepType.VOICE, text="Sprachnachricht?", optional=True),
        ],
    )


def checkup() -> Flow:
    """A check-up with one scale."""
    return Flow(
        id=CHECKUP,
        title="Check-up",
        version="2026-1",
        language="de",
        steps=[Step(id="satisfied", type=StepType.SCALE, text="Wie zufrieden?", min=1, max=5)],
    )


@dataclass
class World:
    """What seed() made: participant ids and pseudonyms by name, run ids by key."""

    ids: dict[str, int] = field(default_factory=dict)
    pseudonyms: dict[str, str] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    campaign_id: int = 0
    polls: dict[str, int] = field(default_factory=dict)


async def add_person(db: Database, world: World, name: str, n: int) -> None:
    """A participant with an identity link."""
    async with db.transaction() as repo:
        identity = await repo.add_participant(7_000_000 + n, 7_000_000 + n, name, None, "de")
        identity.participant.locale = "de"
        world.ids[name] = identity.participant_id
        world.pseudonyms[name] = identity.participant.pseudonym


async def add_run(
    db: Database,
    world: World,
    key: str,
    who: str,
    flow_id: str,
    status: str,
    finished: datetime | None,
    answers: dict[str, Any],
    campaign: bool = False,
) -> int:
    """A run with answers; a callable answer gets the run id (media paths)."""
    async with db.transaction() as repo:
        run = await repo.add_run(world.ids[who], world.versions[flow_id], "de", {"current": None})
        run.status = status
        run.started_at = (finished or NOW) - timedelta(hours=1)
        run.finished_at = finished
        if campaign:
            run.campaign_id = world.campaign_id
        for n, (step, value) in enumerate(answers.items()):
            value = value(run.id) if callable(value) else value
            at = run.started_at + timedelta(minutes=n)
            await repo.save_answer(run.id, step, value, False, f"{step}?", "de", at)
        world.runs[key] = run.id
        return run.id


async def seed_flows(db: Database, world: World, retain: int | None = None) -> None:
    """Both flows' versions and a campaign of the check-up (with `retain` months)."""
    async with db.transaction() as repo:
        for flow in (interview(), checkup()):
            row = await repo.flow_version(
                flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
            )
            world.versions[flow.id] = row.id
        campaign = Campaign(
            flow_id=CHECKUP,
            groups=["partners"],
            start_at=NOW - timedelta(days=800),
            deadline=NOW - timedelta(days=790),
            created_by="test",
            retain_identity_months=retain,
        )
        repo.session.add(campaign)
        await repo.session.flush()
        world.campaign_id = campaign.id


async def seed_polls(db: Database, world: World) -> None:
    """Session ABC123 with a named poll (Ada voted training) and an anonymous one (Ada and
    Ben voted; no link to either)."""
    async with db.transaction() as repo:
        session = PollSession(code="ABC123", title="Runde", facilitator_chat_id=1)
        repo.session.add(session)
        await repo.session.flush()
        spec = {"id": "p1", "type": "single_choice", "question": "Was zuerst?"}
        named = Poll(
            session_id=session.id,
            spec={**spec, "options": {"a": "Information", "b": "Matching"}, "anonymous": False},
            anonymous=False,
            opened_by="test",
        )
        anonymous = Poll(
            session_id=session.id,
            spec={**spec, "id": "p2", "options": {"x": "Ja", "y": "Nein"}},
            anonymous=True,
            opened_by="test",
        )
        repo.session.add_all([named, anonymous])
        await repo.session.flush()
        world.polls = {"named": named.id, "anonymous": anonymous.id}
        ada = world.ids["ada"]
        repo.session.add(
            Vote(poll_id=named.id, voter_key=f"k{ada}", participant_id=ada, value=["b"])
        )
        for who in ("ada", "ben"):
            key = hashlib.sha256(f"salt{world.ids[who]}".encode()).hexdigest()
            repo.session.add(Vote(poll_id=anonymous.id, voter_key=key, value=["y"]))
