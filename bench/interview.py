"""CPU per interview answer: N people answer typed questions at once, beside a bare PTB echo bot.

    python -m bench.interview [--participants 120] [--questions 8] [--database sqlite|postgres]
                              [--postgres-url URL] [--send-rate 30] [--seed 1] [--keep]

Runs the real `backbone run` process against the fake Bot API server (tests/fakebot) with a
flow of typed questions written to a temp flows dir. N people onboard (not measured), then
all answer the first question at once and each answers the next one 0.5–2 s after it arrives,
with a sentence that ends in a period (the short merge window). The bot's CPU time
(/proc/<pid>/stat) over that phase ÷ answers is set beside a bare python-telegram-bot echo bot
(bench/echo.py) on a second fake server that gets the same messages from N people at the
same moments, in the same run: its CPU ÷ echoes. See bench/README.md.
Exit status 0 unless the run itself broke.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import itertools
import os
import random
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BenchError, anchor_process, run_in_workdir
from bench.polls import (
    DEFAULT_POSTGRES_URL,
    machine_ticks,
    ms_summary,
    process_cpu,
    running_bot,
)
from bench.profile import Sampler, summary
from tests.e2e.conftest import TOKEN
from tests.e2e.helpers import answers, onboard
from tests.fakebot import FakeBotAPI, SimUser

FLOW_ID = "bench-interview"
FIRST_PERSON = 400_001
THREADS = 50  # people onboarding at the same time
GAP = (0.5, 2.0)  # seconds from a question arriving to its answer
FIRST_SPREAD = 0.5  # the first answers go out within this many seconds: "at once"
QUIET = 4.0  # seconds without any Bot API call = the bot is done
IDLE = 3.0  # seconds of doing nothing, to show what a process costs with nobody writing
TIMEOUT = 300.0
PHRASES = (
    "It went well, I learned a lot",
    "Not much changed since last time",
    "I talked to my teacher about it",
    "My plan is an apprenticeship",
    "I am still looking for an internship",
    "The job fair helped me",
)


def write_flow(flows_dir: Path, questions: int) -> None:
    """A flow of `questions` typed questions, each marked "(k/K)" so a person knows it."""
    steps = "".join(
        f"  - id: q{k}\n    type: text\n"
        f'    text: "({k}/{questions}) What happened on day {k} of your week?"\n'
        for k in range(1, questions + 1)
    )
    flows_dir.mkdir(parents=True, exist_ok=True)
    (flows_dir / f"{FLOW_ID}.yaml").write_text(
        f'id: {FLOW_ID}\ntitle: Bench interview\nversion: "1"\nlanguage: en\nsteps:\n{steps}',
        encoding="utf-8",
    )


@dataclass
class Person:
    """One person and what happened to them in the answering phase."""

    index: int
    user: SimUser
    sent: list[float] = field(default_factory=list)  # time.time() of each answer
    texts: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # bot messages since the phase began

    def next_answer(self, rng: random.Random) -> str:
        """A short sentence ending in a period: it reads as finished (short merge window)."""
        return f"P{self.index} q{len(self.texts) + 1}: {rng.choice(PHRASES)}."


@dataclass
class Phase:
    """The answering phase: wall clock, CPU seconds of the bot (or anchor) and of this
    process, the machine's (busy, all) ticks, how late answers went out."""

    wall_start: float = 0.0
    wall_end: float = 0.0
    cpu: float = 0.0
    main_cpu: float = 0.0  # of that, the main thread's (the event loop)
    idle: float = 0.0  # share of a core the process used just before, with nobody writing
    calls: Counter = field(default_factory=Counter)  # Bot API calls made meanwhile, by method
    own_cpu: float = 0.0
    machine: tuple[int, int] = (0, 0)
    max_slip: float = 0.0

    @property
    def seconds(self) -> float:
        return max(1e-9, self.wall_end - self.wall_start)


def thread_cpu(pid: int, tid: int) -> float:
    """User + system CPU seconds of one thread of a process (Linux); 0.0 where unavailable."""
    try:
        stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def idle_cpu(pid: int, seconds: float = IDLE) -> float:
    """Share of a core the process uses while nobody writes (its timers, its long poll)."""
    before = process_cpu(pid)
    time.sleep(seconds)
    return (process_cpu(pid) - before) / seconds


class Player:
    """Plays everyone from one thread: sends an answer when it is due, and (reacting) queues
    a person's next answer 0.5–2 s after the bot's reply arrives. With a fixed schedule it
    replays the given moments instead (the anchor gets the bot run's load)."""

    def __init__(self, server: FakeBotAPI, people: list[Person], questions: int, seed: int):
        self.server, self.people, self.questions = server, people, questions
        self.rng = random.Random(seed)
        self.by_chat = {p.user.chat_id: p for p in people}
        self.due: list[tuple[float, int, Person]] = []
        self.counter = itertools.count()
        self.react = True

    def later(self, at: float, person: Person) -> None:
        """Queue the person's next answer for `at` (monotonic)."""
        heapq.heappush(self.due, (at, next(self.counter), person))

    def _observe(self, seen: int, now: float) -> int:
        events = self.server._events[seen:]
        for _seq, chat_id, message_id, kind in events:
            person = self.by_chat.get(chat_id)
            if person is None or kind != "new":
                continue
            message = self.server.chats[chat_id].messages[message_id]
            if not message.from_bot:
                continue
            person.replies.append(message.text or "")
            if self.react and len(person.replies) < self.questions:
                self.later(now + self.rng.uniform(*GAP), person)
        return seen + len(events)

    def play(self, pid: int, schedule: list[tuple[float, Person]] | None = None) -> Phase:
        """Until every person has a reply to each of their answers; CPU of `pid` meanwhile."""
        start = time.monotonic() + 0.3
        if schedule is None:
            for person in self.people:
                self.later(start + self.rng.uniform(0, FIRST_SPREAD), person)
        else:
            self.react = False
            for offset, person in schedule:
                self.later(start + offset, person)
        phase = Phase(cpu=process_cpu(pid), own_cpu=time.process_time(), machine=machine_ticks())
        phase.main_cpu = thread_cpu(pid, pid)
        phase.wall_start = time.time() + (start - time.monotonic())
        with self.server._cond:
            seen = len(self.server._events)
            while not all(len(p.replies) >= self.questions for p in self.people):
                now = time.monotonic()
                if now > start + TIMEOUT:
                    raise BenchError(self._stuck())
                seen = self._observe(seen, now)
                while self.due and self.due[0][0] <= now:
                    at, _n, person = heapq.heappop(self.due)
                    phase.max_slip = max(phase.max_slip, now - at)
                    text = person.next_answer(self.rng)
                    person.texts.append(text)
                    person.sent.append(time.time())
                    person.user.send(text)
                wait = self.due[0][0] - time.monotonic() if self.due else 0.2
                self.server._cond.wait(max(0.0, min(wait, 0.2)))
        phase.wall_end = time.time()
        phase.cpu = process_cpu(pid) - phase.cpu
        phase.main_cpu = thread_cpu(pid, pid) - phase.main_cpu
        phase.own_cpu = time.process_time() - phase.own_cpu
        busy, total = machine_ticks()
        phase.machine = (busy - phase.machine[0], total - phase.machine[1])
        return phase

    def _stuck(self) -> str:
        waiting = [p for p in self.people if len(p.replies) < self.questions]
        return (
            f"{len(waiting)} people still wait for a reply after {TIMEOUT:.0f} s; "
            f"the first: {waiting[0].user.transcript()[-1500:]}"
        )


# --- figures from the fake server's records and the database --------------------------------
def reply_latencies(server: FakeBotAPI, people: list[Person]) -> list[float]:
    """Milliseconds from each answer to the bot's next accepted send in that chat."""
    out = []
    for person in people:
        sends = server.send_times(person.user.chat_id)
        for at in person.sent:
            i = bisect.bisect_right(sends, at)
            if i < len(sends):
                out.append((sends[i] - at) * 1000)
    return out


def send_peak(server: FakeBotAPI, phase: Phase) -> tuple[int, int]:
    """Accepted sends in the phase, and the most within any 1 s."""
    times = [t for t, _chat in server.all_send_times() if phase.wall_start <= t <= phase.wall_end]
    most = max((bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times)), default=0)
    return len(times), most


def count_calls(server: FakeBotAPI, phase: Phase) -> None:
    """The accepted Bot API calls the fake received in the phase, by method."""
    phase.calls = Counter(
        c.method for c in server.calls if phase.wall_start <= c.time <= phase.wall_end
    )


def wrong_replies(people: list[Person], questions: int) -> int:
    """Replies that are not the next question (or the closing thanks after the last)."""
    wrong = 0
    for person in people:
        for k, text in enumerate(person.replies[:questions], start=2):
            if k <= questions and f"({k}/{questions})" not in text:
                wrong += 1
    return wrong


def check_answers(url: str, people: list[Person]) -> str:
    """Whether every answer is stored exactly once, for its question, in its person's run."""
    expected = {text: (p.index, f"q{k}") for p in people for k, text in enumerate(p.texts, start=1)}
    rows = answers(url)
    seen = Counter(row["value"] for row in rows)
    missing = sum(1 for text in expected if seen[text] == 0)
    doubled = sum(1 for text in expected if seen[text] > 1)
    wrong = sum(
        1 for r in rows if r["value"] in expected and expected[r["value"]][1] != r["step_id"]
    )
    extra = sum(1 for r in rows if r["value"] not in expected)
    owners: dict[int, set[int]] = {}
    for r in rows:
        if r["value"] in expected:
            owners.setdefault(r["run_id"], set()).add(expected[r["value"]][0])
    mixed = sum(1 for who in owners.values() if len(who) > 1)
    verdict = "yes"
    if missing or doubled or wrong or extra or mixed or len(owners) != len(people):
        verdict = (
            f"no ({missing} missing, {doubled} doubled, {wrong} under another question, "
            f"{extra} unaccounted for, {mixed} runs mixing people, {len(owners)} runs)"
        )
    return f"{len(rows)} · exactly once: {verdict}"


# --- the real bot ------------------------------------------------------------------------
@dataclass
class BotRun:
    people: list[Person]
    phase: Phase
    onboarding: float
    latencies: list[float]
    sends: tuple[int, int]
    stored: str
    wrong: int
    refused: Counter


def bot_run(args: argparse.Namespace, workdir: Path) -> BotRun:
    """The real bot: onboard everyone, then the answering phase; its figures."""
    flows = workdir / "flows"
    write_flow(flows, args.questions)
    env = {
        "BACKBONE_FLOWS_DIR": str(flows),
        "BACKBONE_SEND_RATE": f"{args.send_rate:g}",
        "BACKBONE_TEXT_MERGE_SECONDS": f"{args.merge_seconds:g}",
    }
    first = f"(1/{args.questions})"
    with running_bot(args, workdir, env) as (server, bot, url):
        users = [server.user(FIRST_PERSON + i, f"P{i}", "en") for i in range(args.participants)]
        started = time.monotonic()
        with ThreadPoolExecutor(THREADS, thread_name_prefix="person") as pool:
            list(pool.map(lambda u: onboard(u, FLOW_ID, first), users))
        onboarding = time.monotonic() - started
        server.wait_idle(timeout=TIMEOUT, quiet=QUIET)
        idle = idle_cpu(bot.proc.pid)
        people = [Person(i, u) for i, u in enumerate(users)]
        sampler = Sampler(bot.proc.pid, workdir / "bot.pyspy") if args.profile else None
        if sampler:
            sampler.start()
        phase = Player(server, people, args.questions, args.seed).play(bot.proc.pid)
        phase.idle = idle
        if sampler:
            sampler.stop()
        latencies = reply_latencies(server, people)
        sends = send_peak(server, phase)
        try:
            server.wait_idle(timeout=TIMEOUT, quiet=QUIET)
        except AssertionError as exc:
            raise BenchError(str(exc)) from None
        if bot.proc.poll() is not None:
            raise BenchError(f"the bot exited during the run:\n{bot.log()[-3000:]}")
        count_calls(server, phase)
        refused = Counter(f"{e.method}: {e.description}"[:100] for e in server.errors)
        stored = check_answers(url, people)
    wrong = wrong_replies(people, args.questions)
    return BotRun(people, phase, onboarding, latencies, sends, stored, wrong, refused)


# --- the anchor --------------------------------------------------------------------------
def anchor_run(run: BotRun, questions: int, workdir: Path) -> tuple[Phase, list[float]]:
    """The bare PTB echo bot gets the bot run's messages at the same moments (offsets from the
    phase's start) from as many people: its phase and answer → echo latencies (ms)."""
    with (
        FakeBotAPI(token=TOKEN) as server,
        anchor_process("bench.echo", server.url, TOKEN, workdir / "echo.log") as proc,
    ):
        try:
            server.wait_polling(60)
            users = [server.user(FIRST_PERSON + p.index, f"P{p.index}", "en") for p in run.people]
            people = [Person(p.index, u) for p, u in zip(run.people, users, strict=True)]
            schedule = [
                (at - run.phase.wall_start, person)
                for original, person in zip(run.people, people, strict=True)
                for at in original.sent
            ]
            idle = idle_cpu(proc.pid)  # also lets its start-up settle
            phase = Player(server, people, questions, seed=0).play(proc.pid, schedule)
            phase.idle = idle
            time.sleep(0.2)  # the last echo's call is recorded just after it arrives
            count_calls(server, phase)
            return phase, reply_latencies(server, people)
        except AssertionError as exc:
            raise BenchError(str(exc)) from None


# --- report ------------------------------------------------------------------------------


def _per_answer(calls: Counter, n: int) -> str:
    return ", ".join(f"{method} {count / n:.2f}" for method, count in calls.most_common())


def _busy(phase: Phase) -> str:
    busy, total = phase.machine
    return f"{busy / total:.0%}" if total else "?"


def report(args: argparse.Namespace, run: BotRun, anchor: Phase, echo_ms: list[float]) -> str:
    """The figures, one line each (see bench/README.md)."""
    n_answers = sum(len(p.sent) for p in run.people)
    phase = run.phase
    per_answer = phase.cpu / n_answers * 1000
    per_echo = anchor.cpu / n_answers * 1000
    ratio = per_answer / per_echo if per_echo else float("inf")
    window = args.merge_seconds / 3
    sends, most = run.sends
    lines = [
        f"interview: {args.participants} people × {args.questions} typed questions, all at "
        f"once, each answer 0.5–2 s after its question · database {args.database} · send rate "
        f"{args.send_rate:g}/s · merge window {args.merge_seconds:g} s ({window:g} s after an "
        "answer ending in '.')",
        f"onboarded {len(run.people)} in {run.onboarding:.1f} s (not measured)",
        f"answers {n_answers} · stored {run.stored}",
        f"answers/s {n_answers / phase.seconds:.1f} over {phase.seconds:.1f} s · bot sends "
        f"{sends / phase.seconds:.1f}/s, most in any 1 s {most} (Telegram's ceiling 30/s)",
        f"answer → next question: {ms_summary(run.latencies)} (includes the {window:g} s window)",
        f"bot CPU per answer: {per_answer:.2f} ms (event loop thread "
        f"{phase.main_cpu / n_answers * 1000:.2f} ms, other threads "
        f"{(phase.cpu - phase.main_cpu) / n_answers * 1000:.2f} ms) · {phase.cpu:.2f} s CPU, "
        f"{phase.cpu / phase.seconds:.0%} of a core",
        f"anchor, bare python-telegram-bot echo, the same {n_answers} messages at the same "
        f"moments: CPU per echo {per_echo:.2f} ms (event loop thread "
        f"{anchor.main_cpu / n_answers * 1000:.2f} ms) · answer → echo "
        f"{ms_summary(echo_ms)}",
        f"Bot API calls per answer: bot {_per_answer(phase.calls, n_answers)} · echo "
        f"{_per_answer(anchor.calls, n_answers)}",
        f"ratio bot ÷ echo: {ratio:.2f}× (target ≤ 3×)",
        f"idle, nobody writing ({IDLE:g} s before each phase): bot {phase.idle:.1%} of a core, "
        f"echo {anchor.idle:.1%}",
        f"fake API + people CPU: {phase.own_cpu / phase.seconds:.0%} of a core with the bot, "
        f"{anchor.own_cpu / anchor.seconds:.0%} with the anchor",
        f"machine: {os.cpu_count()} cores, {_busy(phase)} busy during the bot's phase, "
        f"{_busy(anchor)} during the anchor's (everything: bot, fake API, database, other work)",
    ]
    if run.wrong:
        lines.append(f"note: {run.wrong} replies were not the next question")
    for slip, who in ((phase.max_slip, "bot"), (anchor.max_slip, "anchor")):
        if slip > 0.25:
            lines.append(f"note: {who} run: answers went out up to {slip:.2f} s late")
    for what, count in run.refused.most_common(3):
        lines.append(f"note: the fake API refused {count}× {what}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, checked."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.interview", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--participants", type=int, default=120)
    ap.add_argument("--questions", type=int, default=8, help="typed questions per person")
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="server to create the run's database on (default: %(default)s)",
    )
    ap.add_argument("--send-rate", type=float, default=30.0, help="BACKBONE_SEND_RATE (≤ 30)")
    ap.add_argument("--merge-seconds", type=float, default=3.0, help="BACKBONE_TEXT_MERGE_SECONDS")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (bot log, SQLite)")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="sample the bot with py-spy during the answers (needs py-spy; slows it a little)",
    )
    args = ap.parse_args(argv)
    if args.participants < 1 or args.questions < 1:
        ap.error("--participants and --questions must be positive")
    if not 0 < args.send_rate <= 30 or not 0 <= args.merge_seconds <= 60:
        ap.error("--send-rate must be in (0, 30], --merge-seconds in [0, 60]")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the bot, then the anchor, and print the figures; 0 unless the run broke."""
    args = parse_args(argv)

    def run(workdir: Path) -> str:
        bot = bot_run(args, workdir)
        anchor, echo_ms = anchor_run(bot, args.questions, workdir)
        figures = report(args, bot, anchor, echo_ms)
        if args.profile:
            figures += "\n" + summary(workdir / "bot.pyspy")
            args.keep = True  # the raw stacks stay for a flame graph
        return figures

    return run_in_workdir("bench-interview-", args, run)


if __name__ == "__main__":
    sys.exit(main())
