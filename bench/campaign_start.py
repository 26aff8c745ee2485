"""Benchmark: starting a campaign for N people (default 10,000) — inserting its invitations.

    python -m bench.campaign_start [--participants 10000] [--database sqlite|postgres]

Seeds N ready people in one group and a campaign due now (bench.campaigns.seed) twice, then
starts it both ways on its own database, in the same run:
- bulk: storage.campaigns.add_invitations, one statement executed for every row;
- anchor: one INSERT per person, as storage.outbox.start_due_campaigns did before.
Prints the seconds for each, the ratio, and checks both made N pending invitations.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select

from bench.campaigns import seed
from bench.common import pg_admin, run_in_workdir
from storage import campaigns as queries
from storage import outbox
from storage.migrate import upgrade
from storage.models import Delivery, utcnow
from storage.repo import Database
from storage.statuses import CampaignStatus

DEFAULT_POSTGRES_URL = os.environ.get(
    "BACKBONE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def start_bulk(db: Database) -> float:
    """Start the due campaigns with add_invitations; seconds taken."""
    began = time.perf_counter()
    async with db.transaction() as repo:
        now = utcnow()
        for campaign in await queries.due_to_start(repo, now):
            members = await outbox.audience(repo, campaign.groups)
            people = sorted({pid for pids in members.values() for pid in pids})
            await queries.add_invitations(repo, campaign, people, max(campaign.start_at, now))
            queries.campaign_transition(campaign, CampaignStatus.RUNNING)
    return time.perf_counter() - began


async def start_one_by_one(db: Database) -> float:
    """The anchor: one INSERT per person (what start_due_campaigns did); seconds taken."""
    began = time.perf_counter()
    async with db.transaction() as repo:
        now = utcnow()
        for campaign in await queries.due_to_start(repo, now):
            members = await outbox.audience(repo, campaign.groups)
            for pid in sorted({pid for pids in members.values() for pid in pids}):
                await queries.add_invitations(repo, campaign, [pid], max(campaign.start_at, now))
            queries.campaign_transition(campaign, CampaignStatus.RUNNING)
    return time.perf_counter() - began


async def measure(url: str, n: int, how) -> tuple[float, int]:
    await seed(url, n)
    db = Database(url)
    try:
        seconds = await how(db)
        async with db.transaction() as repo:
            made = await repo.session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
            )
    finally:
        await db.dispose()
    return seconds, made


def bench(args: argparse.Namespace, workdir: Path) -> str:
    results = {}
    for name, how in (("bulk", start_bulk), ("one INSERT per person", start_one_by_one)):
        if args.database == "postgres":
            db_name = f"bb_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(pg_admin(DEFAULT_POSTGRES_URL, f'CREATE DATABASE "{db_name}"'))
            url = DEFAULT_POSTGRES_URL.rsplit("/", 1)[0] + f"/{db_name}"
        else:
            url = f"sqlite+aiosqlite:///{workdir / (name.split()[0] + '.db')}"
        try:
            upgrade(url)
            results[name] = asyncio.run(measure(url, args.participants, how))
        finally:
            if args.database == "postgres":
                drop = f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'
                asyncio.run(pg_admin(DEFAULT_POSTGRES_URL, drop))
    bulk, anchor = results["bulk"][0], results["one INSERT per person"][0]
    lines = [f"campaign start, {args.participants:,} people, {args.database}:"]
    for name, (seconds, made) in results.items():
        ok = "ok" if made == args.participants else f"WRONG: {made} invitations"
        lines.append(f"  {name:<22} {seconds:7.3f} s   {made:,} pending invitations ({ok})")
    lines.append(f"  bulk is {anchor / bulk:.1f}x faster than one INSERT per person")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=10_000)
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args(argv)
    return run_in_workdir("bb-campaign-start-", args, lambda workdir: bench(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
