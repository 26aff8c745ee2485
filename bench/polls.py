"""Live-poll benchmark: N people vote at once in a round-table session; how does the bot hold up?

    python -m bench.polls [--participants 300] [--seconds 10] [--database sqlite|postgres]
                          [--postgres-url URL] [--seed 1] [--keep]

Runs the real `backbone run` process against the fake Bot API server (tests/fakebot) with a
fresh database that the bot migrates itself. A facilitator opens a session and a three-option
poll, N simulated people join (deep link + consent; timed separately), then all of them vote
within the window: taps spread uniformly over it, ~20% tap twice, ~20% change their vote.
Every figure comes from the fake server's records or the database; see bench/README.md.
Exit status 0 unless the run itself broke (bot did not start, a step timed out, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import math
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from bench.common import BenchError, pg_admin, run_in_workdir
from bot.services.polls import voter_key
from storage.models import Identity, Poll, Vote
from storage.repo import Database
from tests.e2e.conftest import TOKEN, BotProcess
from tests.e2e.helpers import act, onboard
from tests.fakebot import FakeBotAPI, SimUser

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1/test"
FACILITATOR = 9000
FIRST_PERSON = 100_001
QUESTION = "Which first?"
LABELS = ("A", "B", "C")
THREADS = 50  # simulated people acting at the same time; the machine has 2 cores
DOUBLE_TAP = 0.2  # share of people who tap their option twice
CHANGE = 0.2  # share of people who change their vote
QUIET = 4.0  # seconds without any Bot API call = the bot is done (results edit gap is 3 s)
STEP_TIMEOUT = 300.0  # one person's join step may wait this long in the queue


# --- database ----------------------------------------------------------------------------


@contextmanager
def fresh_database(kind: str, postgres_url: str, workdir: Path) -> Iterator[str]:
    """The URL of an empty database for this run (dropped afterwards on PostgreSQL)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'backbone.db'}"
        return
    name = f"bb_bench_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(pg_admin(postgres_url, f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        raise BenchError(f"cannot create a PostgreSQL database at {postgres_url}: {exc}") from exc
    try:
        yield f"{postgres_url.rpartition('/')[0]}/{name}"
    finally:
        asyncio.run(pg_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def bot_env(server: FakeBotAPI, url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    env.update(
        BACKBONE_TELEGRAM_TOKEN=TOKEN,
        BACKBONE_TELEGRAM_API_URL=server.url,
        BACKBONE_DATABASE_URL=url,
        BACKBONE_MEDIA_DIR=str(workdir / "media"),
        BACKBONE_ADMIN_IDS=str(FACILITATOR),
        BACKBONE_FLOOD_LIMIT="100000",  # scripted people tap faster than humans
        BACKBONE_WEB_PORT="0",  # many bots at once: no web server unless a test asks for one
        PYTHONUNBUFFERED="1",
    )
    return env


# --- the session -------------------------------------------------------------------------
@dataclass
class Setup:
    code: str
    results_message_id: int
    people: list[SimUser]
    ballots: dict[int, int]  # person id -> message id of their ballot
    join_seconds: float


def open_session_and_poll(server: FakeBotAPI) -> tuple[str, int]:
    """/session Bench, then /poll: the join code and the facilitator's results message id."""
    admin = server.user(FACILITATOR, "Facilitator", "en")
    onboard(admin, payload="", expect="")
    message = act(admin, lambda: admin.send("/session Bench"), "?start=", timeout=60)
    code = message.content.split("?start=S", 1)[1].split()[0]
    admin.wait_for(lambda m: m.kind == "photo", timeout=60)
    results = act(admin, lambda: admin.send(f"/poll {QUESTION} | {' | '.join(LABELS)}"), QUESTION)
    return code, results.message_id


def join_everyone(
    server: FakeBotAPI, code: str, results_message_id: int, n: int, pool: ThreadPoolExecutor
) -> Setup:
    """N people follow the deep link and consent; each then has the open poll's ballot."""

    def join(i: int) -> tuple[SimUser, int]:
        person = server.user(FIRST_PERSON + i, f"P{i}", "en")
        act(person, lambda: person.send(f"/start S{code}"), "/privacy", timeout=STEP_TIMEOUT)
        ballot = act(person, lambda: person.press("✅"), QUESTION, timeout=STEP_TIMEOUT)
        if [b for row in ballot.buttons for b in row] != list(LABELS):
            raise BenchError(f"person {person.id} got no ballot: {ballot}")
        return person, ballot.message_id

    started = time.monotonic()
    joined = list(pool.map(join, range(n)))
    seconds = time.monotonic() - started
    people = [p for p, _ in joined]
    return Setup(code, results_message_id, people, {p.id: mid for p, mid in joined}, seconds)


# --- voting ------------------------------------------------------------------------------
@dataclass
class Plan:
    """One person's taps: (seconds after the window opens, button label)."""

    person: SimUser
    taps: list[tuple[float, str]]


def plan_votes(people: list[SimUser], window: float, rng: random.Random) -> list[Plan]:
    plans = []
    scale = min(1.0, window / 10)  # a short window squeezes how long people take to tap again
    for person in people:
        first = rng.choice(LABELS)
        taps = [(0.0, first)]
        if rng.random() < DOUBLE_TAP:
            taps.append((rng.uniform(0.1, 0.4) * scale, first))
        if rng.random() < CHANGE:
            other = rng.choice([label for label in LABELS if label != first])
            taps.append((taps[-1][0] + rng.uniform(0.5, 2.0) * scale, other))
        span = taps[-1][0]
        start = rng.uniform(0.0, max(0.0, window - span - 0.05))
        plans.append(Plan(person, [(start + offset, label) for offset, label in taps]))
    plans.sort(key=lambda p: p.taps[0][0])
    return plans


@dataclass
class Tap:
    query_id: str
    person_id: int
    label: str


@dataclass
class Voting:
    taps: list[Tap] = field(default_factory=list)
    final: dict[int, str] = field(default_factory=dict)  # person id -> last label tapped
    wall_start: float = 0.0
    wall_end: float = 0.0
    max_slip: float = 0.0  # how late a tap went out against its schedule (overloaded runner)
    # CPU seconds from the window's start until the last tap was acknowledged, of the bot
    # process and of this one (fake server + simulated people), and that period's length.
    bot_cpu: float = 0.0
    own_cpu: float = 0.0
    busy: float = 0.0
    machine: tuple[int, int] = (0, 0)  # (busy, all) CPU ticks of the whole machine, /proc/stat


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc); 0.0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def machine_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine since boot (Linux); (0, 0) elsewhere."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)  # minus idle and iowait


def vote(
    setup: Setup, plans: list[Plan], window: float, pool: ThreadPoolExecutor, bot_pid: int
) -> Voting:
    """Everyone taps on schedule. This thread sleeps until the next tap is due and hands it to
    the pool (workers only tap, never wait); a person's next tap is queued only once their
    previous one went out, so each person's taps reach the bot in order."""
    result = Voting()
    cond = threading.Condition()
    total = sum(len(plan.taps) for plan in plans)
    done: list[BaseException | None] = []
    start = time.monotonic() + 0.2
    due = [(start + plan.taps[0][0], i, 0) for i, plan in enumerate(plans)]
    heapq.heapify(due)

    def tap(i: int, k: int, at: float) -> None:
        plan = plans[i]
        label = plan.taps[k][1]
        error: BaseException | None = None
        try:
            qid = plan.person.press(label, setup.ballots[plan.person.id])
        except BaseException as exc:  # reported by the dispatcher
            error = exc
        with cond:
            if error is None:
                result.max_slip = max(result.max_slip, time.monotonic() - at)
                result.taps.append(Tap(qid, plan.person.id, label))
                result.final[plan.person.id] = label
                if k + 1 < len(plan.taps):
                    heapq.heappush(due, (start + plan.taps[k + 1][0], i, k + 1))
            done.append(error)
            cond.notify()

    cpu_bot, cpu_own = process_cpu(bot_pid), time.process_time()
    result.machine = machine_ticks()
    result.wall_start = time.time() + (start - time.monotonic())
    with cond:
        while len(done) < total:
            now = time.monotonic()
            if due and due[0][0] <= now:
                at, i, k = heapq.heappop(due)
                pool.submit(tap, i, k, at)
                continue
            cond.wait(due[0][0] - now if due else None)
    errors = [e for e in done if e is not None]
    if errors:
        raise BenchError(f"{len(errors)} taps failed; the first: {errors[0]}")
    leftover = start + window - time.monotonic()
    if leftover > 0:
        time.sleep(leftover)
    result.wall_end = time.time()
    result.bot_cpu, result.own_cpu = cpu_bot, cpu_own  # made differences by wait_for_answers
    return result


def wait_for_answers(server: FakeBotAPI, voting: Voting, timeout: float, bot: BotProcess) -> None:
    """Until every tap was acknowledged (or timeout), then until the bot has gone quiet."""
    assert bot.proc is not None
    bot_pid = bot.proc.pid
    ids = {t.query_id for t in voting.taps}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.proc.poll() is not None:
            raise BenchError(f"the bot exited during the run:\n{bot.log()[-3000:]}")
        with server._lock:
            open_ = sum(1 for qid in ids if not server.callback_queries[qid].answered)
        if open_ == 0:
            break
        time.sleep(0.05)
    voting.busy = max(time.time(), voting.wall_end) - voting.wall_start
    voting.bot_cpu = process_cpu(bot_pid) - voting.bot_cpu
    voting.own_cpu = time.process_time() - voting.own_cpu
    busy, total = machine_ticks()
    voting.machine = (busy - voting.machine[0], total - voting.machine[1])
    try:
        server.wait_idle(timeout=max(1.0, deadline - time.monotonic()), quiet=QUIET)
    except AssertionError as exc:
        raise BenchError(str(exc)) from None


# --- figures -----------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms_summary(values: list[float]) -> str:
    """Latencies in ms as `p50 … · p95 … · max … ms` ("none" for none)."""
    if not values:
        return "none"
    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
    return f"p50 {p50:.0f} · p95 {p95:.0f} · max {max(values):.0f} ms"


async def _stored(url: str, person_ids: list[int]):
    db = Database(url)
    try:
        async with db.transaction() as repo:
            polls = list((await repo.session.scalars(select(Poll))).all())
            votes = list((await repo.session.scalars(select(Vote))).all())
            rows = await repo.session.execute(
                select(Identity.telegram_user_id, Identity.participant_id).where(
                    Identity.telegram_user_id.in_(person_ids)
                )
            )
            return polls, votes, dict(rows.all())
    finally:
        await db.dispose()


def check_votes(url: str, voting: Voting) -> tuple[int, str]:
    """Rows in the votes table, and whether each person's last choice is stored exactly once."""
    polls, votes, participant_of = asyncio.run(_stored(url, list(voting.final)))
    if len(polls) != 1:
        return len(votes), f"no ({len(polls)} polls in the database)"
    poll = polls[0]
    code_of = {label: code for code, label in poll.spec["options"].items()}
    by_key: dict[str, list[Vote]] = {}
    for v in votes:
        by_key.setdefault(v.voter_key, []).append(v)
    missing = wrong = doubled = 0
    for person_id, label in voting.final.items():
        pid = participant_of.get(person_id)
        mine = by_key.pop(voter_key(poll, f"p{pid}"), []) if pid is not None else []
        if not mine:
            missing += 1
        elif len(mine) > 1:
            doubled += 1
        elif mine[0].value != [code_of[label]]:
            wrong += 1
    extra = sum(len(v) for v in by_key.values())
    if missing == wrong == doubled == extra == 0:
        return len(votes), "yes"
    return len(votes), (
        f"no ({missing} missing, {wrong} not the last choice, {doubled} doubled, "
        f"{extra} unaccounted for)"
    )


def report(
    args: argparse.Namespace, server: FakeBotAPI, setup: Setup, voting: Voting, url: str
) -> str:
    stored, exactly_once = check_votes(url, voting)
    calls = server.calls
    offset = time.time() - time.monotonic()  # the fake records taps on the monotonic clock
    answered_at = {
        c.params["callback_query_id"]: c.time for c in calls if c.method == "answerCallbackQuery"
    }
    with server._lock:
        queries = {t.query_id: server.callback_queries[t.query_id] for t in voting.taps}
    latencies = [
        (answered_at[qid] - (q.created + offset)) * 1000
        for qid, q in queries.items()
        if qid in answered_at
    ]
    alerts = sum(1 for q in queries.values() if q.answer and q.answer["show_alert"])
    edits = sorted(
        c.time
        for c in calls
        if c.method == "editMessageText"
        and str(c.params.get("chat_id")) == str(FACILITATOR)
        and c.params.get("message_id") == setup.results_message_id
        and c.time >= voting.wall_start
    )
    span = max(voting.wall_end, edits[-1] if edits else 0.0) - voting.wall_start
    gaps = [b - a for a, b in zip(edits, edits[1:], strict=False)]
    n, window = args.participants, args.seconds
    lines = [
        f"participants {n} · window {window:g} s · database {args.database}",
        f"joined {len(setup.people)} in {setup.join_seconds:.1f} s "
        f"({len(setup.people) / setup.join_seconds:.1f} joins/s, not part of the window)",
        f"votes cast {len(voting.final)} · stored {stored} · exactly once: {exactly_once}",
        f"taps {len(voting.taps)} · acknowledged {len(latencies)} · "
        f"{len(latencies) / window:.1f} taps/s" + (f" · {alerts} refused" if alerts else ""),
    ]
    if latencies:
        lines.append(
            f"tap→ack latency ms: p50 {percentile(latencies, 0.5):.0f} · "
            f"p95 {percentile(latencies, 0.95):.0f} · max {max(latencies):.0f}"
        )
    else:
        lines.append("tap→ack latency ms: no tap was acknowledged")
    lines.append(
        f"results edits: {len(edits)} in {span:.0f} s ({len(edits) / span * 60:.0f}/min)"
        + (f" · min gap {min(gaps):.1f} s" if gaps else "")
    )
    lines.append(
        f"cpu from first tap to last ack ({voting.busy:.1f} s): "
        f"bot {voting.bot_cpu / voting.busy:.0%} · "
        f"fake API + people {voting.own_cpu / voting.busy:.0%} (100% = one core)"
    )
    if voting.machine[1]:
        lines.append(
            f"machine: {os.cpu_count()} cores, {voting.machine[0] / voting.machine[1]:.0%} busy "
            "meanwhile (everything: bot, fake API, database, other work)"
        )
    if voting.max_slip > 0.25:
        lines.append(f"note: taps went out up to {voting.max_slip:.2f} s late (runner overloaded)")
    refused = Counter(f"{e.method}: {e.description}" for e in server.errors)
    for what, count in refused.most_common(3):
        lines.append(f"note: over the whole run the fake API refused {count}× {what[:100]}")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------
@contextmanager
def running_bot(
    args: argparse.Namespace, workdir: Path, env: dict[str, str] | None = None
) -> Iterator[tuple]:
    """A fresh database, the fake Bot API and `backbone run` against them: (server, bot, url).
    `env` adds or overrides BACKBONE_ settings. A simulated person's timeout becomes a
    BenchError; a bot that logged a traceback keeps the temp dir (`args.keep`)."""
    with (
        fresh_database(args.database, args.postgres_url, workdir) as url,
        FakeBotAPI(token=TOKEN) as server,
    ):
        bot = BotProcess(server, {**bot_env(server, url, workdir), **(env or {})}, workdir)
        try:
            try:
                bot.start(timeout=120)
            except AssertionError as exc:
                raise BenchError(str(exc)) from None
            yield server, bot, url
        except AssertionError as exc:  # a wait_for of a simulated person timed out
            raise BenchError(str(exc)[-3000:]) from None
        finally:
            bot.stop()
            if "Traceback" in bot.log():
                print(f"the bot logged errors; see {bot.log_path}", file=sys.stderr)
                args.keep = True


def bench(args: argparse.Namespace, workdir: Path) -> str:
    with running_bot(args, workdir) as (server, bot, url):
        with ThreadPoolExecutor(THREADS, thread_name_prefix="person") as pool:
            code, results_message_id = open_session_and_poll(server)
            setup = join_everyone(server, code, results_message_id, args.participants, pool)
            server.wait_idle(timeout=STEP_TIMEOUT, quiet=QUIET)
            plans = plan_votes(setup.people, args.seconds, random.Random(args.seed))
            assert bot.proc is not None
            voting = vote(setup, plans, args.seconds, pool, bot.proc.pid)
        wait_for_answers(server, voting, STEP_TIMEOUT, bot)
        return report(args, server, setup, voting, url)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.polls", description=__doc__.split("\n")[0])
    ap.add_argument("--participants", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=10.0, help="voting window")
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="server to create the run's database on (default: %(default)s)",
    )
    ap.add_argument("--seed", type=int, default=1, help="random seed for who taps what when")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (bot log, SQLite)")
    args = ap.parse_args(argv)
    if args.participants < 1 or args.seconds <= 0:
        ap.error("--participants and --seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_workdir("bench-polls-", args, lambda workdir: bench(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
