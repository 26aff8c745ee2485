"""Campaign benchmark: one campaign invites N people through the outbox; how fast, how safely?

    python -m bench.campaigns [--participants 10000] [--rate 30] [--database sqlite|postgres]
                              [--postgres-url URL] [--faults] [--telegram-limits] [--seed 1]
                              [--timeout S] [--keep]

Seeds a fresh database directly (schema via storage.migrate.upgrade, then N participants at
stage "ready" with identity and consent, one group holding all of them, and one campaign
"scheduled" to start now: deadline +1 day, no reminders, quiet hours off, progress message
to an admin as /campaign sets it). The N people are registered in the fake Bot API as having
written to the bot before. Then the real `backbone run` starts with BACKBONE_SEND_RATE=<rate>
and the benchmark waits until every delivery is final (sent/failed/skipped/uncertain).

--faults: the fake answers 5% of calls with 429 (retry_after=1) and 2% with 500, and 3% of
the people have blocked the bot (403 on every send, no update about it).
--telegram-limits: the fake enforces Telegram's flood limits (more than 30 sends in any 1 s,
or more than 1/s to one chat -> 429), to check the pacer against them.

Every figure comes from the fake server's records, the database or /proc; see
bench/README.md. Exit status 0 unless the run itself broke (bot did not start, timeout, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import BenchError, pg_admin, run_in_workdir
from bot.settings import Settings
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import (
    Campaign,
    Consent,
    Delivery,
    Group,
    GroupMember,
    Identity,
    Participant,
    utcnow,
)
from tests.e2e.conftest import TOKEN, BotProcess
from tests.fakebot import FakeBotAPI

DEFAULT_POSTGRES_URL = os.environ.get(
    "BACKBONE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1/test"
)
ADMIN = 9000  # receives the campaign's progress message
FIRST_PERSON = 200_001
GROUP = "bench-all"
FLOW = "school-survey"
FINAL = frozenset({"sent", "failed", "skipped", "uncertain"})
RATE_429, RATE_5XX, BLOCKED_SHARE = 0.05, 0.02, 0.03
TARGET = 0.90  # achieved rate as a share of BACKBONE_SEND_RATE
POLL = 1.0  # seconds between looks at the database and /proc


# --- database ----------------------------------------------------------------------------


@asynccontextmanager
async def fresh_database(kind: str, postgres_url: str, workdir: Path) -> AsyncIterator[str]:
    """The URL of an empty database for this run (dropped afterwards on PostgreSQL)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'backbone.db'}"
        return
    name = f"bb_bench_{uuid.uuid4().hex[:12]}"
    try:
        await pg_admin(postgres_url, f'CREATE DATABASE "{name}"')
    except Exception as exc:
        raise BenchError(f"cannot create a PostgreSQL database at {postgres_url}: {exc}") from exc
    try:
        yield f"{postgres_url.rpartition('/')[0]}/{name}"
    finally:
        await pg_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def seed(url: str, n: int) -> int:
    """N ready participants (identity, consent) in one group, one campaign due now; its id."""
    engine = create_engine(url)
    now = utcnow()
    notice = Settings.model_fields["privacy_notice_version"].default
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(Participant),
                [
                    {
                        "pseudonym": f"B-{i:06d}",
                        "locale": "en",
                        "stage": "ready",
                        "age_band": "16plus",
                        "created_at": now,
                    }
                    for i in range(n)
                ],
            )
            rows = (await conn.execute(select(Participant.id, Participant.pseudonym))).all()
            ids = {int(pseudonym[2:]): pid for pid, pseudonym in rows}
            await conn.execute(
                insert(Identity),
                [
                    {
                        "participant_id": ids[i],
                        "telegram_user_id": FIRST_PERSON + i,
                        "chat_id": FIRST_PERSON + i,
                        "first_name": f"P{i}",
                        "language_code": "en",
                        "created_at": now,
                    }
                    for i in range(n)
                ],
            )
            await conn.execute(
                insert(Consent),
                [
                    {
                        "participant_id": ids[i],
                        "notice_version": notice,
                        "locale": "en",
                        "given_by": "self",
                        "age_band": "16plus",
                        "given_at": now,
                    }
                    for i in range(n)
                ],
            )
            group_id = (
                await conn.execute(
                    insert(Group)
                    .values(name=GROUP, created_by="bench", created_at=now)
                    .returning(Group.id)
                )
            ).scalar_one()
            await conn.execute(
                insert(GroupMember),
                [
                    {"group_id": group_id, "participant_id": ids[i], "joined_at": now}
                    for i in range(n)
                ],
            )
            return (
                await conn.execute(
                    insert(Campaign)
                    .values(
                        flow_id=FLOW,
                        groups=[GROUP],
                        status="scheduled",
                        start_at=now,
                        deadline=now + timedelta(days=1),
                        remind_after=[],
                        max_reminders=0,
                        quiet_start="00:00",
                        quiet_end="00:00",
                        texts={},
                        created_by="bench",
                        created_at=now,
                        progress_chat_id=ADMIN,
                    )
                    .returning(Campaign.id)
                )
            ).scalar_one()
    finally:
        await engine.dispose()


# --- the run -----------------------------------------------------------------------------
def proc_status(pid: int, key: str) -> int:
    """A kB figure from /proc/<pid>/status (VmHWM, VmRSS); 0 where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc); 0.0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass
class Run:
    campaign_id: int = 0
    seed_seconds: float = 0.0
    launched: float = 0.0  # time.time() when the bot process was started
    done: float = 0.0  # time.time() when every delivery was seen final
    peak_kb: int = 0
    cpu: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    blocked: set[int] = field(default_factory=set)
    unreachable: set[int] = field(default_factory=set)  # chat ids of unreachable participants


def bot_env(server: FakeBotAPI, url: str, workdir: Path, rate: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    env.update(
        BACKBONE_TELEGRAM_TOKEN=TOKEN,
        BACKBONE_TELEGRAM_API_URL=server.url,
        BACKBONE_DATABASE_URL=url,
        BACKBONE_MEDIA_DIR=str(workdir / "media"),
        BACKBONE_ADMIN_IDS=str(ADMIN),
        BACKBONE_SEND_RATE=f"{rate:g}",
        BACKBONE_WEB_PORT="0",  # no web server: the benchmark does not need one
        PYTHONUNBUFFERED="1",
    )
    return env


async def statuses(engine, campaign_id: int) -> Counter:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Delivery.status, func.count())
            .where(Delivery.campaign_id == campaign_id)
            .group_by(Delivery.status)
        )
        return Counter(dict(rows.all()))


async def wait_until_final(url: str, bot: BotProcess, run: Run, n: int, timeout: float) -> None:
    """Poll the database (a plain connection: it takes no write lock) and the bot's memory."""
    assert bot.proc is not None
    pid = bot.proc.pid
    engine = create_async_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            run.peak_kb = max(run.peak_kb, proc_status(pid, "VmHWM"))
            run.statuses = await statuses(engine, run.campaign_id)
            if sum(run.statuses.values()) >= n and set(run.statuses) <= FINAL:
                run.done = time.time()
                run.cpu = process_cpu(pid)
                return
            if bot.proc.poll() is not None:
                raise BenchError(f"the bot exited during the run:\n{bot.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise BenchError(f"timed out after {timeout:.0f} s; deliveries: {run.statuses}")
            await asyncio.sleep(POLL)
    finally:
        await engine.dispose()


async def unreachable_chats(url: str) -> set[int]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Identity.chat_id)
                .join(Participant, Participant.id == Identity.participant_id)
                .where(Participant.unreachable)
            )
            return {int(c) for (c,) in rows.all()}
    finally:
        await engine.dispose()


# --- report ------------------------------------------------------------------------------
def windows(times: list[float], width: float = 10.0) -> list[float]:
    """Messages per second in each full `width`-second window from the first send on."""
    if not times:
        return []
    start, counts = times[0], Counter()
    for t in times:
        counts[int((t - start) // width)] += 1
    full = int((times[-1] - start) // width)  # the last window is partial
    return [counts[i] / width for i in range(full)]


def peak_one_second(times: list[float]) -> int:
    """The most sends within any 1-second interval (Telegram's limit is ~30/s overall)."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def report(args: argparse.Namespace, server: FakeBotAPI, run: Run) -> str:
    people = {FIRST_PERSON + i for i in range(args.participants)}
    sends = [c for c in server.calls_of("sendMessage") if c.params.get("chat_id") in people]
    times = sorted(c.time for c in sends)
    per_chat = Counter(c.params["chat_id"] for c in sends)
    delivered = set(per_chat)
    duplicates = sum(1 for k in per_chat.values() if k > 1)
    missed = people - delivered - run.unreachable
    faults = Counter(
        f.error_code for f in server.faults if f.method == "sendMessage" and f.params.get("chat_id")
    )
    db = "PostgreSQL" if args.database == "postgres" else "SQLite"
    mode = "faults on" if args.faults else "faults off"
    lines = [
        f"campaign benchmark: {args.participants} participants, {db}, "
        f"BACKBONE_SEND_RATE={args.rate:g}, {mode}",
        f"seeding: {run.seed_seconds:.1f} s",
    ]
    if len(times) >= 2:
        span = times[-1] - times[0]
        rate = (len(times) - 1) / span if span > 0 else float("inf")
        share = rate / args.rate
        verdict = "OK" if share >= TARGET else "BELOW TARGET"
        target = "" if args.faults else f" [target ≥ {TARGET:.0%}: {verdict}]"
        lines.append(
            f"send rate: {rate:.2f} invitations/s accepted ({len(times)} sendMessage, first→last "
            f"{span:.1f} s) = {share:.1%} of the {args.rate:g}/s limit{target}"
        )
        per_window = windows(times)
        spread = (
            f"per 10 s window min {min(per_window):.1f}, median "
            f"{statistics.median(per_window):.1f}, max {max(per_window):.1f} /s; "
            if per_window
            else ""
        )
        lines.append(f"  {spread}most in any 1 s: {peak_one_second(times)}")
    else:
        lines.append(f"send rate: n/a ({len(times)} sendMessage accepted)")
    lines.append(f"bot peak memory: {run.peak_kb / 1024:.1f} MiB (VmHWM); bot CPU: {run.cpu:.1f} s")
    first = f", first invitation after {times[0] - run.launched:.1f} s" if times else ""
    lines.append(
        f"total: {run.done - run.launched:.1f} s from bot start to every delivery final{first}"
    )
    lines.append("deliveries: " + ", ".join(f"{s} {k}" for s, k in sorted(run.statuses.items())))
    if faults:
        lines.append(
            "injected on sendMessage: "
            + ", ".join(f"{code}×{k}" for code, k in sorted(faults.items()))
        )
    lines.append(
        f"delivered: {len(delivered)} chats got ≥1 invitation; "
        f"unreachable: {len(run.unreachable)} (blocked: {len(run.blocked)}"
        f"{', same people' if run.unreachable == run.blocked else ', NOT the same people'}); "
        f"duplicates: {duplicates} [target 0]; missed: {len(missed)} [target 0]"
    )
    if server.errors:
        refused = Counter(e.description for e in server.errors)
        for what, k in refused.most_common(3):
            lines.append(f"note: the fake API refused {k}× {what[:120]}")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------
async def bench(args: argparse.Namespace, workdir: Path) -> str:
    run = Run()
    async with fresh_database(args.database, args.postgres_url, workdir) as url:
        await asyncio.to_thread(upgrade, url)
        began = time.monotonic()
        run.campaign_id = await seed(url, args.participants)
        run.seed_seconds = time.monotonic() - began
        with FakeBotAPI(token=TOKEN) as server:
            server.started_user(ADMIN, "Admin", "en")
            for i in range(args.participants):
                server.started_user(FIRST_PERSON + i, f"P{i}", "en")
            if args.faults:
                rng = random.Random(args.seed)
                people = range(FIRST_PERSON, FIRST_PERSON + args.participants)
                run.blocked = set(rng.sample(people, round(BLOCKED_SHARE * args.participants)))
                for uid in run.blocked:
                    server.block(uid, notify=False)
                server.set_fault_rates(
                    rate_429=RATE_429, retry_after=1, rate_5xx=RATE_5XX, seed=args.seed
                )
            if args.telegram_limits:
                server.set_rate_limits(per_chat_per_second=1, global_per_second=30)
            bot = BotProcess(server, bot_env(server, url, workdir, args.rate), workdir)
            run.launched = time.time()
            try:
                try:
                    await asyncio.to_thread(bot.start, 120)
                except AssertionError as exc:
                    raise BenchError(str(exc)) from None
                await wait_until_final(url, bot, run, args.participants, args.timeout)
            finally:
                bot.stop()
                if "Traceback" in bot.log():
                    print(f"the bot logged errors; see {bot.log_path}", file=sys.stderr)
                    args.keep = True
            run.unreachable = await unreachable_chats(url)
            return report(args, server, run)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.campaigns", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--participants", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=30.0, help="BACKBONE_SEND_RATE (max 30)")
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="server to create the run's database on (default: %(default)s)",
    )
    ap.add_argument(
        "--faults", action="store_true", help="5%% 429 (retry_after=1), 2%% 5xx, 3%% blocked"
    )
    ap.add_argument(
        "--telegram-limits",
        action="store_true",
        help="the fake answers 429 to sends beyond 30 in any 1 s or 1/s per chat",
    )
    ap.add_argument("--seed", type=int, default=1, help="random seed for faults and blocking")
    ap.add_argument(
        "--timeout", type=float, help="seconds to wait for the sending (default: 120 + 3·N/rate)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (bot log, SQLite)")
    args = ap.parse_args(argv)
    if args.participants < 1:
        ap.error("--participants must be positive")
    if not 0 < args.rate <= 30:
        ap.error("--rate must be in (0, 30], like BACKBONE_SEND_RATE")
    if args.timeout is None:
        args.timeout = 120 + 3 * args.participants / args.rate
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_workdir(
        "bench-campaigns-", args, lambda workdir: asyncio.run(bench(args, workdir))
    )


if __name__ == "__main__":
    sys.exit(main())
