"""`backbone campaign …`, `backbone groups …` and `export --campaign` as staff run them.

The CLI runs as a subprocess (`python -m bot`) against a migrated database (SQLite, and
PostgreSQL when BACKBONE_TEST_POSTGRES_URL is set) seeded with participants and groups.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services.campaigns import Plan, confirm, create, finish_due
from flows import SHIPPED_DIR
from flows.loader import load_flow
from storage.models import (
    AuditEntry,
    Campaign,
    Delivery,
    Group,
    GroupMember,
    Invite,
    Participant,
)
from storage.repo import Database, new_pseudonym
from tests.unit.test_cli import backbone

pytestmark = pytest.mark.storage

FLOW = "partner-checkup"
FUTURE = "2030-03-01T09:00"
FUTURE_DEADLINE = "2030-03-15T18:00"


@dataclass
class Seeded:
    """Pseudonyms by key: admin, a, b, both (in two groups), stopped (opted out), unlinked."""

    p: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


async def seed(db: Database) -> Seeded:
    """partners: admin, a, both, unlinked · steering: both, stopped · empty: nobody."""
    out = Seeded()
    async with db.transaction() as repo:
        for n, key in enumerate(["admin", "a", "b", "both", "stopped"], start=1):
            identity = await repo.add_participant(
                900000 + n, 900000 + n, f"Secret{n}", f"user{n}", "de"
            )
            out.p[key] = identity.participant.pseudonym
            out.ids[key] = identity.participant_id
        unlinked = Participant(pseudonym=new_pseudonym(), stage="ready")
        repo.session.add(unlinked)
        await repo.session.flush()
        out.p["unlinked"], out.ids["unlinked"] = unlinked.pseudonym, unlinked.id
        admin = await repo.participant(out.ids["admin"])
        admin.role = "admin"
        stopped = await repo.participant(out.ids["stopped"])
        stopped.opted_out = True
        partners = await repo.ensure_group("partners", "seed")
        steering = await repo.ensure_group("steering", "seed")
        await repo.ensure_group("empty", "seed")
        for key in ("admin", "a", "both", "unlinked"):
            await repo.add_member(partners.id, out.ids[key])
        for key in ("both", "stopped"):
            await repo.add_member(steering.id, out.ids[key])
    return out


@pytest.fixture
async def seeded(db: Database) -> Seeded:
    return await seed(db)


@pytest.fixture
def cli(migrated_url: str, tmp_path: Path):
    """Run `backbone …` against the test database (local time: Europe/Berlin)."""
    env = {
        "BACKBONE_DATABASE_URL": migrated_url,
        "BACKBONE_TIMEZONE": "Europe/Berlin",
        "BACKBONE_DEFAULT_LOCALE": "de",
    }

    def run(*args: str, stdin: str | None = None, **extra: str):
        return backbone(*args, env={**env, **extra}, stdin=stdin, cwd=tmp_path)

    return run


def one_error_line(result) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


async def campaigns(db: Database) -> list[Campaign]:
    async with db.transaction() as repo:
        return list(await repo.session.scalars(select(Campaign).order_by(Campaign.id)))


async def audit(db: Database, action: str | None = None) -> list[AuditEntry]:
    async with db.transaction() as repo:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        return list(await repo.session.scalars(stmt))


# --- campaign create ------------------------------------------------------------------------


async def test_create_with_yes_schedules_a_campaign_with_the_given_plan(
    db: Database, seeded: Seeded, cli
) -> None:
    result = cli(
        "campaign",
        "create",
        "--flow",
        FLOW,
        "--group",
        "partners",
        "--group",
        "Steering",
        "--start",
        FUTURE,
        "--deadline",
        FUTURE_DEADLINE,
        "--remind-after",
        "7d",
        "--remind-after",
        "3d",
        "--max-reminders",
        "2",
        "--quiet",
        "21:00-07:30",
        "--every-months",
        "6",
        "--invitation",
        "de=Hallo! Bitte „{title}“ bis {deadline}.",
        "--invitation",
        "en=Hello! Please answer “{title}” by {deadline}.",
        "--reminder",
        "de=Erinnerung: {title}",
        "--yes",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The preview, in local time, before the result.
    assert "Start:       2030-03-01 09:00 CET" in out
    assert "Deadline:    2030-03-15 18:00 CET" in out
    assert "after 3d, 7d" in out
    assert "21:00–07:30" in out
    assert "every 6 months" in out
    assert "partners: 4" in out and "steering: 2" in out
    assert "total: 5 people" in out  # `both` is in two groups and counts once
    assert "1 opted out" in out and "1 without a Telegram link" in out
    assert out.index("total:") < out.index("is scheduled")
    assert "Start this campaign?" not in out
    match = re.search(r"Campaign (\d+) is scheduled", out)
    assert match, out

    (campaign,) = await campaigns(db)
    assert campaign.id == int(match.group(1))
    assert campaign.status == "scheduled"
    assert campaign.flow_id == FLOW
    assert campaign.groups == ["partners", "steering"]
    assert campaign.start_at == datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
    assert campaign.deadline == datetime(2030, 3, 15, 17, 0, tzinfo=UTC)
    assert campaign.remind_after == [3 * 86400, 7 * 86400]
    assert campaign.max_reminders == 2
    assert (campaign.quiet_start, campaign.quiet_end) == ("21:00", "07:30")
    assert campaign.every_months == 6
    assert campaign.texts == {
        "invitation": {
            "de": "Hallo! Bitte „{title}“ bis {deadline}.",
            "en": "Hello! Please answer “{title}” by {deadline}.",
        },
        "reminder": {"de": "Erinnerung: {title}"},
    }
    assert campaign.created_by == "cli"
    assert campaign.progress_chat_id is None
    (entry,) = await audit(db, "campaign_started")
    assert entry.actor == "cli"
    assert entry.details == {
        "campaign": campaign.id,
        "flow": FLOW,
        "groups": ["partners", "steering"],
    }
    async with db.transaction() as repo:
        # Nothing is sent by the CLI: the running bot's sender invites at the start time.
        assert await repo.session.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_start_now_and_a_bare_deadline_date(db: Database, seeded: Seeded, cli) -> None:
    before = datetime.now(UTC)
    result = cli(
        "campaign", "create", "--flow", FLOW, "--group", "steering", "--deadline", "2030-01-31",
        "--yes",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Start:       now, " in result.stdout
    (campaign,) = await campaigns(db)
    assert before - timedelta(seconds=1) <= campaign.start_at <= datetime.now(UTC)
    # A bare date is the whole day, local time.
    assert campaign.deadline == datetime(2030, 1, 31, 22, 59, tzinfo=UTC)
    assert campaign.remind_after == [3 * 86400, 7 * 86400]  # the defaults
    assert (campaign.quiet_start, campaign.quiet_end) == ("20:00", "08:00")
    assert campaign.texts == {}


async def test_declined_confirmation_creates_nothing(db: Database, seeded: Seeded, cli) -> None:
    args = ["campaign", "create", "--flow", FLOW, "--group", "partners", "--group", "steering"]
    args += ["--deadline", FUTURE_DEADLINE]
    for answer in ("n\n", "\n", ""):  # no, the default (no), and no terminal at all
        result = cli(*args, stdin=answer)
        assert result.returncode == 1, result.stdout + result.stderr
        out = result.stdout
        assert "total: 5 people" in out
        assert out.index("total: 5 people") < out.index("Start this campaign? [y/N]")
        assert "Nothing was created" in out
    assert await campaigns(db) == []
    assert await audit(db) == []


async def test_confirming_at_the_prompt_schedules(db: Database, seeded: Seeded, cli) -> None:
    result = cli(
        "campaign", "create", "--flow", FLOW, "--group", "partners", "--deadline",
        FUTURE_DEADLINE, stdin="y\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Start this campaign? [y/N]" in result.stdout
    (campaign,) = await campaigns(db)
    assert campaign.status == "scheduled"


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--start", FUTURE_DEADLINE, "--deadline", FUTURE], "must be after the start"),
        (["--start", "2020-01-01T09:00", "--deadline", FUTURE], "in the past"),
        (["--deadline", "next friday"], "not a date"),
        (["--deadline", FUTURE, "--remind-after", "3 days"], "not a duration"),
        (["--deadline", FUTURE, "--quiet", "8pm-8am"], "not a time range"),
        (["--deadline", FUTURE, "--invitation", "de=Hallo {first_name}"], "{first_name}"),
        (["--deadline", FUTURE, "--reminder", "xx=Hi"], "unknown language"),
        (["--deadline", FUTURE, "--invitation", "Hallo"], "LANG=TEXT"),
        (["--deadline", "2030-02-04", "--remind-after", "5d"], "after the deadline"),
        (["--deadline", FUTURE, "--remind-after", "1d", "--max-reminders", "0"], "contradict"),
        (
            [
                "--deadline",
                FUTURE,
                "--max-reminders",
                "1",
                "--remind-after",
                "1d",
                "--remind-after",
                "2d",
            ],
            "--max-reminders is 1",
        ),  # fmt: skip
        (["--deadline", FUTURE, "--every-months", "0"], "--every-months"),
    ],
)
async def test_bad_arguments_are_one_line_and_exit_2(
    db: Database, seeded: Seeded, cli, extra: list[str], says: str
) -> None:
    args = ["--start", "2030-02-01T09:00", *extra] if "--start" not in extra else extra
    result = cli("campaign", "create", "--flow", FLOW, "--group", "partners", *args, "--yes")
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in one_error_line(result)
    assert await campaigns(db) == []


async def test_no_group_is_a_bad_argument(seeded: Seeded, cli) -> None:
    result = cli("campaign", "create", "--flow", FLOW, "--deadline", FUTURE_DEADLINE, "--yes")
    assert result.returncode == 2
    assert "--group" in one_error_line(result)


async def test_unknown_flow_or_group_exits_1(db: Database, seeded: Seeded, cli) -> None:
    result = cli(
        "campaign", "create", "--flow", "no-such-flow", "--group", "partners",
        "--deadline", FUTURE_DEADLINE, "--yes",
    )  # fmt: skip
    assert result.returncode == 1
    assert "no-such-flow" in one_error_line(result)
    result = cli(
        "campaign", "create", "--flow", FLOW, "--group", "partners", "--group", "nobody-here",
        "--deadline", FUTURE_DEADLINE, "--yes",
    )  # fmt: skip
    assert result.returncode == 1
    assert "no group nobody-here" in one_error_line(result)
    assert "Please check" not in result.stdout
    assert await campaigns(db) == []


# --- campaign list / status / pause / resume / cancel ----------------------------------------


async def running_campaign(db: Database, s: Seeded) -> int:
    """A running campaign with a delivery of every kind and one complete run."""
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    flow = load_flow(SHIPPED_DIR / f"{FLOW}.yaml")
    async with db.transaction() as repo:
        plan = Plan(FLOW, ["partners", "steering"], start, start + timedelta(days=14))
        campaign = await create(repo, plan, "seed")
        await confirm(repo, campaign, "seed")
        campaign.status = "running"
        fv = await repo.flow_version(
            flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
        )
        rows = [
            ("admin", "invitation", 0, "sent", None),
            ("a", "invitation", 0, "sent", None),
            ("a", "reminder", 1, "sent", None),
            ("a", "reminder", 2, "pending", None),
            ("both", "invitation", 0, "uncertain", "in flight during a crash; not resent"),
            ("stopped", "invitation", 0, "skipped", "opted out"),
            ("unlinked", "invitation", 0, "skipped", "no Telegram link"),
            ("b", "invitation", 0, "failed", "400 Bad Request"),
        ]
        for key, kind, seq, status, error in rows:
            repo.session.add(
                Delivery(
                    campaign_id=campaign.id,
                    participant_id=s.ids[key],
                    kind=kind,
                    seq=seq,
                    due_at=start,
                    status=status,
                    attempts=1,
                    error=error,
                )
            )
        for key, status in (("admin", "complete"), ("a", "active")):
            run = await repo.add_run(s.ids[key], fv.id, "de", {"current": None, "answers": {}})
            run.status, run.started_at = status, start + timedelta(hours=1)
            run.campaign_id = campaign.id
        return campaign.id


async def test_status_prints_every_figure(db: Database, seeded: Seeded, cli) -> None:
    cid = await running_campaign(db, seeded)
    result = cli("campaign", "status", str(cid))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Campaign {cid}: {FLOW} (“Partner-Check-up”), running" in out
    assert "Groups: partners, steering" in out
    for line in (
        "Invited: 2",
        "Started: 2",
        "Completed: 1 (50%)",
        "Reminders sent: 1",
        "Unreachable: 0",
        "Opted out: 1",
        "Pending: 1",
        "Uncertain: 1",
        "Failed: 1",
    ):
        assert re.search(rf"^{re.escape(line)}(?!\d)", out, re.M), (line, out)


async def test_list_shows_every_campaign(db: Database, seeded: Seeded, cli) -> None:
    result = cli("campaign", "list")
    assert result.returncode == 0
    assert "no campaigns yet" in result.stdout
    cid = await running_campaign(db, seeded)
    result = cli("campaign", "list")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    assert line.startswith(f"{cid}  running")
    assert FLOW in line and "partners, steering" in line
    assert "completed 1 of 2 invited" in line


async def test_pause_resume_cancel_and_invalid_transitions(
    db: Database, seeded: Seeded, cli
) -> None:
    cid = await running_campaign(db, seeded)

    def status() -> str:
        return cli("campaign", "status", str(cid)).stdout.splitlines()[0].rsplit(", ", 1)[1]

    result = cli("campaign", "pause", str(cid))
    assert result.returncode == 0, result.stderr
    assert f"campaign {cid} is now paused" in result.stdout
    assert status() == "paused"
    result = cli("campaign", "pause", str(cid))
    assert result.returncode == 1
    assert "is paused; cannot pause" in one_error_line(result)
    result = cli("campaign", "resume", str(cid))
    assert result.returncode == 0, result.stderr
    assert "now running" in result.stdout  # it has deliveries: back to running
    result = cli("campaign", "cancel", str(cid), "--yes")
    assert result.returncode == 0
    assert "now cancelled" in result.stdout
    for action in ("resume", "pause", "cancel"):
        result = cli("campaign", action, str(cid))
        assert result.returncode == 1
        assert f"is cancelled; cannot {action}" in one_error_line(result)
    result = cli("campaign", "pause", "999")
    assert result.returncode == 1
    assert "no campaign 999" in one_error_line(result)
    result = cli("campaign", "status", "999")
    assert result.returncode == 1
    assert "no campaign 999" in one_error_line(result)
    actions = [(e.actor, e.action) for e in await audit(db) if e.actor == "cli"]
    assert actions == [
        ("cli", "campaign_pause"),
        ("cli", "campaign_resume"),
        ("cli", "campaign_cancel"),
    ]


async def test_a_campaign_paused_before_its_start_waits_for_it_again(
    db: Database, seeded: Seeded, cli
) -> None:
    result = cli(
        "campaign", "create", "--flow", FLOW, "--group", "partners", "--start", FUTURE,
        "--deadline", FUTURE_DEADLINE, "--yes",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (campaign,) = await campaigns(db)
    assert "now paused" in cli("campaign", "pause", str(campaign.id)).stdout
    assert "now scheduled" in cli("campaign", "resume", str(campaign.id)).stdout


# --- groups ---------------------------------------------------------------------------------


async def members(db: Database, name: str) -> set[int]:
    async with db.transaction() as repo:
        stmt = (
            select(GroupMember.participant_id)
            .join(Group, Group.id == GroupMember.group_id)
            .where(Group.name == name)
        )
        return set(await repo.session.scalars(stmt))


async def test_groups_list_show_create(db: Database, seeded: Seeded, cli) -> None:
    result = cli("groups", "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "empty  0 members",
        "partners  4 members",
        "steering  2 members",
    ]
    result = cli("groups", "show", "steering")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "steering: 2 members",
        *sorted([seeded.p["both"], seeded.p["stopped"]]),
    ]
    assert "Secret" not in result.stdout  # pseudonyms only, never names
    result = cli("groups", "create", "School-A-9b")
    assert result.returncode == 0, result.stderr
    assert "created group school-a-9b" in result.stdout
    result = cli("groups", "create", "school-a-9b")
    assert result.returncode == 1
    assert "already exists" in one_error_line(result)
    result = cli("groups", "create", "no spaces!")
    assert result.returncode == 2
    assert "not a group name" in one_error_line(result)
    result = cli("groups", "show", "nowhere")
    assert result.returncode == 1
    assert "no group nowhere" in one_error_line(result)
    (entry,) = await audit(db, "group_created")
    assert (entry.actor, entry.details) == ("cli", {"group": "school-a-9b"})


async def test_groups_add_and_remove(db: Database, seeded: Seeded, cli) -> None:
    p = seeded.p
    result = cli("groups", "add", "empty", p["a"].lower(), p["b"])
    assert result.returncode == 0, result.stderr
    assert f"added 2 to empty: {p['a']}, {p['b']}" in result.stdout
    assert await members(db, "empty") == {seeded.ids["a"], seeded.ids["b"]}
    result = cli("groups", "add", "empty", p["a"], p["both"])
    assert result.returncode == 0
    assert f"added 1 to empty: {p['both']}" in result.stdout
    assert f"already in empty: {p['a']}" in result.stdout

    # An unknown pseudonym changes nothing at all.
    result = cli("groups", "add", "empty", p["stopped"], "P-ZZZZZZ")
    assert result.returncode == 1
    assert "P-ZZZZZZ" in one_error_line(result)
    assert seeded.ids["stopped"] not in await members(db, "empty")
    result = cli("groups", "add", "empty", "7K3M9Q")
    assert result.returncode == 2
    assert "not a pseudonym" in one_error_line(result)
    result = cli("groups", "add", "nowhere", p["a"])
    assert result.returncode == 1

    result = cli("groups", "remove", "empty", p["a"], p["admin"])
    assert result.returncode == 0, result.stderr
    assert f"removed 1 from empty: {p['a']}" in result.stdout
    assert f"not in empty: {p['admin']}" in result.stdout
    assert await members(db, "empty") == {seeded.ids["b"], seeded.ids["both"]}

    entries = [(e.actor, e.action, e.details) for e in await audit(db)]
    assert entries == [
        ("cli", "group_member_add", {"group": "empty", "member": p["a"]}),
        ("cli", "group_member_add", {"group": "empty", "member": p["b"]}),
        ("cli", "group_member_add", {"group": "empty", "member": p["both"]}),
        ("cli", "group_member_remove", {"group": "empty", "member": p["a"]}),
    ]


async def test_groups_invite_link_and_parental_consent(db: Database, seeded: Seeded, cli) -> None:
    admin = seeded.p["admin"]
    result = cli("groups", "invite", "steering", BACKBONE_BOT_USERNAME="my_test_bot")
    assert result.returncode == 0, result.stderr
    link = re.search(r"https://t\.me/my_test_bot\?start=J(\S+)", result.stdout)
    assert link, result.stdout
    assert "valid 90 days" in result.stdout

    result = cli(
        "groups", "invite", "partners", "--parental-consent-on-file", "--by", admin.lower(),
        "--bot-username", "@other_bot",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    parental = re.search(r"https://t\.me/other_bot\?start=J(\S+)", result.stdout)
    assert parental, result.stdout
    assert f"{admin} confirmed" in result.stdout

    async with db.transaction() as repo:
        plain = await repo.invite(link.group(1))
        confirmed = await repo.invite(parental.group(1))
        partners = await repo.group("partners")
        assert plain.kind == "group" and plain.parental_consent is False
        assert plain.created_by == "cli"
        assert confirmed.parental_consent is True
        assert confirmed.created_by == admin  # who confirmed consent is on file
        assert confirmed.group_id == partners.id
        days = (confirmed.expires_at - datetime.now(UTC)).days
        assert 89 <= days <= 90

    entries = [(e.actor, e.details) for e in await audit(db, "group_link_created")]
    assert entries == [
        ("cli", {"group": "steering", "parental_consent_on_file": False}),
        (
            "cli",
            {"group": "partners", "parental_consent_on_file": True, "confirmed_by": admin},
        ),
    ]

    result = cli("groups", "invite", "partners", "--parental-consent-on-file")
    assert result.returncode == 2
    assert "--by" in one_error_line(result)
    result = cli(
        "groups", "invite", "partners", "--parental-consent-on-file", "--by", seeded.p["a"]
    )
    assert result.returncode == 1
    assert "is not an admin" in one_error_line(result)
    result = cli("groups", "invite", "nowhere")
    assert result.returncode == 1
    result = cli("groups", "invite", "partners", "--bot-username", "not a bot")
    assert result.returncode == 2
    async with db.transaction() as repo:
        assert await repo.session.scalar(select(func.count()).select_from(Invite)) == 2


async def test_an_admin_by_settings_may_confirm_parental_consent(
    db: Database, seeded: Seeded, cli
) -> None:
    result = cli(
        "groups", "invite", "partners", "--parental-consent-on-file", "--by", seeded.p["a"],
        BACKBONE_ADMIN_IDS="900002", BACKBONE_BOT_USERNAME="my_test_bot",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


# --- export --campaign ----------------------------------------------------------------------


async def test_export_campaign_keeps_only_that_campaigns_runs(
    db: Database, seeded: Seeded, cli, tmp_path: Path
) -> None:
    flow = load_flow(SHIPPED_DIR / f"{FLOW}.yaml")
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    async with db.transaction() as repo:
        fv = await repo.flow_version(
            flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
        )
        first = await create(repo, Plan(FLOW, ["partners"], start, start + timedelta(days=7)), "x")
        second = await create(repo, Plan(FLOW, ["steering"], start, start + timedelta(days=7)), "x")
        other = await create(
            repo, Plan("school-survey", ["steering"], start, start + timedelta(days=7)), "x"
        )
        runs = {}
        for key, campaign in (("admin", first), ("a", first), ("both", second), ("b", None)):
            run = await repo.add_run(seeded.ids[key], fv.id, "de", {"current": None, "answers": {}})
            run.campaign_id = campaign.id if campaign else None
            run.status = "complete"
            await repo.save_answer(run.id, "role_clarity", 4, False, "Wie klar?", "de", start)
            runs[key] = run.id
        ids = first.id, second.id, other.id

    def export(*extra: str) -> tuple[int, list[dict]]:
        out = tmp_path / f"export-{len(list(tmp_path.iterdir()))}.json"
        result = cli("export", "--flow", FLOW, "--format", "json", "--output", str(out), *extra)
        assert result.returncode == 0, result.stderr
        doc = json.loads(out.read_text(encoding="utf-8"))
        return doc.get("campaign"), doc["rows"]

    campaign, rows = export("--campaign", str(ids[0]))
    assert campaign == ids[0]
    assert sorted(r["run_id"] for r in rows) == sorted([runs["admin"], runs["a"]])
    assert {r["pseudonym"] for r in rows} == {seeded.p["admin"], seeded.p["a"]}
    campaign, rows = export("--campaign", str(ids[1]))
    assert [r["run_id"] for r in rows] == [runs["both"]]
    campaign, rows = export()
    assert campaign is None
    assert len(rows) == 4  # unchanged without --campaign

    result = cli("export", "--flow", FLOW, "--campaign", str(ids[2]), "-o", str(tmp_path / "x"))
    assert result.returncode == 1
    assert "is for flow 'school-survey'" in one_error_line(result)
    result = cli("export", "--flow", FLOW, "--campaign", "999", "-o", str(tmp_path / "y"))
    assert result.returncode == 1
    assert "no campaign 999" in one_error_line(result)
    result = cli("export", "--campaign", "1", "polls", "--session", "X", "-o", "z")
    assert result.returncode == 2

    exports = [e.details for e in await audit(db, "export")]
    assert exports[0]["campaign"] == ids[0]
    assert "campaign" not in exports[2]


# --- found while testing: recurring waves and daylight saving time --------------------------


async def test_next_wave_keeps_the_local_start_time(db: Database) -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 1, 15, 9, 0, tzinfo=berlin)
    async with db.transaction() as repo:
        plan = Plan(FLOW, ["partners"], start, start + timedelta(days=14), every_months=6)
        campaign = await create(repo, plan, "x")
        campaign.status = "running"
    async with db.transaction() as repo:
        (wave,) = await finish_due(repo, datetime(2026, 2, 1, tzinfo=UTC), berlin)
        assert wave.start_at.astimezone(berlin) == datetime(2026, 7, 15, 9, 0, tzinfo=berlin)
