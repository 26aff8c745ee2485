"""The room on screens: people vote while browsers watch the projector and staff the console.

    python -m bench.screens [--participants 300] [--watchers 50] [--browsers 0] [--consoles 5]
                            [--seconds 10] [--webhook] [--database sqlite|postgres]
                            [--postgres-url URL] [--seed 1] [--no-anchor] [--keep]

Runs the real `backbone run` process (its web server on a free port; with --webhook in webhook
mode, the fake Bot API posting every update to it) against the fake Bot API server. A
facilitator opens a session and a three-option poll; N people join; `--watchers` live streams
(what a projector page's EventSource does) follow /p/<token>/events and `--consoles` signed-in
staff sessions fetch the console's live overview (/console/live) every 2 s, as console.js
does; `--browsers` real headless Chromium pages (Playwright, /usr/bin/chromium) show the
projector too; then each person taps an option once at a random moment within `--seconds`.

Vote → projector: the i-th tap to reach the fake server counts as shown once a stream's event
says "i votes" or more (votes are stored about in the order they arrive; one stored out of
order can make its neighbour's figure a little shorter, never longer). Every stream and every
vote counts: watchers × participants figures. Also: tap → acknowledgement beside the bare PTB
anchor of bench.room (N simultaneous taps, same run), the bot's peak memory (VmHWM), the
console's answer times, and whether every vote is stored exactly once. Exit status 0 unless
the run itself broke.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.campaigns import proc_status
from bench.common import BenchError, run_in_workdir
from bench.polls import (
    DEFAULT_POSTGRES_URL,
    FACILITATOR,
    LABELS,
    QUESTION,
    STEP_TIMEOUT,
    THREADS,
    Plan,
    Voting,
    check_votes,
    join_everyone,
    ms_summary,
    running_bot,
    vote,
    wait_for_answers,
)
from bench.polls import percentile as pct
from bench.room import ack_latencies, anchor
from tests.e2e.helpers import act, onboard
from tests.fakebot import FakeBotAPI

VOTERS = re.compile(r'id="voters">(\d+)')
CONSOLE_EVERY = 2.0  # seconds, console.js's data-every on the overview
SHOWN_TIMEOUT = 60.0  # after the last tap, every stream must show every vote by then


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the session -------------------------------------------------------------------------
def open_session(server: FakeBotAPI, base: str) -> tuple[str, str, int]:
    """/session and /poll as the facilitator: join code, projector URL, results message id."""
    admin = server.user(FACILITATOR, "Facilitator", "en")
    onboard(admin, payload="", expect="")
    message = act(admin, lambda: admin.send("/session Bench"), "?start=", timeout=60)
    code = message.content.split("?start=S", 1)[1].split()[0]
    found = re.search(re.escape(base) + r"/p/[A-Za-z0-9_-]{32,}", message.content)
    if not found:
        raise BenchError(f"no projector link in the /session reply: {message.content!r}")
    admin.wait_for(lambda m: m.kind == "photo", timeout=60)
    results = act(admin, lambda: admin.send(f"/poll {QUESTION} | {' | '.join(LABELS)}"), QUESTION)
    return code, found.group(0), results.message_id


# --- the projector watchers --------------------------------------------------------------
@dataclass
class Watchers:
    """Live streams in one thread of their own: per stream, (wall time, votes shown)."""

    url: str
    count: int
    shown: list[list[tuple[float, int]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    stop: asyncio.Event | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        """Open every stream; return once each has its first event."""
        self.shown = [[] for _ in range(self.count)]
        ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main(ready)), daemon=True)
        self.thread.start()
        if not ready.wait(60) or self.errors:
            raise BenchError(f"the projector streams did not open: {self.errors[:3]}")

    async def _main(self, ready: threading.Event) -> None:
        self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
        limits = httpx.Limits(max_connections=self.count + 10)
        timeout = httpx.Timeout(30, read=None)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            tasks = [asyncio.create_task(self._watch(client, i)) for i in range(self.count)]
            while not all(self.shown) and not self.errors:
                await asyncio.sleep(0.05)
            ready.set()
            await self.stop.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, client: httpx.AsyncClient, i: int) -> None:
        try:
            headers = {"Accept": "text/event-stream"}
            async with client.stream("GET", self.url, headers=headers) as response:
                if response.status_code != 200:
                    raise BenchError(f"stream {i}: HTTP {response.status_code}")
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        html = json.loads(line[6:]).get("html", "")
                        found = VOTERS.search(html)
                        self.shown[i].append((time.time(), int(found.group(1)) if found else 0))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def showing_all(self, votes: int) -> int:
        """How many streams show at least `votes` votes now."""
        return sum(1 for s in self.shown if s and s[-1][1] >= votes)

    def close(self) -> None:
        if self.loop is not None and self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        if self.thread is not None:
            self.thread.join(10)


# What each page does in Chromium: report every change of the vote count, with the page's
# own clock (the same machine's wall clock), from the DOM the SSE handler rewrote.
OBSERVE = """() => {
  let last = -1;
  const read = () => {
    const el = document.getElementById("voters");
    const m = /(\\d+)/.exec(el ? el.textContent : "");
    const n = m ? parseInt(m[1], 10) : 0;
    if (n !== last) { last = n; window.seen(n, Date.now() / 1000); }
  };
  new MutationObserver(read).observe(document.getElementById("live"),
    {childList: true, subtree: true, characterData: true});
  read();
}"""


@dataclass
class Browsers:
    """Real headless Chromium pages on the projector (Playwright), in a thread of their own."""

    url: str
    count: int
    shown: list[list[tuple[float, int]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the pages; return once each shows the live part."""
        self.shown = [[] for _ in range(self.count)]
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        if not ready.wait(120) or self.errors:
            raise BenchError(f"the Chromium pages did not open: {self.errors[:3]}")

    def _run(self, ready: threading.Event) -> None:
        try:
            from playwright.sync_api import sync_playwright

            exe = shutil.which("chromium") or shutil.which("chromium-browser")
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=exe, headless=True, args=["--no-sandbox"]
                )
                for i in range(self.count):
                    page = browser.new_page()
                    page.expose_function("seen", lambda n, at, i=i: self.shown[i].append((at, n)))
                    page.goto(self.url)
                    page.evaluate(OBSERVE)
                ready.set()
                while not self.stop.is_set():
                    browser.contexts[0].pages[0].wait_for_timeout(50)  # lets callbacks run
                browser.close()
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            ready.set()

    def showing_all(self, votes: int) -> int:
        return sum(1 for s in self.shown if s and s[-1][1] >= votes)

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(30)


def shown_latencies(watchers: Watchers | Browsers, arrived: list[float]) -> tuple[list[float], int]:
    """Milliseconds from the i-th tap's arrival to each stream's first event with ≥ i votes;
    and how many (stream, vote) pairs were never shown."""
    out, never = [], 0
    for events in watchers.shown:
        k = 0
        for i, at in enumerate(sorted(arrived), start=1):
            while k < len(events) and events[k][1] < i:
                k += 1
            if k == len(events):
                never += 1
            else:
                out.append((events[k][0] - at) * 1000)
    return out, never


# --- the console -------------------------------------------------------------------------
@dataclass
class Consoles:
    """Signed-in staff sessions fetching the overview's live part every CONSOLE_EVERY s."""

    clients: list[httpx.Client]
    times: list[float] = field(default_factory=list)  # ms per answer
    failures: list[int] = field(default_factory=list)  # HTTP status other than 200
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for i, client in enumerate(self.clients):
            thread = threading.Thread(target=self._poll, args=(client, i), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _poll(self, client: httpx.Client, i: int) -> None:
        self.stop.wait(CONSOLE_EVERY * i / max(1, len(self.clients)))  # spread, like people
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                status = client.get("/console/live").status_code
            except httpx.HTTPError:
                status = 0
            if status == 200:
                self.times.append((time.monotonic() - began) * 1000)
            else:
                self.failures.append(status)
            self.stop.wait(CONSOLE_EVERY)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)
        for client in self.clients:
            client.close()


def sign_in_consoles(server: FakeBotAPI, base: str, n: int) -> Consoles:
    """n browser sessions of the facilitator (an admin), each by its own /console link."""
    person = server.user(FACILITATOR, "Facilitator", "en")  # the one of open_session
    clients = []
    for _ in range(n):
        reply = act(person, lambda: person.send("/console"), "/console/login/", timeout=60)
        link = re.search(re.escape(base) + r"/console/login/[A-Za-z0-9_-]{40,}", reply.content)
        if not link:
            raise BenchError(f"no console link in the /console reply: {reply.content!r}")
        client = httpx.Client(base_url=base, timeout=20)
        page = client.get(link.group(0))
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        signed = client.post("/console/login", data={"token": token.group(1) if token else ""})
        if signed.status_code != 303:
            raise BenchError(f"console sign-in refused: HTTP {signed.status_code}")
        clients.append(client)
    return Consoles(clients)


# --- the run -----------------------------------------------------------------------------
@dataclass
class Run:
    shown_ms: list[float]
    never: int
    ack_ms: list[float]
    peak_kb: int
    stored: str
    consoles: Consoles | None
    slip: float
    errors: list[str]
    voting: Voting
    refused: list[str]
    in_chromium: tuple[list[float], int] | None


@contextmanager
def screens(args: argparse.Namespace, workdir: Path) -> Iterator[tuple]:
    """The bot with its web server (in webhook mode with --webhook): (server, bot, url, base)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"BACKBONE_WEB_PORT": str(port)}
    if args.webhook:
        env["BACKBONE_WEBHOOK_URL"] = f"{base}/telegram/bench-hook"
        env["BACKBONE_WEBHOOK_SECRET"] = "bench-secret"
        env["BACKBONE_WEBHOOK_MAX_CONNECTIONS"] = "40"
    with running_bot(args, workdir, env) as (server, bot, url):
        yield server, bot, url, base


def room(args: argparse.Namespace, workdir: Path) -> Run:
    rng = random.Random(args.seed)
    with (
        screens(args, workdir) as (server, bot, url, base),
        ThreadPoolExecutor(THREADS, thread_name_prefix="person") as pool,
    ):
        code, projector, results_id = open_session(server, base)
        setup = join_everyone(server, code, results_id, args.participants, pool)
        server.wait_idle(timeout=STEP_TIMEOUT, quiet=2.0)
        consoles = sign_in_consoles(server, base, args.consoles) if args.consoles else None
        watchers = Watchers(f"{projector}/events", args.watchers)
        watchers.start()
        browsers = Browsers(projector, args.browsers) if args.browsers else None
        if browsers is not None:
            browsers.start()
        if consoles is not None:
            consoles.start()
        try:
            plans = [
                Plan(p, [(rng.uniform(0, args.seconds), rng.choice(LABELS))]) for p in setup.people
            ]
            assert bot.proc is not None
            voting = vote(setup, plans, args.seconds, pool, bot.proc.pid)
            wait_for_answers(server, voting, STEP_TIMEOUT, bot)
            deadline = time.monotonic() + SHOWN_TIMEOUT
            screens_ = [watchers, *([browsers] if browsers else [])]
            while any(w.showing_all(args.participants) < w.count for w in screens_):
                if time.monotonic() > deadline or watchers.errors:
                    break
                time.sleep(0.1)
        finally:
            watchers.close()
            if browsers is not None:
                browsers.close()
            if consoles is not None:
                consoles.close()
        query_ids = [t.query_id for t in voting.taps]
        offset = time.time() - time.monotonic()
        with server._lock:
            arrived = [server.callback_queries[q].created + offset for q in query_ids]
        shown, never = shown_latencies(watchers, arrived)
        in_chromium = shown_latencies(browsers, arrived) if browsers else None
        stored, once = check_votes(url, voting)
        return Run(
            shown,
            never,
            ack_latencies(server, query_ids),
            proc_status(bot.proc.pid, "VmHWM"),
            f"{stored} · exactly once: {once}",
            consoles,
            voting.max_slip,
            watchers.errors,
            voting,
            [f"{e.method}: {e.description}" for e in server.errors],
            in_chromium,
        )


def report(args: argparse.Namespace, run: Run, anchor_ms: list[float]) -> str:
    mode = "webhook" if args.webhook else "long polling"
    p95 = pct(run.shown_ms, 0.95) if run.shown_ms else float("nan")
    ack95 = pct(run.ack_ms, 0.95) if run.ack_ms else float("nan")
    ratio = ack95 / pct(anchor_ms, 0.95) if anchor_ms and run.ack_ms else 0.0
    lines = [
        f"screens: {args.participants} people vote within {args.seconds:g} s while "
        f"{args.watchers} projector streams and {args.consoles} console sessions watch · "
        f"{mode} · database {args.database}",
        f"vote → projector update: {ms_summary(run.shown_ms)} over {len(run.shown_ms)} "
        f"(stream, vote) pairs · never shown {run.never} · target p95 < 1000 ms: "
        f"{'met' if p95 < 1000 and not run.never else 'NOT met'}",
        *(
            [
                f"  and in {args.browsers} real Chromium pages (their DOM updated): "
                f"{ms_summary(run.in_chromium[0])} · never shown {run.in_chromium[1]}"
            ]
            if run.in_chromium
            else []
        ),
        f"tap → acknowledgement: {ms_summary(run.ack_ms)} · target p95 < 250 ms: "
        f"{'met' if ack95 < 250 else 'NOT met'}",
    ]
    if anchor_ms:
        lines.append(
            f"anchor, bare python-telegram-bot, {args.participants} taps at once: "
            f"{ms_summary(anchor_ms)} · p95 ratio {ratio:.2f}×"
        )
    if run.consoles is not None:
        c = run.consoles
        lines.append(
            f"console /console/live every {CONSOLE_EVERY:g} s × {args.consoles}: "
            f"{ms_summary(c.times)} over {len(c.times)} answers · failed {len(c.failures)}"
        )
    lines += [
        f"bot peak memory: {run.peak_kb / 1024:.1f} MiB (VmHWM)",
        f"votes cast {args.participants} · stored {run.stored} · latest tap "
        f"{run.slip * 1000:.0f} ms behind its schedule",
    ]
    v = run.voting
    if v.busy > 0:
        load = f" · the machine {v.machine[0] / v.machine[1]:.0%} busy" if v.machine[1] else ""
        lines.append(
            f"cpu from first tap to last ack ({v.busy:.1f} s): bot {v.bot_cpu / v.busy:.0%} · "
            f"fake API + people + streams {v.own_cpu / v.busy:.0%} (100% = one core){load} "
            f"({os.cpu_count()} cores)"
        )
    if run.refused:
        lines.append(f"the fake API refused {len(run.refused)} calls; first: {run.refused[0]}")
    if run.errors:
        lines.append(f"stream errors: {run.errors[:3]}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.screens", description=__doc__.split("\n")[0])
    ap.add_argument("--participants", type=int, default=300)
    ap.add_argument("--watchers", type=int, default=50, help="projector live streams")
    ap.add_argument(
        "--browsers", type=int, default=0, help="real Chromium pages on the projector too"
    )
    ap.add_argument("--consoles", type=int, default=5, help="signed-in console sessions")
    ap.add_argument("--seconds", type=float, default=10.0, help="the voting window")
    ap.add_argument("--webhook", action="store_true", help="run the bot in webhook mode")
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-anchor", action="store_true", help="skip the bare-PTB anchor")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (bot log, SQLite)")
    args = ap.parse_args(argv)
    if min(args.participants, args.watchers) < 1 or args.consoles < 0 or args.seconds <= 0:
        ap.error("--participants, --watchers and --seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def run(workdir: Path) -> str:
        anchor_ms = [] if args.no_anchor else anchor(args.participants, workdir)
        return report(args, room(args, workdir), anchor_ms)

    return run_in_workdir("bench-screens-", args, run)


if __name__ == "__main__":
    sys.exit(main())
