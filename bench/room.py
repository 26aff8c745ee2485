"""A round table as it really happens: people join while others already vote.

    python -m bench.room [--participants 300] [--join-seconds 20] [--database sqlite|postgres]
                         [--postgres-url URL] [--seed 1] [--keep]

Runs the real `backbone run` process against the fake Bot API server (tests/fakebot). A
facilitator opens a session; N people follow the deep link at times spread over
`--join-seconds`, each taps the consent button 0.5–1.5 s after the privacy notice arrives;
half-way through the joining the facilitator opens a three-option poll; each person taps an
option 1–3 s after their ballot arrives (late joiners get it on joining). In the same run, on a
second fake server, a bare python-telegram-bot (bench/anchor.py: no storage, no pacing) gets N
simultaneous taps: the anchor for the tap → acknowledgement figures. See bench/README.md.
Exit status 0 unless the run itself broke.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from bench.common import BenchError, anchor_process, run_in_workdir
from bench.polls import DEFAULT_POSTGRES_URL, FACILITATOR, check_votes, ms_summary, running_bot
from bench.polls import percentile as pct
from tests.e2e.conftest import TOKEN
from tests.e2e.helpers import act, onboard
from tests.fakebot import FakeBotAPI, SimUser

FIRST_PERSON = 300_001
QUESTION = "Which transition problem first?"
LABELS = ("Information", "Matching", "Mentoring")
QUIET = 4.0
TIMEOUT = 300.0


@dataclass
class Person:
    """One person in the room and what happened to them (monotonic seconds)."""

    user: SimUser
    join_at: float
    choice: str
    started: float | None = None  # sent /start S<code>
    notice: float | None = None  # the privacy notice arrived
    ballot: float | None = None  # the ballot arrived
    ballot_id: int | None = None
    query_id: str | None = None  # their vote tap
    messages_before_ballot: int = 0


@dataclass
class Scene:
    people: list[Person]
    poll_sent: float = 0.0
    seen: int = 0  # how many of the fake server's events were looked at
    actions: list = field(default_factory=list)  # heap of (due, n, kind, person, message id)
    counter: itertools.count = field(default_factory=itertools.count)

    def later(self, due: float, kind: str, person: Person | None, message_id: int = 0) -> None:
        heapq.heappush(self.actions, (due, next(self.counter), kind, person, message_id))


def _labels(msg) -> list[str]:
    markup = msg.reply_markup or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def _observe(server: FakeBotAPI, scene: Scene, by_chat: dict[int, Person], now: float, rng):
    """React to what the bot just sent: read the notice, then the ballot, like a person."""
    events = server._events[scene.seen :]
    scene.seen += len(events)
    for _seq, chat_id, message_id, kind in events:
        person = by_chat.get(chat_id)
        if person is None or kind not in ("new", "edit"):
            continue
        msg = server.chats[chat_id].messages[message_id]
        labels = _labels(msg)
        if person.notice is None and any(label.startswith("✅") for label in labels):
            person.notice = now
            scene.later(now + rng.uniform(0.5, 1.5), "consent", person, message_id)
        elif person.ballot is None and msg.text and QUESTION in msg.text and labels == list(LABELS):
            person.ballot, person.ballot_id = now, message_id
            bot_messages = [m for m in server.chats[chat_id].messages.values() if m.from_bot]
            person.messages_before_ballot = len(bot_messages)
            scene.later(now + rng.uniform(1.0, 3.0), "vote", person, message_id)


def _act(scene: Scene, kind: str, person: Person | None, message_id: int, code: str, admin):
    if kind == "poll":
        scene.poll_sent = time.monotonic()
        admin.send(f"/poll {QUESTION} | {' | '.join(LABELS)}")
    elif kind == "join":
        person.started = time.monotonic()
        person.user.send(f"/start S{code}")
    elif kind == "consent":
        person.user.press("✅", message_id)
    else:
        person.query_id = person.user.press(person.choice, message_id)


def play(server: FakeBotAPI, scene: Scene, code: str, admin, poll_at: float, seed: int) -> None:
    """Drive everyone from one thread: act when an action is due, react to what arrives."""
    rng = random.Random(seed + 1)
    start = time.monotonic() + 0.5
    for person in scene.people:
        scene.later(start + person.join_at, "join", person)
    scene.later(start + poll_at, "poll", None)
    by_chat = {p.user.chat_id: p for p in scene.people}
    deadline = start + TIMEOUT
    with server._cond:
        scene.seen = len(server._events)
        while not all(p.query_id for p in scene.people):
            now = time.monotonic()
            if now > deadline:
                missing = sum(1 for p in scene.people if not p.query_id)
                raise BenchError(f"{missing} people never got to vote within {TIMEOUT:.0f} s")
            _observe(server, scene, by_chat, now, rng)
            while scene.actions and scene.actions[0][0] <= now:
                _due, _n, kind, person, message_id = heapq.heappop(scene.actions)
                _act(scene, kind, person, message_id, code, admin)
            wait = scene.actions[0][0] - time.monotonic() if scene.actions else 0.2
            server._cond.wait(max(0.0, min(wait, 0.2)))


def ack_latencies(server: FakeBotAPI, query_ids: list[str]) -> list[float]:
    """Milliseconds from each tap reaching the fake server to its answerCallbackQuery."""
    offset = time.time() - time.monotonic()
    answered = {
        c.params["callback_query_id"]: c.time
        for c in server.calls
        if c.method == "answerCallbackQuery"
    }
    with server._lock:
        created = {qid: server.callback_queries[qid].created for qid in query_ids}
    return [(answered[q] - (created[q] + offset)) * 1000 for q in query_ids if q in answered]


def wait_acked(server: FakeBotAPI, query_ids: list[str], timeout: float) -> None:
    """Until every tap was answered (or timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with server._lock:
            if all(server.callback_queries[q].answered for q in query_ids):
                return
        time.sleep(0.05)


# --- the real bot ------------------------------------------------------------------------
def room(args: argparse.Namespace, workdir: Path) -> tuple[Scene, list[float], str]:
    rng = random.Random(args.seed)
    with running_bot(args, workdir) as (server, _bot, url):
        admin = server.user(FACILITATOR, "Facilitator", "en")
        onboard(admin, payload="", expect="")
        message = act(admin, lambda: admin.send("/session Room"), "?start=", timeout=60)
        code = message.content.split("?start=S", 1)[1].split()[0]
        server.wait_idle(timeout=60, quiet=1.0)
        people = [
            Person(
                server.user(FIRST_PERSON + i, f"P{i}", "en"),
                rng.uniform(0, args.join_seconds),
                rng.choice(LABELS),
            )
            for i in range(args.participants)
        ]
        scene = Scene(people)
        play(server, scene, code, admin, args.join_seconds / 2, args.seed)
        query_ids = [p.query_id for p in people]
        wait_acked(server, query_ids, TIMEOUT)
        latencies = ack_latencies(server, query_ids)
        server.wait_idle(timeout=TIMEOUT, quiet=QUIET)
        final = SimpleNamespace(final={p.user.id: p.choice for p in people})
        stored, exactly_once = check_votes(url, final)
        return scene, latencies, f"{stored} · exactly once: {exactly_once}"


# --- the anchor --------------------------------------------------------------------------
def anchor(n: int, workdir: Path) -> list[float]:
    """A bare PTB bot answering n simultaneous taps: tap → ack latencies (ms)."""
    with (
        FakeBotAPI(token=TOKEN) as server,
        anchor_process("bench.anchor", server.url, TOKEN, workdir / "anchor.log"),
    ):
        server.wait_polling(60)
        users = [server.user(FIRST_PERSON + i, f"P{i}", "en") for i in range(n)]
        for user in users:
            user.send("/start")
        for user in users:
            user.wait_for("Tap", timeout=TIMEOUT)
        server.wait_idle(timeout=60, quiet=1.0)
        query_ids = [user.press("A") for user in users]  # all at once
        wait_acked(server, query_ids, TIMEOUT)
        return ack_latencies(server, query_ids)


# --- figures -----------------------------------------------------------------------------


def report(args, scene: Scene, latencies: list[float], votes: str, anchor_ms: list[float]) -> str:
    people = scene.people
    notice = [(p.notice - p.started) * 1000 for p in people if p.notice and p.started]
    ballots = sorted(p.ballot - max(scene.poll_sent, p.started or 0) for p in people if p.ballot)
    last_ballot = max(p.ballot for p in people if p.ballot) - scene.poll_sent
    target = args.participants / 25 + 2
    per_joiner = [p.messages_before_ballot for p in people]
    ratio = pct(latencies, 0.95) / pct(anchor_ms, 0.95) if latencies and anchor_ms else 0.0
    return "\n".join(
        [
            f"room: {args.participants} people join over {args.join_seconds:g} s, the poll "
            f"opens at {args.join_seconds / 2:g} s, each taps 1–3 s after the ballot · "
            f"database {args.database}",
            f"join → privacy notice: {ms_summary(notice)}",
            f"messages per joiner up to the ballot: mean {statistics.mean(per_joiner):.1f} · "
            f"max {max(per_joiner)}",
            f"/poll → ballot: median {statistics.median(ballots):.1f} s · last "
            f"{last_ballot:.1f} s (target ≤ {target:.0f} s)",
            f"tap → acknowledgement: {ms_summary(latencies)}",
            f"anchor, bare python-telegram-bot, {args.participants} taps at once: "
            f"{ms_summary(anchor_ms)} · p95 ratio {ratio:.2f}×",
            f"votes cast {len(people)} · stored {votes}",
        ]
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.room", description=__doc__.split("\n")[0])
    ap.add_argument("--participants", type=int, default=300)
    ap.add_argument("--join-seconds", type=float, default=20.0)
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-anchor", action="store_true", help="skip the bare-PTB anchor")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (bot log, SQLite)")
    args = ap.parse_args(argv)
    if args.participants < 1 or args.join_seconds <= 0:
        ap.error("--participants and --join-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def run(workdir: Path) -> str:
        anchor_ms = [] if args.no_anchor else anchor(args.participants, workdir)
        scene, latencies, votes = room(args, workdir)
        return report(args, scene, latencies, votes, anchor_ms)

    return run_in_workdir("bench-room-", args, run)


if __name__ == "__main__":
    sys.exit(main())
