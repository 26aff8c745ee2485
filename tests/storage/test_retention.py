"""Retention: identity links and media of finished runs past their flow's or campaign's period."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services import retention as cases
from storage.models import Answer, AuditEntry, Delivery, Identity, Participant, Run
from storage.repo import Database
from storage.retention import REMOVED, apply_plan, plan_retention
from tests.conftest import REPO_ROOT
from tests.storage.persondata import (
    CHECKUP,
    INTERVIEW,
    NOW,
    World,
    add_person,
    add_run,
    seed_flows,
)

pytestmark = pytest.mark.storage

RULES = {INTERVIEW: 24}  # the interview flow file says retain_identity_months: 24
MONTH = timedelta(days=31)


def _voice(world: World, who: str, media: Path):
    def value(run_id: int) -> dict:
        path = f"{world.pseudonyms[who]}/run{run_id}-voice.ogg"
        (media / path).parent.mkdir(parents=True, exist_ok=True)
        (media / path).write_bytes(b"OggS")
        return {"file_id": f"AwAD-secret-{who}", "file_unique_id": f"u-{who}", "path": path}

    return value


async def _world(db: Database, media: Path) -> World:
    """Who keeps what, and why (see each line)."""
    world = World()
    await seed_flows(db, world, retain=12)  # the check-up campaign: 12 months
    names = ("ada", "ben", "cem", "dan", "eve", "fay", "gus")
    for n, name in enumerate(names):
        await add_person(db, world, name, n)
    old, run = NOW - 30 * MONTH, add_run
    # ada: one interview, finished 30 months ago: link and voice note go.
    await run(
        db, world, "ada", "ada", INTERVIEW, "complete", old, {"voice": _voice(world, "ada", media)}
    )
    # ben: an old interview (its voice note goes) and a newer one within the period: keeps link.
    await run(
        db,
        world,
        "ben-old",
        "ben",
        INTERVIEW,
        "complete",
        old,
        {"voice": _voice(world, "ben", media)},
    )
    await run(
        db, world, "ben-new", "ben", INTERVIEW, "complete", NOW - 2 * MONTH, {"plans": "school"}
    )
    # cem: an old interview, but an open run of a flow without retention: keeps link.
    await run(db, world, "cem", "cem", INTERVIEW, "complete", old, {"plans": "school"})
    await run(db, world, "cem-open", "cem", CHECKUP, "active", None, {})
    # dan: a check-up of the campaign, finished 13 months ago (campaign: 12): link goes.
    await run(
        db,
        world,
        "dan",
        "dan",
        CHECKUP,
        "complete",
        NOW - 13 * MONTH,
        {"satisfied": 3},
        campaign=True,
    )
    # eve: an interview finished 23 months ago: within the period, nothing goes.
    await run(
        db,
        world,
        "eve",
        "eve",
        INTERVIEW,
        "complete",
        NOW - 23 * MONTH,
        {"voice": _voice(world, "eve", media)},
    )
    # fay: staff; a cancelled (incomplete) interview: the media go, the link stays.
    await run(
        db,
        world,
        "fay",
        "fay",
        INTERVIEW,
        "incomplete",
        old,
        {"voice": _voice(world, "fay", media)},
    )
    # gus: an old interview, but invited to a campaign message still to be sent: keeps link.
    await run(db, world, "gus", "gus", INTERVIEW, "complete", old, {"plans": "training"})
    async with db.transaction() as repo:
        staff = await repo.session.get(Participant, world.ids["fay"])
        staff.role = "admin"
        repo.session.add(
            Delivery(
                campaign_id=world.campaign_id,
                participant_id=world.ids["gus"],
                kind="invitation",
                due_at=NOW,
            )
        )
    return world


async def _linked(db: Database) -> set[int]:
    async with db.transaction() as repo:
        return set(await repo.session.scalars(select(Identity.participant_id)))


async def _media_answers(db: Database) -> dict[int, dict]:
    async with db.transaction() as repo:
        rows = await repo.session.execute(select(Answer.id, Answer.value))
        return {aid: v for aid, v in rows if isinstance(v, dict)}


def _files(media: Path) -> set[str]:
    return {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()}


async def test_retention_deletes_exactly_what_its_dry_run_listed(db: Database, tmp_path: Path):
    media = tmp_path / "media"
    world = await _world(db, media)
    ids = world.ids
    async with db.transaction() as repo:
        plan = await plan_retention(repo.session, RULES, cases._cutoffs(NOW))
    assert plan.people == {ids["ada"], ids["dan"]}
    listed = plan.media
    media_before = await _media_answers(db)
    owners = {aid: media_before[aid]["path"].split("/")[0] for aid in listed}
    assert sorted(owners.values()) == sorted(world.pseudonyms[w] for w in ("ada", "ben", "fay"))
    kept = {pid for s in plan.scopes for pid in s.kept}
    assert kept == {ids[w] for w in ("ben", "cem", "fay", "gus")}
    # The dry run (the use case) says the same and changes nothing.
    linked, files = await _linked(db), _files(media)
    report = await cases.dry_run(db, RULES, NOW)
    assert [(r.kind, r.key, r.identity_links, r.media_files, r.kept) for r in report] == [
        ("campaign", world.campaign_id, 1, 0, 0),
        ("flow", INTERVIEW, 1, 3, 4),
    ]
    assert await _linked(db) == linked and _files(media) == files

    done = await cases.apply(db, RULES, media, now=NOW)
    assert [(r.kind, r.key, r.identity_links, r.media_files, r.media_deleted) for r in done] == [
        ("campaign", world.campaign_id, 1, 0, 0),
        ("flow", INTERVIEW, 1, 3, 3),
    ]
    # Exactly the listed links are gone; exactly the listed media answers and files.
    assert linked - await _linked(db) == plan.people
    after = await _media_answers(db)
    changed = {aid for aid, value in after.items() if value != media_before[aid]}
    assert changed == set(listed)
    assert all(after[aid] == REMOVED for aid in listed)
    assert files - _files(media) == {p for p in listed.values()}
    assert _files(media) == {f"{world.pseudonyms['eve']}/run{world.runs['eve']}-voice.ogg"}
    async with db.transaction() as repo:
        open_run = await repo.session.get(Run, world.runs["cem-open"])
        assert open_run.status == "active"
        entries = list(await repo.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    retention = [e for e in entries if e.action == "retention"]
    assert [(e.actor, e.details.get("flow"), e.details["identity_links"]) for e in retention] == [
        ("retention", CHECKUP, 1),
        ("retention", INTERVIEW, 1),
    ]
    assert retention[0].details["campaign"] == world.campaign_id
    assert retention[1].details["months"] == 24 and retention[1].details["media_files_deleted"] == 3
    text = json.dumps([e.details for e in retention])
    for name, pseudonym in world.pseudonyms.items():
        assert pseudonym not in text and f"secret-{name}" not in text
    # A second sweep finds nothing and writes nothing.
    assert await cases.apply(db, RULES, media, now=NOW) == []
    async with db.transaction() as repo:
        count = await repo.session.scalar(select(func.count()).select_from(AuditEntry))
    assert count == len(entries)


async def test_a_run_opened_after_the_plan_keeps_the_link(db: Database, tmp_path: Path):
    world = await _world(db, tmp_path / "media")
    async with db.transaction() as repo:
        plan = await plan_retention(repo.session, RULES, cases._cutoffs(NOW))
    assert world.ids["ada"] in plan.people
    await add_run(db, world, "ada-again", "ada", CHECKUP, "active", None, {})
    async with db.transaction() as repo:
        unlinked, _ = await apply_plan(repo.session, plan, NOW)
    assert unlinked == {world.ids["dan"]}
    assert world.ids["ada"] in await _linked(db)


async def test_without_periods_nothing_goes(db: Database, tmp_path: Path):
    world = World()
    await seed_flows(db, world, retain=None)
    await add_person(db, world, "ada", 0)
    await add_run(db, world, "ada", "ada", INTERVIEW, "complete", NOW - 100 * MONTH, {})
    assert await cases.dry_run(db, {}, NOW) == []
    assert await cases.apply(db, {}, tmp_path, now=NOW) == []
    assert await _linked(db) == {world.ids["ada"]}


FLOW_FILE = """\
id: reporter-interview
title: Interview
version: "2026-1"
retain_identity_months: 24
steps:
  - id: plans
    type: text
    text: Was hast du vor?
"""


def _backbone(url: str, tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "reporter-interview.yaml").write_text(FLOW_FILE, encoding="utf-8")
    env.update(
        BACKBONE_DATABASE_URL=url,
        BACKBONE_FLOWS_DIR=str(flows),
        BACKBONE_MEDIA_DIR=str(tmp_path / "media"),
        PYTHONPATH=str(REPO_ROOT),
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_command_lists_asks_and_deletes(db: Database, migrated_url: str, tmp_path: Path):
    media = tmp_path / "media"
    world = await _world(db, media)
    linked, files = await _linked(db), _files(media)
    dry = _backbone(migrated_url, tmp_path, "retention", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"campaign {world.campaign_id} ({CHECKUP}): 12 months")
    assert "1 identity link, 0 media files" in lines[0]
    assert lines[1].startswith(f"flow {INTERVIEW}: 24 months")
    assert "1 identity link, 3 media files (4 keep their link" in lines[1]
    # No answer to the question: nothing changes.
    asked = _backbone(migrated_url, tmp_path, "retention")
    assert asked.returncode == 1 and "Nothing was changed." in asked.stderr
    assert await _linked(db) == linked and _files(media) == files
    done = _backbone(migrated_url, tmp_path, "retention", "--yes")
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        .splitlines()[-1]
        .startswith("removed 2 identity links and 3 media files")
    )
    assert linked - await _linked(db) == {world.ids["ada"], world.ids["dan"]}
    again = _backbone(migrated_url, tmp_path, "retention", "--dry-run")
    assert again.stdout.strip() == "nothing is past its retention period"
    assert world.pseudonyms["ada"] not in done.stdout + dry.stdout


async def test_campaigns_create_stores_the_period_and_waves_keep_it(db: Database, migrated_url):
    from bot.services.campaigns import finish_due
    from storage.models import Campaign
    from tests.storage.test_campaign_cli import FLOW, FUTURE, FUTURE_DEADLINE, seed
    from tests.unit.test_cli import backbone as run_cli

    await seed(db)
    env = {"BACKBONE_DATABASE_URL": migrated_url, "BACKBONE_TIMEZONE": "Europe/Berlin"}
    base = ("campaigns", "create", "--flow", FLOW, "--group", "partners", "--start", FUTURE)
    base += ("--deadline", FUTURE_DEADLINE, "--every-months", "6", "--yes")
    for bad in ("0", "601", "zwei"):
        refused = run_cli(*base, "--retain-identity-months", bad, env=env)
        assert refused.returncode == 2, refused.stderr
        assert "retain-identity-months" in refused.stderr and "Traceback" not in refused.stderr
    done = run_cli(*base, "--retain-identity-months", "18", env=env)
    assert done.returncode == 0, done.stderr
    assert "Retention: identity links and media go 18 months after each run finished" in (
        done.stdout
    )
    async with db.transaction() as repo:
        [campaign] = list(await repo.session.scalars(select(Campaign)))
        assert campaign.retain_identity_months == 18
        campaign.status = "running"  # as the bot sets it at the start
        waves = await finish_due(repo, campaign.deadline + timedelta(days=1), None)
    assert [w.retain_identity_months for w in waves] == [18]


async def test_a_path_outside_the_media_dir_is_never_deleted(db: Database, tmp_path: Path):
    media = tmp_path / "media"
    media.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("not media", encoding="utf-8")
    world = World()
    await seed_flows(db, world)
    await add_person(db, world, "ada", 0)
    evil = {"file_id": "x", "path": "../outside.txt"}
    await add_run(db, world, "ada", "ada", INTERVIEW, "complete", NOW - 30 * MONTH, {"v": evil})
    [report] = await cases.apply(db, RULES, media, now=NOW)
    assert (report.identity_links, report.media_files, report.media_deleted) == (1, 1, 0)
    assert outside.read_text(encoding="utf-8") == "not media"
    assert list((await _media_answers(db)).values()) == [REMOVED]
