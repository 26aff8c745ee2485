"""Operations against a real database (SQLite, and PostgreSQL in CI): a database that is
missing or not migrated is one line and exit 2 for every command and is never created; the
campaign start's invitations go in as a few bulk INSERTs; `campaign create` refuses an
audience nobody can be reached in; `anonymise` asks first; invite links name the real bot."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, insert, select

from bot.services.campaigns import Plan, audience, create
from storage import campaigns as queries
from storage.models import Campaign, Delivery, Identity, Invite, Participant
from storage.repo import Database
from tests.storage.test_campaign_cli import FLOW, FUTURE_DEADLINE, Seeded, one_error_line, seed
from tests.unit.test_cli import backbone

pytestmark = pytest.mark.storage


@pytest.fixture
async def seeded(db: Database) -> Seeded:
    return await seed(db)


@pytest.fixture
def cli(migrated_url: str, tmp_path: Path):
    env = {"BACKBONE_DATABASE_URL": migrated_url, "BACKBONE_TIMEZONE": "Europe/Berlin"}

    def run(*args: str, stdin: str | None = None, **extra: str):
        return backbone(*args, env={**env, **extra}, stdin=stdin, cwd=tmp_path)

    return run


async def count(db: Database, model) -> int:
    async with db.transaction() as repo:
        return await repo.session.scalar(select(func.count()).select_from(model))


# --- the campaign start's invitations, in bulk ----------------------------------------------


async def _people(db: Database, n: int) -> list[int]:
    async with db.transaction() as repo:
        rows = [{"pseudonym": f"P-B{i:07d}", "stage": "ready"} for i in range(n)]
        for start in range(0, n, 2000):
            await repo.session.execute(insert(Participant), rows[start : start + 2000])
        return list(await repo.session.scalars(select(Participant.id).order_by(Participant.id)))


async def test_ten_thousand_invitations_go_in_a_few_statements(db: Database) -> None:
    ids = await _people(db, 10_000)
    now = datetime.now(UTC)
    async with db.transaction() as repo:
        campaign = await create(repo, Plan(FLOW, ["x"], now, now + timedelta(days=7)), "t")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        began = time.perf_counter()
        async with db.transaction() as repo:
            await queries.add_invitations(repo, campaign, ids, now)
        seconds = time.perf_counter() - began
        # Started again (a restart mid-start): nobody gets a second row.
        async with db.transaction() as repo:
            await queries.add_invitations(repo, campaign, ids[:10], now)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    print(f"10,000 invitations inserted in {seconds:.3f} s")
    # One executemany each (asyncpg and sqlite3 send the rows in batches themselves).
    assert len(statements) <= 2
    assert await count(db, Delivery) == 10_000
    async with db.transaction() as repo:
        kinds = set(await repo.session.scalars(select(Delivery.kind).distinct()))
        statuses = set(await repo.session.scalars(select(Delivery.status).distinct()))
    assert kinds == {"invitation"} and statuses == {"pending"}


async def test_no_invitations_is_no_statement(db: Database) -> None:
    now = datetime.now(UTC)
    async with db.transaction() as repo:
        campaign = await create(repo, Plan(FLOW, ["x"], now, now + timedelta(days=7)), "t")
        await queries.add_invitations(repo, campaign, [], now)
    assert await count(db, Delivery) == 0


# --- reach: who a campaign can invite -------------------------------------------------------


async def test_reach_counts_only_linked_people_who_have_not_stopped_or_blocked(
    db: Database, seeded: Seeded
) -> None:
    async with db.transaction() as repo:
        partners = await audience(repo, ["partners"])  # admin, a, both, unlinked
        steering = await audience(repo, ["steering"])  # both, stopped
        both = await audience(repo, ["partners", "steering"])
        empty = await audience(repo, ["empty"])
    assert (partners.total, partners.reachable) == (4, 3)
    assert (steering.total, steering.reachable) == (2, 1)
    assert (both.total, both.reachable) == (5, 3)  # "both" counts once
    assert (empty.total, empty.reachable) == (0, 0)


async def test_create_refuses_an_audience_nobody_can_be_reached_in(
    db: Database, seeded: Seeded, cli
) -> None:
    async with db.transaction() as repo:
        group = await repo.ensure_group("gone", "seed")
        await repo.add_member(group.id, seeded.ids["stopped"])
        await repo.add_member(group.id, seeded.ids["unlinked"])
    for name in ("gone", "empty"):
        result = cli(
            "campaign", "create", "--flow", FLOW, "--group", name, "--deadline",
            FUTURE_DEADLINE, "--yes",
        )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr
        assert "nobody in this audience can be reached" in one_error_line(result)
        assert "Please check before anything is sent" in result.stdout  # the reasons shown
    assert await count(db, Campaign) == 0


async def test_create_warns_for_a_partly_unreachable_audience(
    db: Database, seeded: Seeded, cli
) -> None:
    result = cli(
        "campaign", "create", "--flow", FLOW, "--group", "steering", "--deadline",
        FUTURE_DEADLINE, "--yes",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Warning: 1 of 2 cannot be reached now" in result.stderr
    assert "1 opted out (/stop)" in result.stdout
    assert await count(db, Campaign) == 1


# --- anonymise asks first -------------------------------------------------------------------


async def _linked(db: Database) -> int:
    return await count(db, Identity)


@pytest.mark.parametrize("stdin", ["", "n\n", "\n"])
async def test_anonymise_all_without_a_yes_changes_nothing(
    db: Database, seeded: Seeded, cli, stdin: str
) -> None:
    before = await _linked(db)
    result = cli("anonymise", "--all", stdin=stdin)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cannot be undone" in result.stdout
    assert "Nothing was changed" in result.stderr
    assert await _linked(db) == before
    assert "anonymise" not in cli("audit").stdout


async def test_anonymise_all_with_yes_or_a_typed_yes(db: Database, seeded: Seeded, cli) -> None:
    assert await _linked(db) > 0
    typed = cli("anonymise", "--all", stdin="y\n")
    assert typed.returncode == 0, typed.stderr
    assert await _linked(db) == 0
    again = cli("anonymise", "--all", "--yes")
    assert again.returncode == 0, again.stderr
    assert "[y/N]" not in again.stdout
    assert again.stdout.strip() == "removed the Telegram link of 0 participants"


async def test_anonymise_an_unknown_flow_is_refused_before_the_question(seeded: Seeded, cli):
    result = cli("anonymise", "--flow", "nope")
    assert result.returncode == 1
    assert one_error_line(result) == "backbone: no data for flow 'nope'"
    assert "[y/N]" not in result.stdout


# --- invite links name the real bot ----------------------------------------------------------


async def test_invite_without_a_bot_username_or_token_is_refused(
    db: Database, seeded: Seeded, cli
) -> None:
    result = cli("groups", "invite", "partners")
    assert result.returncode == 2
    line = one_error_line(result)
    assert "BACKBONE_BOT_USERNAME" in line and "backbone_bot" not in result.stdout
    assert await count(db, Invite) == 0


async def test_invite_uses_the_bot_username_setting(db: Database, seeded: Seeded, cli) -> None:
    result = cli("groups", "invite", "partners", BACKBONE_BOT_USERNAME="@alliance_bot")
    assert result.returncode == 0, result.stderr
    assert "https://t.me/alliance_bot?start=J" in result.stdout
    result = cli("groups", "invite", "partners", BACKBONE_BOT_USERNAME="no")
    assert result.returncode == 2
    assert "BACKBONE_BOT_USERNAME" in one_error_line(result)
    assert await count(db, Invite) == 1


async def test_invite_asks_the_bot_api_when_the_token_is_all_there_is(
    db: Database, seeded: Seeded, cli
) -> None:
    from tests.fakebot.server import FakeBotAPI

    server = FakeBotAPI(token="123:abc")
    server.start()
    try:
        env = {"BACKBONE_TELEGRAM_TOKEN": "123:abc", "BACKBONE_TELEGRAM_API_URL": server.url}
        result = cli("groups", "invite", "partners", **env)
        assert result.returncode == 0, result.stderr
        assert f"https://t.me/{server.bot_username}?start=J" in result.stdout
        wrong = cli("groups", "invite", "partners", **{**env, "BACKBONE_TELEGRAM_TOKEN": "9:x"})
        assert wrong.returncode == 2
        assert "BACKBONE_BOT_USERNAME" in one_error_line(wrong)
        assert "9:x" not in wrong.stderr  # never the URL with the token
    finally:
        server.stop()
    assert await count(db, Invite) == 1


# --- a database that is not migrated ---------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["groups", "list"],
        ["campaign", "list"],
        ["campaign", "status", "1"],
        ["audit"],
        ["anonymise", "--all", "--yes"],
        ["groups", "invite", "partners", "--bot-username", "alliance_bot"],
    ],
)
def test_a_database_without_the_schema_is_one_line_and_exit_2(
    database_url: str, tmp_path: Path, args: list[str]
) -> None:
    from storage.db import sqlite_file

    path = sqlite_file(database_url)
    if path is not None:
        path.touch()  # an empty file: there, but without the schema
    result = backbone(*args, env={"BACKBONE_DATABASE_URL": database_url}, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_error_line(result)
    assert "has no schema" in line and "backbone db upgrade" in line
    # and `db upgrade` is what makes it usable
    assert backbone("db", "upgrade", env={"BACKBONE_DATABASE_URL": database_url}).returncode == 0
    again = backbone("groups", "list", env={"BACKBONE_DATABASE_URL": database_url}, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


# --- campaigns cancel asks first; `campaigns` and the older `campaign` -----------------------


async def test_cancel_asks_first_and_yes_skips_the_question(
    db: Database, seeded: Seeded, cli
) -> None:
    created = cli(
        "campaigns", "create", "--flow", FLOW, "--group", "partners", "--deadline",
        FUTURE_DEADLINE, "--yes",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    (campaign,) = await _campaigns(db)
    for stdin in ("", "n\n"):
        declined = cli("campaigns", "cancel", str(campaign.id), stdin=stdin)
        assert declined.returncode == 1
        assert "cannot be undone" in declined.stdout
        assert (await _campaigns(db))[0].status == "scheduled"
    unknown = cli("campaigns", "cancel", "999")
    assert unknown.returncode == 1
    assert "no campaign 999" in one_error_line(unknown) and "[y/N]" not in unknown.stdout
    done = cli("campaign", "cancel", str(campaign.id), "--yes")  # the older group name
    assert done.returncode == 0, done.stderr
    assert "now cancelled" in done.stdout
    assert (await _campaigns(db))[0].status == "cancelled"
    again = cli("campaigns", "cancel", str(campaign.id))  # ended: refused, no question
    assert again.returncode == 1 and "[y/N]" not in again.stdout
    assert "is cancelled; cannot cancel" in one_error_line(again)


async def _campaigns(db: Database) -> list[Campaign]:
    async with db.transaction() as repo:
        return list(await repo.session.scalars(select(Campaign).order_by(Campaign.id)))
