"""Property-based: random update sequences from 1–3 people go through PTB's own parsing
(`Update.de_json`), the adapter's translation (`to_event`, `to_group_event`) and the
Conversation use case, with the replies "delivered" the way `TelegramAdapter` delivers them
(prompt and results message ids remembered, merge-window and poll timers fired by a fake
clock, restarts rebuilding the timers from the database).

Checked after every step:
- nothing raises; a redelivered update id says nothing and changes no table;
- every reply goes to the chat the update came from (poll results: the facilitator's chat;
  broadcasts: session members), edits and cleared keyboards hit that chat's own messages;
  every text is 1..4096 characters, every button's data parses and fits in 64 bytes;
- an update (or a merge-window timer) changes at most the answer to the question on screen,
  and a question's button only the answer to its own question;
- answers: one per (run, step), only to input steps of the run's pinned flow version, of the
  right shape for the step type (None only for a skipped optional step), and they agree with
  the run's state; a complete run has exactly the answers of its path through the flow;
- runs: a known status; complete ⇒ finished, no current step, finished_at; open ⇒ the
  current step is an input step; at most one open run per person, and only with consent;
  only an active run collects text, and then a settle timer is armed;
- polls: closed polls have no salt left, anonymous votes carry no participant; without
  staff there are no roles, invites, staff chats or polls.

Each example gets a fresh copy of one migrated SQLite file (copying is cheap, migrating is
not). BACKBONE_PROPERTY_EXAMPLES=500 makes a longer local hunt.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select
from telegram import Bot, Update

import flows
from bot.services import callbacks
from bot.services.catalog import FlowCatalog
from bot.services.conversation import NOTICE_VERSION, Conversation
from bot.services.events import Tap
from bot.services.replies import (
    Broadcast,
    ClearButtons,
    ClosePollTimer,
    EditText,
    LeaveChat,
    NativePoll,
    Outcome,
    Person,
    ProgressChanged,
    ResultsChanged,
    Schedule,
    SendDocument,
    SendPhoto,
    SendText,
    StopNativePoll,
    Typing,
)
from bot.telegram.carrier import MAX_TEXT
from bot.telegram.convert import to_event, to_group_event
from flows.conditions import parse_condition
from flows.model import END, Flow, Step, StepType
from storage.migrate import upgrade
from storage.models import (
    Answer,
    Consent,
    Group,
    GroupMember,
    Identity,
    Invite,
    Participant,
    Poll,
    Run,
    StaffChat,
    Vote,
)
from storage.repo import Database

# PTB 22 warns on every voice note that `duration` becomes a timedelta in v23 (pinned <23).
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*`duration` will be of type:telegram.warnings.PTBDeprecationWarning"
)
EXAMPLES = int(os.environ.get("BACKBONE_PROPERTY_EXAMPLES", "50"))
BOT_ID = 999_000_001
BOT = Bot(f"{BOT_ID}:x")  # never initialised: de_json only needs it to attach to objects
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Backbone", "username": "backbone_bot"}
USER_IDS = (101, 102, 103)
GROUP_IDS = (-1001, -1002)
MERGE_SECONDS = 2.0
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
STATUSES = {"active", "paused", "complete", "incomplete"}
OPEN = {"active", "paused"}
STAGES = {"new", "language", "consent", "minor", "ready"}
CATALOG = FlowCatalog(flows.SHIPPED_DIR)
FLOW_IDS = [f.id for f in CATALOG.all()]
LINK = re.compile(r"\?start=(\S+)")
PSEUDONYM = re.compile(r"\bP-[0-9A-Z]{6}\b")
JOIN_CODE = re.compile(r"^([2-9A-HJ-NP-Z]{6}) ·")


# --------------------------------------------------------------------------- strategies

PLAUSIBLE = [
    "7",
    "12",
    "5",
    "13",
    "0",
    "60",
    "61",
    "2,5",
    "1.5",
    "-3",
    "3",
    "1",
    "ja",
    "nein",
    "yes",
    "Ja!",
    "15.03.2026",
    "2026-03-15",
    "31.02.2026",
    "morgen",
    "Ausbildung",
    "weiß noch nicht",
    "Studium",
    "nichts",
    "Ich bin Lea",
    "und mag Fußball",
    "  ",
    "\u200b",
    "{first_name}",
    "{support}}",
]
COMMANDS = [
    "/start",
    "/back",
    "/pause",
    "/resume",
    "/cancel",
    "/language",
    "/help",
    "/privacy",
    "/mydata",
    "/delete",
    "/stop",
    "/grant admin",
    "/grant facilitator",
    "/grant",
    "/revoke",
    "/revoke P-XXXXXX",
    "/invite x",
    "/invite school-a-9b --parental-consent-on-file",
    "/invite",
    "/whoami",
    "/frobnicate",
    "/START",
    "/start@backbone_bot",
    "/back@backbone_bot extra words",
    "/",
    # live polls (staff only) and campaigns
    "/session Runder Tisch",
    "/session end",
    "/session",
    "/poll Was zuerst? | Praktika | Bewerbungen | Mentoring",
    "/poll --multi --show-results Was noch? | A | B | C",
    "/poll --scale 1-5 Wie klar ist deine Rolle?",
    "/poll --words --named Ein Wort?",
    "/poll --timer 30 Schnell? | Ja | Nein",
    "/poll",
    "/close",
    "/campaign",
    "/campaigns",
    "/group",
]
GROUP_TEXTS = [
    "/whoami@backbone_bot",
    "/poll Was zuerst? | Praktika | Bewerbungen",
    "/poll --multi Was noch? | A | B | C",
    "/poll --scale 1-5 Wie klar?",
    "/poll --words Ein Wort?",
    "/close@backbone_bot",
    "/start",
    "hello everyone",
]
PLAUSIBLE_TEXT = ["Ich bin Lea", "und mag Fußball", "nichts", "Pflege", "x" * 600, "ok"]
CHOICE_STEPS = {StepType.SINGLE_CHOICE, StepType.MULTIPLE_CHOICE, StepType.SCALE, StepType.YES_NO}
FORGED_ACTIONS = ["opt:1", "opt:5", "opt:yes", "opt:training", "tog:other", "done", "skip", "x"]
LANGUAGE_CODES = [None, "de", "en", "en-US", "de-AT", "tr", "ar", "uk", "ru", "zz", "x-klingon"]
CLOCK_JUMPS = [1.0, MERGE_SECONDS + 0.5, 60.0, 3600.0, 3 * 86400.0]
OTHER_KINDS = ["sticker", "document", "location", "contact", "dice", "video_note", "nothing"]
GROUP_KINDS = ["added", "added_by_stranger", "message", "message", "kicked"]

huge_text = st.tuples(st.text(min_size=1, max_size=6), st.integers(1000, 5000)).map(
    lambda t: (t[0] * t[1])[: t[1]]
)
any_text = st.one_of(
    st.sampled_from(PLAUSIBLE),
    st.sampled_from(PLAUSIBLE),
    st.text(max_size=40),
    huge_text,
)
random_payload = st.one_of(
    st.sampled_from(FLOW_IDS),
    st.sampled_from(["nonexistent", "G", "J", "Gabc", "Jxyz", "f:school-survey"]),
    st.text(min_size=1, max_size=80).filter(lambda s: " " not in s),
)
random_data = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(max_size=100).filter(lambda s: len(s.encode()) <= 100),
    st.sampled_from(["l:de", "l:en", "l:xx", "c:old:16", f"c:{NOTICE_VERSION}:u16", "x:maybe"]),
    st.sampled_from([f"f:{f}" for f in FLOW_IDS] + ["f:nope", "f:", "r:", "r::::"]),
)
first_names = st.one_of(
    st.sampled_from(["Lea", "Ömer", "Дмитро", "محمد", "{first_name}", "{", "}}"]),
    st.text(min_size=1, max_size=64),
)

# Weighted kinds: sensible answers and taps on the buttons the bot actually sent dominate,
# or runs never get past the first question.
KINDS = (
    ["answer"] * 10
    + ["tap_latest"] * 8
    + ["tap_visible"] * 3
    + ["text"] * 8
    + ["command"] * 4
    + ["start"] * 2
    + ["start_link"]
    + ["revoke_real"]
    + ["tap_stale"]
    + ["tap_random"]
    + ["tap_forged"]
    + ["voice"] * 2
    + ["photo"] * 2
    + ["other"]
    + ["edit"]
    + ["redeliver"] * 2
    + ["clock"] * 2
    + ["delete"]
    + ["group"]
    + ["late_text", "late_tap", "late_voice"]
    + ["restart", "burst"]
    + ["type_code", "native_vote"]
    + ["vote"] * 2
)
# One person mostly answering, with the disturbances that matter most mixed in: reaches the
# deep states (merge windows, going back, the ends of flows) the broad mix rarely gets to.
PROGRESS_KINDS = (
    ["answer"] * 14
    + ["tap_latest"] * 2
    + ["text", "voice", "photo", "command", "redeliver", "clock", "restart", "tap_stale"]
    + ["burst"]
    + ["late_text", "late_tap", "late_voice"]
)


@st.composite
def actions(draw, people: int, kinds: list[str]) -> tuple:
    kind = draw(st.sampled_from(kinds))
    who = draw(st.integers(0, people - 1))
    dt = draw(st.sampled_from([0.0, 0.0, 0.3, 1.0, MERGE_SECONDS + 0.1]))
    k = draw(st.integers(0, 50))
    if kind in ("text", "edit", "late_text"):
        return (kind, who, dt, draw(any_text))
    if kind == "command":
        return (kind, who, dt, draw(st.sampled_from(COMMANDS)))
    if kind == "start":
        return (kind, who, dt, draw(random_payload))
    if kind == "tap_random":
        return (kind, who, dt, draw(random_data))
    if kind == "tap_forged":
        run = draw(st.integers(0, 6))
        index = draw(st.integers(0, 20))
        action = draw(st.one_of(st.sampled_from(FORGED_ACTIONS), st.text(max_size=10)))
        return (kind, who, dt, f"r:{run}:{index}:{action}")
    if kind == "other":
        return (kind, who, dt, draw(st.sampled_from(OTHER_KINDS)))
    if kind == "clock":
        return (kind, who, draw(st.sampled_from(CLOCK_JUMPS)), None)
    if kind == "delete":
        return (kind, who, dt, draw(st.booleans()))
    if kind == "group":
        group_kind = draw(st.sampled_from(GROUP_KINDS))
        return (kind, who, dt, (group_kind, draw(st.integers(0, 1)), k))
    return (kind, who, dt, k)


@st.composite
def scenarios(draw, kinds: list[str], max_people: int = 3, min_steps: int = 3, max_steps: int = 45):
    n = draw(st.integers(1, max_people))
    people = [
        Profile(
            USER_IDS[i],
            draw(first_names),
            draw(st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_]{4,20}", fullmatch=True))),
            draw(st.sampled_from(LANGUAGE_CODES)),
        )
        for i in range(n)
    ]
    warmup: list[tuple] = []
    warm = kinds is PROGRESS_KINDS or draw(st.booleans())
    if warm:
        # Most interesting states lie behind onboarding: often start everyone in a flow
        # (language if asked, consent, and maybe the first question).
        for i in range(n):
            flow_id = draw(st.sampled_from(FLOW_IDS))
            warmup += [("start", i, 0.0, flow_id)] + [("tap_latest", i, 0.0, 0)] * 2
    admin = draw(st.booleans())
    if warm and admin and n > 1 and kinds is KINDS and draw(st.booleans()):
        # A round table: the admin opens a session and a poll, everyone joins by link.
        poll = draw(st.sampled_from([c for c in COMMANDS if c.startswith("/poll ")]))
        warmup += [("command", 0, 0.0, "/session Runder Tisch"), ("command", 0, 0.0, poll)]
        warmup += [("start_link", i, 0.0, 0) for i in range(1, n)]
    return Scenario(
        people=people,
        admin=admin,
        delete_mode=draw(st.sampled_from(["erase", "unlink"])),
        actions=warmup + draw(st.lists(actions(n, kinds), min_size=min_steps, max_size=max_steps)),
    )


# --------------------------------------------------------------------------- Telegram JSON


@dataclass
class Profile:
    user_id: int
    first_name: str
    username: str | None
    language_code: str | None

    def user(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private", "first_name": self.first_name}


@dataclass
class Scenario:
    people: list[Profile]
    admin: bool
    delete_mode: str
    actions: list[tuple]


def other_content(kind: str) -> dict[str, Any]:
    f = {"file_id": f"F-{kind}", "file_unique_id": f"U-{kind}"}
    return {
        "sticker": {
            "sticker": {
                **f,
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        },
        "document": {"document": {**f, "file_name": "x.pdf"}},
        "location": {"location": {"latitude": 52.5, "longitude": 13.4}},
        "contact": {"contact": {"phone_number": "+49", "first_name": "X"}},
        "dice": {"dice": {"emoji": "🎲", "value": 3}},
        "video_note": {"video_note": {**f, "length": 240, "duration": 3}},
        "nothing": {"new_chat_title": "?"},
    }[kind]


def command_entities(text: str) -> list[dict[str, Any]]:
    if not text.startswith("/"):
        return []
    head = text.split(" ", 1)[0]
    return [{"type": "bot_command", "offset": 0, "length": len(head.encode("utf-16-le")) // 2}]


# --------------------------------------------------------------------------- the simulation


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Shown:
    """A message the bot sent, as the person's Telegram client shows it now."""

    chat_id: int
    text: str
    buttons: list[str] | None
    ever: list[str] = field(default_factory=list)


class Sim:
    """The adapter, in-process: builds updates, feeds the use case, carries out the replies."""

    def __init__(self, make_conv: Any, db: Database, clock: Clock, scenario: Scenario):
        self.make_conv = make_conv
        self.notice = NOTICE_VERSION
        self.conv: Conversation = make_conv(self.notice)
        self.db = db
        self.clock = clock
        self.people = scenario.people
        self.admin = scenario.admin
        self.update_ids = itertools.count(1)
        self.user_message_ids = itertools.count(1)
        self.bot_message_ids = itertools.count(1)
        self.messages: dict[int, Shown] = {}
        self.timers: dict[int, datetime] = {}
        self.handled: list[dict[str, Any]] = []  # raw updates that reached a handler
        self.links: list[str] = []
        self.pseudonyms: list[str] = []
        self.codes: list[str] = []  # join codes of poll sessions
        self.native_polls: list[tuple[str, int]] = []  # (Telegram poll id, options)
        self.poll_timers: dict[int, datetime] = {}
        self.results_chats: set[int] = set()  # facilitators' chats (live poll results)
        self.trace: list[str] = []
        self.flows: dict[int, Flow] = {}

    # --- building updates ----------------------------------------------------------
    def _message(self, p: Profile, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self.user_message_ids),
            "date": int(self.clock.now.timestamp()),
            "chat": p.chat(),
            "from": p.user(),
            **content,
        }

    def text_update(self, p: Profile, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if entities := command_entities(text):
            content["entities"] = entities
        return {"message": self._message(p, **content)}

    def tap_update(self, p: Profile, data: str | None, message_id: int) -> dict[str, Any]:
        query: dict[str, Any] = {
            "id": f"q{message_id}-{len(self.trace)}",
            "from": p.user(),
            "chat_instance": f"ci{p.user_id}",
            "message": {
                "message_id": message_id,
                "date": int(START.timestamp()),
                "chat": p.chat(),
                "from": BOT_USER,
                "text": "…",
            },
        }
        if data is not None:
            query["data"] = data
        return {"callback_query": query}

    def group_update(self, p: Profile, kind: str, g: int, k: int) -> dict[str, Any]:
        chat = {"id": GROUP_IDS[g], "type": "group", "title": f"Group {g}"}
        if kind in ("added", "added_by_stranger", "kicked"):
            old, new = ("left", "member") if kind != "kicked" else ("member", "left")
            by = p.user() if kind != "added_by_stranger" else {**p.user(), "id": 4242}
            return {
                "my_chat_member": {
                    "chat": chat,
                    "from": by,
                    "date": int(self.clock.now.timestamp()),
                    "old_chat_member": {"user": BOT_USER, "status": old},
                    "new_chat_member": {"user": BOT_USER, "status": new},
                }
            }
        text = GROUP_TEXTS[k % len(GROUP_TEXTS)]
        msg = {
            "message_id": next(self.user_message_ids),
            "date": int(self.clock.now.timestamp()),
            "chat": chat,
            "from": p.user(),
            "text": text,
        }
        if entities := command_entities(text):
            msg["entities"] = entities
        return {"message": msg}

    # --- buttons as the person sees them ---------------------------------------------
    def _chat_messages(self, p: Profile) -> list[tuple[int, Shown]]:
        return sorted((mid, m) for mid, m in self.messages.items() if m.chat_id == p.user_id)

    def latest_buttons(self, p: Profile) -> tuple[int, list[str]] | None:
        for mid, m in reversed(self._chat_messages(p)):
            if m.buttons:
                return mid, m.buttons
        return None

    def visible_buttons(self, p: Profile) -> list[tuple[int, str]]:
        return [(mid, d) for mid, m in self._chat_messages(p) for d in m.buttons or []]

    def stale_buttons(self, p: Profile) -> list[tuple[int, str]]:
        return [(mid, d) for mid, m in self._chat_messages(p) for d in m.ever]

    # --- one action --------------------------------------------------------------------
    async def act(self, action: tuple) -> None:
        kind, who, dt, arg = action
        p = self.people[who]
        if kind == "clock" or dt:
            self.clock.now += timedelta(seconds=dt)
        if kind.startswith("late_"):
            # The job queue lags: the update is handled before a due settle job runs.
            kind = {"late_text": "text", "late_tap": "tap_latest", "late_voice": "voice"}[kind]
        else:
            await self.fire_timers()
        self.trace.append(f"{action[0]} {p.user_id} +{dt}s {arg!r}"[:200])
        if kind == "restart":
            # A new process: fresh use case (no cached flows), timers rebuilt from the database;
            # now and then staff have bumped the privacy notice version meanwhile.
            if arg % 4 == 0:
                self.notice = f"2027-{arg}"
            self.conv = self.make_conv(self.notice)
            self.timers = {s.run_id: s.at for s in await self.conv.pending_settles()}
            poll_timers, open_polls = await self.conv.poll_timers()
            self.poll_timers = {t.poll_id: t.at for t in poll_timers}
            for poll_id in open_polls:
                await self.deliver(Outcome([ResultsChanged(poll_id)]), None)
        elif kind == "burst":
            # A double tap (or two buttons in a hurry): both updates are handled concurrently.
            found = self.latest_buttons(p)
            if found is not None:
                mid, data = found
                first, second = data[arg % len(data)], data[(arg // 7) % len(data)]
                await self.send_together(
                    [self.tap_update(p, first, mid), self.tap_update(p, second, mid)]
                )
        elif kind in ("text", "command"):
            await self.send(self.text_update(p, arg))
        elif kind == "start":
            await self.send(self.text_update(p, f"/start {arg}"))
        elif kind == "start_link":
            payload = self.links[arg % len(self.links)] if self.links else ""
            await self.send(self.text_update(p, f"/start {payload}".strip()))
        elif kind == "revoke_real":
            target = self.pseudonyms[arg % len(self.pseudonyms)] if self.pseudonyms else "P-2222"
            await self.send(self.text_update(p, f"/revoke {target.lower()}"))
        elif kind == "answer":
            await self.answer(p, arg)
        elif kind == "tap_latest":
            found = self.latest_buttons(p)
            if found is None:
                await self.send(self.text_update(p, "/start"))
            else:
                mid, data = found
                await self.send(self.tap_update(p, data[arg % len(data)], mid))
        elif kind in ("tap_visible", "tap_stale"):
            pool = self.visible_buttons(p) if kind == "tap_visible" else self.stale_buttons(p)
            if pool:
                mid, data = pool[arg % len(pool)]
                await self.send(self.tap_update(p, data, mid))
        elif kind in ("tap_random", "tap_forged"):
            mids = [mid for mid, _ in self._chat_messages(p)] or [1]
            await self.send(self.tap_update(p, arg, mids[-1]))
        elif kind == "voice":
            voice = {"file_id": f"V{arg}", "file_unique_id": f"VU{arg}", "duration": arg}
            if arg % 2:
                voice["mime_type"] = "audio/ogg"
            await self.send({"message": self._message(p, voice=voice)})
        elif kind == "photo":
            sizes = [
                {"file_id": f"P{arg}s", "file_unique_id": f"PU{arg}s", "width": 90, "height": 60},
                {"file_id": f"P{arg}", "file_unique_id": f"PU{arg}", "width": 1280, "height": 853},
            ]
            await self.send({"message": self._message(p, photo=sizes, caption="look")})
        elif kind == "other":
            await self.send({"message": self._message(p, **other_content(arg))})
        elif kind == "edit":
            msg = self._message(p, text=arg or ".", edit_date=int(self.clock.now.timestamp()))
            await self.send({"edited_message": msg})
        elif kind == "redeliver":
            if self.handled:
                await self.redeliver(self.handled[-1 - arg % len(self.handled)])
        elif kind == "delete":
            out = await self.send(self.text_update(p, "/delete"))
            wanted = "x:yes" if arg else "x:no"
            question = [r for r in out.replies if isinstance(r, SendText) and r.buttons]
            assert len(question) == 1, "/delete asks one question with buttons"
            await self.send(self.tap_update(p, wanted, self._sent_mid(p, question[0])))
            if arg:
                await self.check_deleted(p)
        elif kind == "group":
            await self.send(self.group_update(p, *arg))
        elif kind == "vote":
            # A ballot button if there is one (a changed mind, too); else a word or two.
            ballots = [(mid, d) for mid, d in self.visible_buttons(p) if d.startswith("v:")]
            if ballots:
                mid, data = ballots[arg % len(ballots)]
                await self.send(self.tap_update(p, data, mid))
            else:
                await self.send(self.text_update(p, ["Vertrauen", "zu viel Papier", "?"][arg % 3]))
        elif kind == "type_code":
            code = self.codes[arg % len(self.codes)] if self.codes else "ABCDEF"
            await self.send(self.text_update(p, f" {code.lower()} "))
        elif kind == "native_vote" and self.native_polls:
            native_id, options = self.native_polls[arg % len(self.native_polls)]
            chosen = [i for i in range(options) if (arg >> i) & 1][: 1 + arg % 3]
            answer = {"poll_id": native_id, "user": p.user(), "option_ids": chosen}
            await self.send({"poll_answer": answer})

    async def answer(self, p: Profile, k: int) -> None:
        """Answer the question on screen sensibly (mostly valid), so that runs progress."""
        step = None
        async with self.db.transaction() as repo:
            identity = await repo.identity_by_telegram(p.user_id)
            run = await repo.open_run(identity.participant_id) if identity else None
            if run is not None and run.status == "active" and run.state.get("current"):
                step = self.flow_of(run).step(run.state["current"])
        if step is None or step.type in CHOICE_STEPS:
            await self.act(("tap_latest", self.people.index(p), 0.0, k))
        elif step.type is StepType.TEXT:
            await self.send(self.text_update(p, PLAUSIBLE_TEXT[k % len(PLAUSIBLE_TEXT)]))
        elif step.type is StepType.NUMBER:
            low, high = int(step.min or 0), int(step.max or 100)
            await self.send(self.text_update(p, str(low - 1 + k % (high - low + 3))))
        elif step.type is StepType.DATE:
            await self.send(self.text_update(p, ["15.03.2026", "2026-12-01", "gestern"][k % 3]))
        else:
            kind = "voice" if step.type is StepType.VOICE else "photo"
            await self.act((kind, self.people.index(p), 0.0, k))

    def _sent_mid(self, p: Profile, reply: SendText) -> int:
        for mid, m in reversed(self._chat_messages(p)):
            if m.text == reply.text:
                return mid
        raise AssertionError("the /delete question was not delivered")

    async def send(self, body: dict[str, Any]) -> Outcome | None:
        """What TelegramAdapter.on_update does, minus network and flood control."""
        data = {"update_id": next(self.update_ids), **body}
        update = Update.de_json(data, BOT)
        if update.poll_answer is not None:
            out = await self.poll_answer(update)
            self.handled.append(data)
            await self.deliver(out, None)
            return out
        group = to_group_event(update, BOT_ID)
        if group is not None:
            before = await self.count_participants()
            out = await self.conv.handle_group(update.update_id, *group)
            assert await self.count_participants() == before, "a group update created someone"
            self.handled.append(data)
            await self.deliver(out, group[1].chat_id)
            return out
        translated = to_event(update)
        if translated is None:
            assert update.effective_chat is None or update.effective_chat.type != "private"
            return None
        person, ev = translated
        assert person.telegram_user_id == person.chat_id == update.effective_user.id
        if update.callback_query is not None:
            assert isinstance(ev, Tap) and ev.data == update.callback_query.data
        before, on_screen = await self.before_update(person.telegram_user_id)
        out = await self.conv.handle(update.update_id, person, ev)
        self.handled.append(data)
        await self.check_scope(ev, before, on_screen)
        await self.deliver(out, person.chat_id)
        return out

    async def send_together(self, bodies: list[dict[str, Any]]) -> None:
        """Private updates of one person, handled concurrently (as PTB may with several)."""
        datas = [{"update_id": next(self.update_ids), **body} for body in bodies]
        updates = [Update.de_json(data, BOT) for data in datas]
        events = [to_event(update) for update in updates]
        person = events[0][0]
        before, on_screen = await self.before_update(person.telegram_user_id)
        outs = await asyncio.gather(
            *(self.conv.handle(u.update_id, *e) for u, e in zip(updates, events, strict=True))
        )
        self.handled += datas
        await self.check_scope(events[0][1], before, on_screen)
        for out in outs:
            await self.deliver(out, person.chat_id)

    async def poll_answer(self, update: Update) -> Outcome:
        """A vote on a native group poll, as TelegramAdapter.on_update passes it on."""
        answer = update.poll_answer
        user = answer.user
        person = Person(user.id, user.id, user.first_name or "", user.username, user.language_code)
        return await self.conv.handle_poll_answer(
            update.update_id, person, answer.poll_id, list(answer.option_ids)
        )

    async def redeliver(self, data: dict[str, Any]) -> None:
        before = await self.snapshot()
        update = Update.de_json(data, BOT)
        group = to_group_event(update, BOT_ID)
        if update.poll_answer is not None:
            out = await self.poll_answer(update)
        elif group is not None:
            out = await self.conv.handle_group(update.update_id, *group)
        else:
            person, ev = to_event(update)
            out = await self.conv.handle(update.update_id, person, ev)
        assert out.duplicate and not out.replies and out.callback_text is None
        assert await self.snapshot() == before, "a redelivered update changed the database"

    async def fire_timers(self) -> None:
        """The job queue: run every due settle and poll-closing job, earliest first."""
        while True:
            polls = sorted((at, i) for i, at in self.poll_timers.items() if at <= self.clock())
            if polls:
                del self.poll_timers[polls[0][1]]
                self.trace.append(f"close poll {polls[0][1]}")
                await self.deliver(await self.conv.close_poll_due(polls[0][1]), None)
                continue
            due = sorted((at, run_id) for run_id, at in self.timers.items() if at <= self.clock())
            if not due:
                return
            at, run_id = due[0]
            del self.timers[run_id]
            self.trace.append(f"settle run {run_id}")
            owner = await self.run_chat(run_id)
            before, on_screen = await self.before_update(run_id=run_id)
            out = await self.conv.settle_text(run_id)
            await self.check_scope(None, before, on_screen)
            await self.deliver(out, owner)

    async def deliver(self, out: Outcome, chat_id: int | None) -> None:
        """TelegramAdapter.deliver, checking every reply on the way. `chat_id` is the chat the
        update came from (None for a poll timer or vote): replies go there, except live poll
        results (to the facilitator) and broadcasts (to a session's members)."""
        assert not out.duplicate
        if out.callback_text is not None:
            assert isinstance(out.callback_text, str)
        for reply in out.replies:
            if isinstance(reply, Schedule):
                assert await self.run_chat(reply.run_id) == chat_id, "timer for a stranger's run"
                assert reply.at > self.clock() - timedelta(seconds=1)
                self.timers[reply.run_id] = reply.at
            elif isinstance(reply, ClosePollTimer):
                self.poll_timers[reply.poll_id] = reply.at
            elif isinstance(reply, ResultsChanged):
                # The adapter coalesces these into one edit of the live results message.
                edit = await self.conv.live_results(reply.poll_id)
                if edit is not None:
                    assert edit.chat_id in self.results_chats
                    self.edit(edit)
            elif isinstance(reply, ProgressChanged):
                pass  # campaign progress messages belong to the campaign service
            elif isinstance(reply, Broadcast):
                for chat, text, buttons in reply.messages:
                    assert chat in USER_IDS, f"a broadcast to {chat}"
                    self.show(chat, text, buttons)
            elif isinstance(reply, NativePoll):
                assert reply.chat_id in GROUP_IDS and reply.chat_id in (chat_id, None)
                assert len(reply.options) >= 2 and all(reply.options), reply
                mid = self.show(reply.chat_id, reply.question, None)
                native = f"native-{reply.poll_id}-{mid}"
                self.native_polls.append((native, len(reply.options)))
                await self.conv.remember_native_poll(reply.poll_id, native, mid)
            elif isinstance(reply, StopNativePoll):
                shown = self.messages.get(reply.message_id)
                assert shown is not None and shown.chat_id == reply.chat_id, "stop of a stranger"
            else:
                self.check_chat(reply, chat_id)
                if isinstance(reply, SendText):
                    mid = self.show(reply.chat_id, reply.text, reply.buttons)
                    if reply.prompt_run_id is not None:
                        assert reply.buttons, "a remembered prompt without buttons"
                        assert await self.run_chat(reply.prompt_run_id) == reply.chat_id
                        await self.conv.remember_messages([(reply.prompt_run_id, mid)])
                    if reply.results_poll_id is not None:
                        self.results_chats.add(reply.chat_id)
                        await self.conv.remember_messages([], [(reply.results_poll_id, mid)])
                elif isinstance(reply, EditText):
                    self.edit(reply)
                elif isinstance(reply, ClearButtons):
                    shown = self.messages.get(reply.message_id)
                    assert shown is not None and shown.chat_id == reply.chat_id, "a stranger's"
                    shown.buttons = None
                elif isinstance(reply, SendDocument):
                    assert reply.chat_id == chat_id and reply.data
                    mine = json.loads(reply.data)
                    assert mine["telegram"]["user_id"] == chat_id, "someone else's data"
                    self.pseudonyms.append(mine["pseudonym"])
                elif isinstance(reply, SendPhoto):
                    assert reply.data.startswith(b"\x89PNG"), "not a PNG"
                    self.links += LINK.findall(reply.caption)
                    self.codes += JOIN_CODE.findall(reply.caption)
                elif isinstance(reply, LeaveChat):
                    assert reply.chat_id in GROUP_IDS
                elif isinstance(reply, Typing):
                    pass  # a "typing…" indicator: nothing shown, nothing to check but the chat
                else:  # pragma: no cover
                    raise AssertionError(f"unknown reply {reply!r}")

    def check_chat(self, reply: Any, chat_id: int | None) -> None:
        """A reply goes to the chat the update came from (or, for poll results, to the
        facilitator's chat); a timer's replies go to someone we know."""
        target = reply.chat_id
        assert target in USER_IDS or target in GROUP_IDS, f"{reply!r} to an unknown chat"
        results = isinstance(reply, SendText | EditText | SendPhoto) and (
            target in self.results_chats or getattr(reply, "results_poll_id", None)
        )
        assert chat_id is None or target == chat_id or results, (
            f"{reply!r}"[:300] + f" goes to the wrong chat (not {chat_id})"
        )

    def show(self, chat_id: int, text: str, buttons: list | None) -> int:
        """A new message in a chat; its id."""
        check_text(text)
        data = check_keyboard(buttons)
        mid = next(self.bot_message_ids)
        self.messages[mid] = Shown(chat_id, text, data or None, list(data))
        self.links += LINK.findall(text)
        self.pseudonyms += PSEUDONYM.findall(text)
        return mid

    def edit(self, reply: EditText) -> None:
        check_text(reply.text)
        data = check_keyboard(reply.buttons)
        shown = self.messages.get(reply.message_id)
        assert shown is not None and shown.chat_id == reply.chat_id, "edit of a stranger's"
        shown.text, shown.buttons = reply.text, data or None
        shown.ever += data

    # --- reading the database ----------------------------------------------------------
    async def count_participants(self) -> int:
        async with self.db.transaction() as repo:
            return len((await repo.session.scalars(select(Participant.id))).all())

    async def run_chat(self, run_id: int) -> int | None:
        async with self.db.transaction() as repo:
            return await repo.session.scalar(
                select(Identity.chat_id)
                .join(Run, Run.participant_id == Identity.participant_id)
                .where(Run.id == run_id)
            )

    async def answer_rows(self, repo: Any = None) -> dict[tuple[int, str], tuple]:
        if repo is None:
            async with self.db.transaction() as repo:
                return await self.answer_rows(repo)
        rows = (await repo.session.scalars(select(Answer))).all()
        return {(a.run_id, a.step_id): (a.value, a.skipped, a.revision) for a in rows}

    async def snapshot(self) -> dict[str, list]:
        tables = {}
        async with self.db.transaction() as repo:
            for model in (
                Participant,
                Identity,
                Consent,
                Run,
                Answer,
                Invite,
                Group,
                GroupMember,
                StaffChat,
            ):
                rows = (await repo.session.execute(select(model.__table__))).all()
                tables[model.__tablename__] = sorted((tuple(r) for r in rows), key=repr)
        return tables

    def flow_of(self, run: Run) -> Flow:
        flow = self.flows.get(run.flow_version_id)
        if flow is None:
            flow = self.flows[run.flow_version_id] = Flow.model_validate(
                run.flow_version.definition
            )
        return flow

    async def before_update(
        self, telegram_user_id: int | None = None, run_id: int | None = None
    ) -> tuple[dict, OnScreen | None]:
        """All answers, and the open run of a person (or a run by id) with its question."""
        async with self.db.transaction() as repo:
            rows = await self.answer_rows(repo)
            if run_id is not None:
                run = await repo.run(run_id)
            else:
                identity = await repo.identity_by_telegram(telegram_user_id)
                run = await repo.open_run(identity.participant_id) if identity else None
            if run is None or run.status not in OPEN or not run.state.get("current"):
                return rows, None
            return rows, OnScreen(run.id, run.state["current"], run.collect_until is not None)

    async def check_scope(self, ev: Any, before: dict, on_screen: OnScreen | None) -> None:
        """One update (or settle) changes at most the answer to the question on screen; a
        question's button only the answer to its own question."""
        after = await self.answer_rows()
        changed = {key for key, row in after.items() if before.get(key) != row}
        if not changed:
            return
        allowed = {(on_screen.run_id, on_screen.step_id)} if on_screen else set()
        button = _run_button(ev)
        if button is not None:
            async with self.db.transaction() as repo:
                run = await repo.run(button.run_id)
                flow = self.flow_of(run) if run is not None else None
            own = set()
            if flow is not None and button.step_index < len(flow.steps):
                own = {(button.run_id, flow.steps[button.step_index].id)}
            allowed &= own
        what = f"{ev!r}"[:120] if ev is not None else "the merge-window timer"
        assert changed <= allowed, (
            f"{what} changed the answers {sorted(changed)}; the question on screen was {on_screen}"
        )

    async def check_deleted(self, p: Profile) -> None:
        async with self.db.transaction() as repo:
            assert await repo.identity_by_telegram(p.user_id) is None, "identity kept on /delete"

    async def check_invariants(self) -> int:
        """Every invariant of the stored data; returns the number of stored answers."""
        async with self.db.transaction() as repo:
            s = repo.session
            participants = {p.id: p for p in (await s.scalars(select(Participant))).all()}
            identities = {i.participant_id: i for i in (await s.scalars(select(Identity))).all()}
            consents = (await s.scalars(select(Consent))).all()
            runs = (await s.scalars(select(Run))).all()
            answers = (await s.scalars(select(Answer))).all()
            polls = {p.id: p for p in (await s.scalars(select(Poll))).all()}
            votes = (await s.scalars(select(Vote))).all() if polls else []
            staff_things = 0
            if not self.admin:
                for model in (Invite, StaffChat):
                    staff_things += await s.scalar(select(func.count()).select_from(model))
        consented = {c.participant_id for c in consents}
        by_run: dict[int, dict[str, Answer]] = {}
        for a in answers:
            assert a.step_id not in by_run.setdefault(a.run_id, {}), "two answers to one step"
            by_run[a.run_id][a.step_id] = a
        assert len(set(by_run) - {r.id for r in runs}) == 0, "answers without a run"
        open_runs: dict[int, int] = {}
        for p in participants.values():
            assert p.stage in STAGES, p.stage
            assert p.role in ("participant", "facilitator", "admin"), p.role
        for run in runs:
            flow = self.flow_of(run)
            state = run.state
            where = f"run {run.id} ({flow.id}, {run.status}, current={state.get('current')})"
            assert run.status in STATUSES, where
            assert run.participant_id in consented, f"{where}: a run without consent"
            current = state.get("current")
            if run.status == "complete":
                assert run.finished_at is not None, where
                assert state.get("finished") is True and current is None, where
            else:
                assert current is not None and flow.has_step(current), where
                assert flow.step(current).is_input, where
                assert not state.get("finished"), where
            if run.status in OPEN:
                assert run.participant_id not in open_runs, f"{where}: two open runs"
                open_runs[run.participant_id] = run.id
                assert run.participant_id in identities, f"{where}: open run nobody can reach"
            if run.status != "active":
                assert run.collect_until is None, f"{where}: collecting while not active"
            if run.status not in OPEN:
                assert run.finished_at is not None, f"{where}: over, but no finished_at"
            if run.collect_until is not None:
                assert flow.step(current).type is StepType.TEXT, where
                assert run.collect_until <= self.clock() + timedelta(seconds=MERGE_SECONDS)
            if run.prompt_message_id is not None:
                shown = self.messages.get(run.prompt_message_id)
                assert shown is not None, f"{where}: remembers a prompt never sent"
                identity = identities.get(run.participant_id)  # None once unlinked
                if identity is not None:
                    assert shown.chat_id == identity.chat_id, f"{where}: prompt in another chat"
            stored = by_run.get(run.id, {})
            for step_id, a in stored.items():
                assert flow.has_step(step_id), f"{where}: answer to unknown step {step_id}"
                step = flow.step(step_id)
                assert step.is_input, f"{where}: answer to message step {step_id}"
                check_value(step, a.value, a.skipped, f"{where} {step_id}")
            # The run's state and the answers table tell the same story. A merge window
            # (or a cancel during one) leaves the collected text in the table only.
            in_state = dict(state.get("answers") or {})
            pending = {current} if current and current not in in_state else set()
            extra = set(stored) - set(in_state)
            if run.collect_until is not None or run.status == "incomplete":
                assert extra <= pending, f"{where}: answers {extra} not in the run's state"
            else:
                assert not extra, f"{where}: answers {extra} not in the run's state"
            assert set(in_state) <= set(stored), f"{where}: {set(in_state) - set(stored)} lost"
            for step_id, value in in_state.items():
                if run.collect_until is not None and step_id == current:
                    continue
                assert stored[step_id].value == value, f"{where}: {step_id} differs from state"
            if run.status == "complete":
                path = path_of(flow, in_state)
                assert set(stored) == set(path), f"{where}: {set(stored) ^ set(path)} off path"
        for run in runs:
            if run.collect_until is not None and run.status == "active":
                assert run.id in self.timers, f"run {run.id} collects text, but no timer is armed"
        for poll in polls.values():
            assert poll.status in ("open", "closed"), poll.status
            if poll.status != "open":  # no vote can be linked to anyone any more
                assert poll.salt is None and poll.closed_at is not None, f"poll {poll.id}"
        for vote in votes:
            poll = polls[vote.poll_id]
            assert vote.value not in (None, []), f"an empty vote on poll {poll.id}"
            if poll.anonymous:
                assert vote.participant_id is None, f"an anonymous vote with a name ({poll.id})"
        if not self.admin:
            assert all(p.role == "participant" for p in participants.values())
            assert not staff_things, "invites or staff chats without any staff"
            assert not polls, "a poll without any staff"
        return len(answers)


@dataclass(frozen=True)
class OnScreen:
    """The question a run shows when an update arrives."""

    run_id: int
    step_id: str
    collecting: bool


def _run_button(ev: Any) -> callbacks.RunButton | None:
    if isinstance(ev, Tap):
        parsed = callbacks.parse(ev.data)
        if isinstance(parsed, callbacks.RunButton) and not parsed.action.startswith("tog:"):
            return parsed
    return None


def check_text(text: str) -> None:
    assert isinstance(text, str) and 1 <= len(text) <= MAX_TEXT, f"text of {len(text)} chars"
    assert text.strip(), "a blank message"


def check_keyboard(buttons: list | None) -> list[str]:
    data: list[str] = []
    for row in buttons or []:
        assert row, "an empty keyboard row"
        for label, payload in row:
            assert label.strip(), "a button without a label"
            assert 1 <= len(payload.encode()) <= callbacks.MAX_BYTES, payload
            assert callbacks.parse(payload) is not None, f"the bot cannot parse its own {payload}"
            data.append(payload)
    return data


def check_value(step: Step, value: Any, skipped: bool, where: str) -> None:
    """An answer has the shape its step type promises (None only when skipped)."""
    if value is None:
        assert skipped and step.optional, f"{where}: None but not a skip of an optional step"
        return
    assert not skipped, where
    t = step.type
    if t is StepType.TEXT:
        assert isinstance(value, str) and value == value.strip() and value, where
        assert len(value) <= step.effective_max_length(), f"{where}: {len(value)} chars"
    elif t is StepType.SINGLE_CHOICE:
        assert value in step.options, f"{where}: {value!r}"
    elif t is StepType.MULTIPLE_CHOICE:
        low, high = step.choice_bounds()
        assert isinstance(value, list) and low <= len(value) <= high, f"{where}: {value!r}"
        assert value == [c for c in step.options if c in value], f"{where}: {value!r}"
    elif t in (StepType.SCALE, StepType.NUMBER):
        assert isinstance(value, int | float) and not isinstance(value, bool), where
        assert step.min is None or value >= step.min, f"{where}: {value!r}"
        assert step.max is None or value <= step.max, f"{where}: {value!r}"
        if t is StepType.SCALE or step.integer:
            assert isinstance(value, int), f"{where}: {value!r}"
    elif t is StepType.YES_NO:
        assert value in ("yes", "no"), f"{where}: {value!r}"
    elif t is StepType.DATE:
        assert isinstance(value, str) and date.fromisoformat(value).isoformat() == value, where
    elif t in (StepType.VOICE, StepType.PHOTO):
        assert isinstance(value, dict) and isinstance(value.get("file_id"), str), where
        assert value["file_id"][:1] == ("V" if t is StepType.VOICE else "P"), f"{where}: {value}"
        assert "path" in value, where
    else:  # pragma: no cover
        raise AssertionError(f"{where}: answer to a {t} step")


def path_of(flow: Flow, answers: dict[str, Any]) -> list[str]:
    """The input steps a finished run passed, given its answers."""
    on: list[str] = []
    i = 0
    while i < len(flow.steps):
        step = flow.steps[i]
        if step.when and not parse_condition(step.when).evaluate(answers):
            i += 1
            continue
        if step.is_input:
            on.append(step.id)
        if step.next == END:
            break
        i = flow.index(step.next) if step.next else i + 1
    return on


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database, copied for every example."""
    path = tmp_path_factory.mktemp("props") / "template.sqlite"
    upgrade(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn:  # fold the WAL in: the copy must be one file
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


_copies = itertools.count()


async def play(template: Path, scenario: Scenario, inspect: Any = None) -> Sim:
    work = template.parent / f"example-{next(_copies)}"
    work.mkdir()
    shutil.copyfile(template, work / "db.sqlite")
    db = Database(f"sqlite+aiosqlite:///{work / 'db.sqlite'}")
    # A throwaway database needs no durability: skip fsyncs, keep the rest as in production.
    sqlalchemy_event.listen(
        db.engine.sync_engine,
        "connect",
        lambda conn, _record: conn.execute("PRAGMA synchronous=OFF"),
    )
    clock = Clock()

    def make_conv(notice_version: str) -> Conversation:
        return Conversation(
            db,
            CATALOG,
            clock=clock,
            text_merge_seconds=MERGE_SECONDS,
            admin_ids=frozenset({USER_IDS[0]}) if scenario.admin else frozenset(),
            media_dir=work / "media",
            delete_mode=scenario.delete_mode,
            notice_version=notice_version,
        )

    sim = Sim(make_conv, db, clock, scenario)
    try:
        for action in scenario.actions:
            await sim.act(action)
            await sim.check_invariants()
        sim.clock.now += timedelta(days=1)
        await sim.fire_timers()
        stored = await sim.check_invariants()
        if currently_in_test_context():
            async with db.transaction() as repo:
                done = await repo.session.scalar(
                    select(func.count(Run.id)).where(Run.status == "complete")
                )
            target(float(stored), label="answers stored")
            target(float(done), label="complete runs")
            event(f"complete runs: {min(done, 2)}")
            async with db.transaction() as repo:
                votes = await repo.session.scalar(select(func.count(Vote.id)))
                polls = await repo.session.scalar(select(func.count(Poll.id)))
            event(f"polls: {min(polls, 1)}, votes: {min(votes, 1)}")
        if inspect is not None:
            await inspect(sim)
        return sim
    except BaseException as exc:
        exc.add_note("steps:\n  " + "\n  ".join(sim.trace[-40:]))
        raise
    finally:
        await db.dispose()
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- the tests

PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Its examples are longer: fewer of them keep the whole file under a minute.
PROGRESS_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=max(1, EXAMPLES * 4 // 5))


@PROPERTY_SETTINGS
@given(scenario=scenarios(KINDS))
def test_random_updates_keep_the_invariants(template_db: Path, scenario: Scenario) -> None:
    """1–3 people, every kind of update, in any order."""
    asyncio.run(play(template_db, scenario))


@PROGRESS_SETTINGS
@given(scenario=scenarios(PROGRESS_KINDS, max_people=1, min_steps=15, max_steps=40))
def test_one_person_answering_keeps_the_invariants(template_db: Path, scenario: Scenario) -> None:
    """One person working through a flow, disturbed now and then."""
    asyncio.run(play(template_db, scenario))


def scripted(template: Path, script: list[tuple]) -> dict[str, Any]:
    """Play a fixed script for one person; the answers of their (only) run."""
    me = Profile(USER_IDS[0], "Lea", None, "de")
    seen: dict[str, Any] = {}

    async def collect(sim: Sim) -> None:
        async with sim.db.transaction() as repo:
            run = (await repo.session.scalars(select(Run))).one()
            seen["status"] = run.status
            seen.update({a.step_id: a.value for a in await repo.answers(run.id)})

    asyncio.run(play(template, Scenario([me], False, "erase", script), collect))
    return seen


TAP = ("tap_latest", 0, 0.0, 0)  # the first button of the newest message with buttons
SCHOOL_SURVEY_TO_CAREER_FIELD = [
    ("start", 0, 0.0, "school-survey"),
    TAP,  # consent: 16 or older
    ("text", 0, 0.0, "9"),
    ("text", 0, 0.0, "Zeichnen"),
    ("text", 0, 1.0, "und Fußball"),  # joins the answer (merge window)
    ("clock", 0, MERGE_SECONDS + 1, None),
    ("tap_latest", 0, 0.0, 3),  # scale: 4
    TAP,  # career_plan: training -> career_field (text, optional, with a skip button)
]


def test_the_harness_can_finish_a_flow(template_db: Path) -> None:
    """The simulation is not vacuous: scripted actions through it complete a whole survey."""
    script = [
        *SCHOOL_SURVEY_TO_CAREER_FIELD,
        ("text", 0, 0.0, "Pflege"),
        ("clock", 0, MERGE_SECONDS + 1, None),
        TAP,  # orientation
        ("tap_latest", 0, 0.0, 5),  # done
        ("redeliver", 0, 0.0, 0),
        TAP,  # yes
    ]
    assert scripted(template_db, script) == {
        "status": "complete",
        "grade": 9,
        "strengths": "Zeichnen\nund Fußball",
        "self_confidence": 4,
        "career_plan": "training",
        "career_field": "Pflege",
        "support_needs": ["orientation"],
        "talked_to_counsellor": "yes",
    }


def test_skip_during_a_merge_window_does_not_skip_the_next_question(template_db: Path) -> None:
    """Found by the property test: the tap was applied to the next question, not yet shown."""
    script = [
        *SCHOOL_SURVEY_TO_CAREER_FIELD,
        ("text", 0, 0.0, "Pflege"),  # opens the merge window of career_field
        TAP,  # within it: "Überspringen" on career_field (the only button shown)
    ]
    stored = scripted(template_db, script)
    assert stored["career_field"] == "Pflege"
    # support_needs (optional multiple choice) was never shown before the tap
    assert "support_needs" not in stored


def test_voice_during_a_merge_window_does_not_answer_the_next_question(
    template_db: Path,
) -> None:
    """Found by the property test: the voice note became the answer to the next question."""
    script = [
        ("start", 0, 0.0, "reporter-interview"),
        TAP,  # consent
        ("text", 0, 0.0, "Ich bin Lea"),
        ("clock", 0, MERGE_SECONDS + 1, None),
        ("tap_latest", 0, 0.0, 2),  # confidence 3
        ("tap_latest", 0, 0.0, 3),  # plan: work
        ("tap_latest", 0, 0.0, 1),  # has_job: no
        TAP,  # support: applications
        ("tap_latest", 0, 0.0, 7),  # done
        TAP,  # next_date: skip
        ("text", 0, 0.0, "Nichts"),  # `changes`: opens the merge window
        ("voice", 0, 0.0, 7),  # within it, while `changes` is still the question on screen
    ]
    stored = scripted(template_db, script)
    assert stored["changes"] == "Nichts"
    # `story` (a voice question) had not been sent when the voice note arrived
    assert "story" not in stored
