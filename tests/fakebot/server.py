"""A strict fake Telegram Bot API server (aiohttp, own thread and event loop).

Every call is checked against api.json (method, parameter names, required parameters, types,
nested objects) and against the documented limits; rejected calls get Telegram-style errors
and are recorded in :attr:`FakeBotAPI.errors`. See tests/fakebot/README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import random
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiohttp import web

from .spec import BotApiSpec, SpecError, Uploaded, load_spec
from .textfmt import EntityParseError, parse_text, utf16_len
from .webhook import GETUPDATES_CONFLICT, WebhookDelivery

# --------------------------------------------------------------------------- limits
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER = 200
MAX_POLL_QUESTION = 300
MIN_POLL_OPTIONS = 2
MAX_POLL_OPTIONS = 12
MAX_POLL_OPTION = 100
MAX_BUTTONS = 100
MAX_COMMANDS = 100
MAX_COMMAND_DESCRIPTION = 256
MAX_DOWNLOAD = 20 * 1024 * 1024
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
PARSE_MODES = {"html", "markdown", "markdownv2"}
DEFAULT_UPDATE_TYPES_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}
# Methods that never get random faults unless named explicitly in set_fault_rates(methods=...).
SETUP_METHODS = {
    "getUpdates",
    "getMe",
    "deleteWebhook",
    "getWebhookInfo",
    "setWebhook",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setChatMenuButton",
    "getChatMenuButton",
    "close",
    "logOut",
}
# python-telegram-bot's shared `_send_message` helper fills these from `telegram.ext.Defaults`
# into every send/edit call, also where the method has no such parameter (e.g. parse_mode on
# sendPoll, protect_content on editMessageText). Telegram ignores unknown parameters; the fake
# tolerates only these and records them in `FakeBotAPI.ignored_params`.
PTB_DEFAULTS_PARAMS = frozenset(
    {"parse_mode", "disable_notification", "protect_content", "link_preview_options"}
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class Call(NamedTuple):
    time: float
    method: str
    params: dict[str, Any]


class Rejection(NamedTuple):
    method: str
    params: dict[str, Any]
    description: str


class Fault(NamedTuple):
    time: float
    method: str
    params: dict[str, Any]
    error_code: int
    description: str


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad(problem: str) -> ApiError:
    return ApiError(400, f"Bad Request: {problem}")


# --------------------------------------------------------------------------- state records
@dataclass
class UserRecord:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_api(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d

    @property
    def display(self) -> str:
        return self.first_name + (f" {self.last_name}" if self.last_name else "")


@dataclass
class FileRecord:
    file_id: str
    file_unique_id: str
    kind: str  # document / photo / voice / sticker / audio / video ...
    data: bytes
    file_path: str
    filename: str | None = None
    mime_type: str | None = None


@dataclass
class MessageRecord:
    message_id: int
    chat_id: int
    from_bot: bool
    sender: dict[str, Any]
    date: int
    kind: str  # text / document / photo / voice / poll / sticker / location / ...
    text: str | None = None  # plain text (after parsing)
    raw_text: str | None = None  # text as sent by the bot (with markup)
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    raw_caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None  # inline keyboard only
    other_markup: dict[str, Any] | None = None  # reply keyboard / remove / force reply
    media: dict[str, Any] = field(default_factory=dict)  # e.g. {"document": {...}}
    file: FileRecord | None = None
    poll_id: str | None = None
    reply_to: int | None = None
    edit_count: int = 0
    edit_date: int | None = None
    deleted: bool = False
    seq: int = 0  # event number of the last change


@dataclass
class ChatRecord:
    id: int
    type: str  # private / group / supergroup
    title: str | None = None
    username: str | None = None
    user: UserRecord | None = None  # private chats
    next_message_id: int = 1
    messages: dict[int, MessageRecord] = field(default_factory=dict)
    started: bool = False  # private: the user has written to the bot
    blocked: bool = False
    bot_member: bool = True
    bot_admin: bool = False
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    privacy: bool = True
    reply_keyboard: dict[str, Any] | None = None
    transcript: list[str] = field(default_factory=list)
    send_times: list[float] = field(default_factory=list)
    actions: list[tuple[float, str]] = field(default_factory=list)
    menu_button: dict[str, Any] | None = None

    def to_api(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private" and self.user is not None:
            d["first_name"] = self.user.first_name
            if self.user.last_name:
                d["last_name"] = self.user.last_name
            if self.user.username:
                d["username"] = self.user.username
        else:
            d["title"] = self.title or str(self.id)
            if self.username:
                d["username"] = self.username
        return d


@dataclass
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    answer: dict[str, Any] | None = None
    seq: int = 0
    update_id: int = 0


@dataclass
class PollRecord:
    id: str
    chat_id: int
    message_id: int
    question: str
    options: list[str]
    persistent_ids: list[str]
    is_anonymous: bool = True
    type: str = "regular"
    allows_multiple_answers: bool = False
    allows_revoting: bool = True
    is_closed: bool = False
    correct_option_ids: list[int] | None = None
    explanation: str | None = None
    open_period: int | None = None
    close_date: int | None = None
    description: str | None = None
    votes: dict[int, list[int]] = field(default_factory=dict)  # user id -> option ids

    def to_api(self) -> dict[str, Any]:
        counts = [0] * len(self.options)
        for ids in self.votes.values():
            for i in ids:
                counts[i] += 1
        d: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "options": [
                {"persistent_id": pid, "text": text, "voter_count": c}
                for pid, text, c in zip(self.persistent_ids, self.options, counts, strict=True)
            ],
            "total_voter_count": sum(1 for v in self.votes.values() if v),
            "is_closed": self.is_closed,
            "is_anonymous": self.is_anonymous,
            "type": self.type,
            "allows_multiple_answers": self.allows_multiple_answers,
            "allows_revoting": self.allows_revoting,
            "members_only": False,
        }
        if self.correct_option_ids is not None:
            d["correct_option_ids"] = list(self.correct_option_ids)
        for key in ("explanation", "open_period", "close_date", "description"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d


@dataclass
class _FaultRule:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    times: int


# --------------------------------------------------------------------------- the server
class FakeBotAPI:
    """Strict fake of the Telegram Bot API. See the module docstring and README.md."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "backbone_test_bot",
        spec_path: str | None = None,
        *,
        bot_first_name: str = "Backbone Test",
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        try:
            self.bot_id = int(token.split(":", 1)[0])
        except ValueError:
            self.bot_id = 123456
        self.spec: BotApiSpec = load_spec(spec_path)
        self.host = host
        self._port = port
        self.url: str = ""

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._errors: list[Rejection] = []
        self._faults: list[Fault] = []
        self._spec_violations: list[str] = []
        self._ignored_params: list[tuple[str, str, Any]] = []

        self._update_ids = itertools.count(700_000_001)
        self._updates: list[dict[str, Any]] = []  # queued, not yet confirmed
        self._fetched: set[int] = set()
        self._update_marks: dict[int, int] = {}  # update id -> event seq when queued
        self._deliveries: dict[int, int] = {}  # update id -> how often getUpdates returned it
        self._confirmed: set[int] = set()  # update ids the bot confirmed (offset past them)
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._polling = 0
        self._last_activity = time.monotonic()

        self._seq = 0
        self._events: list[tuple[int, int, int, str]] = []  # (seq, chat, message id, kind)
        self.chats: dict[int, ChatRecord] = {}
        self.users: dict[int, UserRecord] = {}
        self.files: dict[str, FileRecord] = {}
        self._files_by_path: dict[str, FileRecord] = {}
        self.callback_queries: dict[str, CallbackRecord] = {}
        self.polls: dict[str, PollRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.default_menu_button: dict[str, Any] = {"type": "default"}
        self._sim_users: dict[int, Any] = {}
        self._sim_groups: dict[int, Any] = {}
        self._file_counter = itertools.count(1)
        self._cq_counter = itertools.count(1)

        self._fail_rules: list[_FaultRule] = []
        self._rate_429 = 0.0
        self._rate_5xx = 0.0
        self._retry_after = 1
        self._status_5xx = 500
        self._rate_methods: set[str] | None = None
        self._rng = random.Random(0)
        self._limits: dict[str, float | None] = {}
        self._all_send_times: list[tuple[float, int]] = []

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._updates_event: asyncio.Event | None = None
        self._stopping = False
        self.webhook = WebhookDelivery(self)  # setWebhook and the deliveries (webhook.py)

    # ================================================================ lifecycle
    def start(self) -> FakeBotAPI:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        sock.listen(128)
        sock.setblocking(False)
        self._port = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self._port}"
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(sock))
            except BaseException as exc:  # pragma: no cover - startup failure
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-bot-api", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    async def _serve(self, sock: socket.socket) -> None:
        self._updates_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._stopping = True
        loop = self._loop

        async def shutdown() -> None:
            if self._updates_event is not None:
                self._updates_event.set()
            await self.webhook.close()
            if self._runner is not None:
                await self._runner.cleanup()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """For PTB's `base_url`: `<root>/bot` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # ================================================================ records for tests
    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def errors(self) -> list[Rejection]:
        with self._lock:
            return list(self._errors)

    @property
    def faults(self) -> list[Fault]:
        """Calls answered with an injected fault (fail_next / set_fault_rates / block)."""
        with self._lock:
            return list(self._faults)

    @property
    def spec_violations(self) -> list[str]:
        """Results or updates of the fake itself that do not match api.json (fake bugs)."""
        with self._lock:
            return list(self._spec_violations)

    @property
    def ignored_params(self) -> list[tuple[str, str, Any]]:
        """(method, name, value) of parameters the method does not have that PTB's Defaults
        add anyway (see PTB_DEFAULTS_PARAMS); accepted and ignored, as Telegram does."""
        with self._lock:
            return list(self._ignored_params)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def clear_records(self) -> None:
        with self._lock:
            self._calls.clear()
            self._errors.clear()
            self._faults.clear()

    def send_times(self, chat_id: int) -> list[float]:
        """time.time() of every accepted send*/copy*/forward* call to this chat."""
        with self._lock:
            chat = self.chats.get(chat_id)
            return list(chat.send_times) if chat else []

    def chat_actions(self, chat_id: int) -> list[tuple[float, str]]:
        with self._lock:
            chat = self.chats.get(chat_id)
            return list(chat.actions) if chat else []

    def bot_commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list:
        with self._lock:
            return list(self.commands.get((_scope_key(scope), language_code), []))

    # ================================================================ faults
    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        name = self.spec.method_name(method) or method
        if description is None:
            description = _default_description(error_code, retry_after)
        with self._lock:
            self._fail_rules.append(_FaultRule(name, error_code, description, retry_after, times))

    def set_fault_rates(
        self,
        rate_429: float = 0.0,
        retry_after: int = 1,
        rate_5xx: float = 0.0,
        seed: int | None = None,
        methods: Iterable[str] | None = None,
        status_5xx: int = 500,
    ) -> None:
        """Random faults on every accepted call (except setup methods and getUpdates unless
        `methods` names them)."""
        with self._lock:
            self._rate_429 = rate_429
            self._rate_5xx = rate_5xx
            self._retry_after = retry_after
            self._status_5xx = status_5xx
            self._rng = random.Random(seed)
            self._rate_methods = (
                {self.spec.method_name(m) or m for m in methods} if methods is not None else None
            )

    def set_rate_limits(
        self,
        per_chat_per_second: float | None = None,
        group_per_minute: int | None = None,
        global_per_second: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Enforce Telegram's flood limits on send* calls: 429 "Too Many Requests: retry after
        N" when a call would exceed them (Telegram's documented guidance is 1 message/s per
        chat, 20/min per group, 30/s overall). All None (default) = not enforced."""
        with self._lock:
            self._limits = {
                "chat": per_chat_per_second,
                "group": group_per_minute,
                "global": global_per_second,
                "retry_after": retry_after,
            }

    def all_send_times(self) -> list[tuple[float, int]]:
        """(time.time(), chat_id) of every accepted send*/copy*/forward* call, in order."""
        with self._lock:
            return list(self._all_send_times)

    def _rate_fault(self, method: str, p: dict[str, Any]) -> ApiError | None:
        if not self._limits or not _is_send(method):
            return None
        now = time.time()
        with self._lock:
            chat = self.chats.get(p.get("chat_id")) if isinstance(p.get("chat_id"), int) else None
            waits: list[float] = []
            per_chat = self._limits.get("chat")
            if chat is not None and per_chat and chat.type == "private":
                recent = [t for t in chat.send_times if now - t < 1.0]
                if len(recent) >= per_chat:
                    waits.append(1.0 - (now - recent[0]))
            per_group = self._limits.get("group")
            if chat is not None and per_group and chat.type != "private":
                recent = [t for t in chat.send_times if now - t < 60.0]
                if len(recent) >= per_group:
                    waits.append(60.0 - (now - recent[0]))
            per_all = self._limits.get("global")
            if per_all:
                recent = [t for t, _ in self._all_send_times if now - t < 1.0]
                if len(recent) >= per_all:
                    waits.append(1.0 - (now - recent[0]))
            if not waits:
                return None
            fixed = self._limits.get("retry_after")
            after = int(fixed) if fixed else max(1, int(max(waits) + 0.999))
            return ApiError(429, f"Too Many Requests: retry after {after}", {"retry_after": after})

    def block(self, user_id: int, notify: bool = True) -> None:
        """The user blocks the bot: every send to the chat -> 403; `my_chat_member` update."""
        self._set_blocked(user_id, True, notify)

    def unblock(self, user_id: int, notify: bool = True) -> None:
        self._set_blocked(user_id, False, notify)

    def _set_blocked(self, user_id: int, blocked: bool, notify: bool) -> None:
        with self._lock:
            chat = self.chats.get(user_id)
            user = self.users.get(user_id)
            if chat is None or user is None:
                raise KeyError(f"unknown user {user_id}")
            if chat.blocked == blocked:
                return
            chat.blocked = blocked
            chat.transcript.append(f"[{'blocked' if blocked else 'unblocked'} the bot]")
            if notify:
                bot = self._bot_user()
                left = {"status": "kicked", "user": bot, "until_date": 0}
                member = {"status": "member", "user": bot}
                old, new = (member, left) if blocked else (left, member)
                self._enqueue(
                    "my_chat_member",
                    {
                        "chat": chat.to_api(),
                        "from": user.to_api(),
                        "date": _now(),
                        "old_chat_member": old,
                        "new_chat_member": new,
                    },
                )

    def _take_fault(self, method: str) -> ApiError | None:
        with self._lock:
            for rule in self._fail_rules:
                if rule.method == method and rule.times > 0:
                    rule.times -= 1
                    if rule.times == 0:
                        self._fail_rules.remove(rule)
                    params = {"retry_after": rule.retry_after} if rule.retry_after else None
                    return ApiError(rule.error_code, rule.description, params)
            if self._rate_429 <= 0 and self._rate_5xx <= 0:
                return None
            if self._rate_methods is not None:
                if method not in self._rate_methods:
                    return None
            elif method in SETUP_METHODS:
                return None
            r = self._rng.random()
            if r < self._rate_429:
                return ApiError(
                    429,
                    f"Too Many Requests: retry after {self._retry_after}",
                    {"retry_after": self._retry_after},
                )
            if r < self._rate_429 + self._rate_5xx:
                return ApiError(self._status_5xx, "Internal Server Error")
            return None

    # ================================================================ simulated people
    def user(
        self,
        user_id: int,
        first_name: str = "Lea",
        language_code: str | None = "de",
        username: str | None = None,
        last_name: str | None = None,
    ):
        """A simulated person; their private chat with the bot has chat id == user id."""
        from .people import SimUser

        with self._lock:
            if user_id in self._sim_users:
                return self._sim_users[user_id]
            rec = UserRecord(user_id, first_name, last_name, username, language_code)
            self.users[user_id] = rec
            self.chats[user_id] = ChatRecord(user_id, "private", user=rec)
            sim = SimUser(self, rec)
            self._sim_users[user_id] = sim
            return sim

    def started_user(self, user_id: int, first_name: str = "Lea", language_code: str | None = "de"):
        """`user()` for someone who wrote to the bot before the test began (no update is
        queued): the bot may message them first. For seeding many existing people cheaply."""
        sim = self.user(user_id, first_name, language_code)
        with self._lock:
            self.chats[user_id].started = True
        return sim

    def group(
        self,
        chat_id: int,
        title: str = "Test group",
        *,
        type: str = "group",  # noqa: A002 - mirrors Chat.type
        username: str | None = None,
        bot_admin: bool = False,
        privacy: bool = True,
    ):
        """A simulated group (chat_id negative, like Telegram); the bot is a member."""
        from .people import SimGroup

        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        with self._lock:
            if chat_id in self._sim_groups:
                return self._sim_groups[chat_id]
            chat = ChatRecord(
                chat_id, type, title=title, username=username, bot_admin=bot_admin, privacy=privacy
            )
            self.chats[chat_id] = chat
            sim = SimGroup(self, chat)
            self._sim_groups[chat_id] = sim
            return sim

    def poll_answer(self, user: Any, poll_id: str, option_ids: list[int]) -> int | None:
        """A person votes in a native poll (empty list = retract). Returns the update id of
        the poll_answer update (None for anonymous polls, which only produce `poll`)."""
        urec: UserRecord = user.record if hasattr(user, "record") else user
        with self._lock:
            poll = self.polls.get(poll_id)
            if poll is None:
                raise KeyError(f"unknown poll {poll_id}")
            if poll.is_closed:
                raise ValueError("poll is closed")
            if any(i < 0 or i >= len(poll.options) for i in option_ids):
                raise ValueError(f"option ids out of range: {option_ids}")
            if len(option_ids) > 1 and not poll.allows_multiple_answers:
                raise ValueError("poll allows one answer only")
            if len(set(option_ids)) != len(option_ids):
                raise ValueError("duplicate option ids")
            if poll.votes.get(urec.id) and not poll.allows_revoting:
                raise ValueError("poll does not allow changing the vote")
            poll.votes[urec.id] = sorted(option_ids)
            chat = self.chats[poll.chat_id]
            labels = ", ".join(poll.options[i] for i in option_ids) or "(retracted)"
            chat.transcript.append(f"[vote] {urec.display} -> {labels}")
            self._enqueue("poll", poll.to_api())
            if poll.is_anonymous:
                return None
            return self._enqueue(
                "poll_answer",
                {
                    "poll_id": poll.id,
                    "user": urec.to_api(),
                    "option_ids": sorted(option_ids),
                    "option_persistent_ids": [poll.persistent_ids[i] for i in sorted(option_ids)],
                },
            )

    def inject_raw_update(self, payload: dict[str, Any]) -> int:
        """Queue an update exactly as given (plus a fresh update_id), WITHOUT checking it
        against the spec: for updates a real (older or self-hosted) Bot API server may send
        that the spec or python-telegram-bot would not accept. Returns the update id."""
        with self._lock:
            uid = next(self._update_ids)
            self._updates.append({"update_id": uid, **payload})
            self._update_marks[uid] = self._seq
            self._cond.notify_all()
        loop, ev = self._loop, self._updates_event
        if loop is not None and ev is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ev.set)
        return uid

    def update_confirmed(self, update_id: int) -> bool:
        """True once the bot confirmed the update (a getUpdates offset past it)."""
        with self._lock:
            return update_id in self._confirmed

    def times_delivered(self, update_id: int) -> int:
        """How often getUpdates handed this update to the bot (more than once: redelivered)."""
        with self._lock:
            return self._deliveries.get(update_id, 0)

    def updates_pending(self) -> int:
        """Queued updates the bot has not fetched yet."""
        with self._lock:
            return sum(1 for u in self._updates if u["update_id"] not in self._fetched)

    @property
    def polling(self) -> bool:
        """True while a getUpdates long poll is waiting for updates."""
        with self._lock:
            return self._polling > 0

    def wait_polling(self, timeout: float = 30.0) -> None:
        """Block until the bot sits in a getUpdates long poll (i.e. it is up and listening).
        AssertionError (with the rejected calls) on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._polling == 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"the bot did not start long polling within {timeout}s; "
                        f"calls: {[c.method for c in self._calls][-10:]}; "
                        f"rejected: {self._errors[-5:]}"
                    )
                self._cond.wait(min(remaining, 0.5))

    def wait_idle(self, timeout: float = 10.0, quiet: float = 0.0) -> None:
        """Block until every queued update was fetched by the bot (and, with `quiet`, no call
        came in for that many seconds). AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                pending = sum(1 for u in self._updates if u["update_id"] not in self._fetched)
                now = time.monotonic()
                idle_for = now - self._last_activity
                if pending == 0 and idle_for >= quiet:
                    return
                if now >= deadline:
                    raise AssertionError(
                        f"fake Bot API not idle after {timeout}s: {pending} updates pending, "
                        f"last call {idle_for:.2f}s ago; rejected calls: {self._errors[-5:]}"
                    )
                wait = deadline - now
                if pending == 0:
                    wait = min(wait, quiet - idle_for)
                self._cond.wait(max(0.01, min(wait, 0.2)))

    # ---------------------------------------------------------------- used by people.py
    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _event(self, chat_id: int, message_id: int, kind: str) -> int:
        seq = self._next_seq()
        self._events.append((seq, chat_id, message_id, kind))
        self._cond.notify_all()
        return seq

    def _enqueue(self, update_type: str, payload: dict[str, Any]) -> int:
        with self._lock:
            uid = next(self._update_ids)
            update = {"update_id": uid, update_type: payload}
            self._self_check(update, "Update", f"update {update_type}")
            self._updates.append(update)
            self._update_marks[uid] = self._seq
            self._cond.notify_all()
        loop, ev = self._loop, self._updates_event
        if loop is not None and ev is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ev.set)
        return uid

    def _new_file(
        self,
        kind: str,
        data: bytes,
        filename: str | None = None,
        mime_type: str | None = None,
    ) -> FileRecord:
        n = next(self._file_counter)
        prefix = {"voice": "AwACAgIAAx", "photo": "AgACAgIAAx", "document": "BQACAgIAAx"}.get(
            kind, "CAACAgIAAx"
        )
        ext = {
            "voice": ".oga",
            "photo": ".jpg",
            "sticker": ".webp",
            "audio": ".mp3",
            "video": ".mp4",
        }.get(kind, "")
        if kind == "document" and filename and "." in filename:
            ext = "." + filename.rsplit(".", 1)[1]
        folder = {"photo": "photos", "voice": "voice", "document": "documents"}.get(
            kind, kind + "s"
        )
        rec = FileRecord(
            file_id=f"{prefix}kBAAI{n:05d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AgAD{n:04d}{secrets.token_hex(3)}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{n}{ext}",
            filename=filename,
            mime_type=mime_type,
        )
        self.files[rec.file_id] = rec
        self._files_by_path[rec.file_path] = rec
        return rec

    def _new_message(self, chat: ChatRecord, **kw: Any) -> MessageRecord:
        mid = chat.next_message_id
        chat.next_message_id += 1
        msg = MessageRecord(message_id=mid, chat_id=chat.id, date=_now(), **kw)
        chat.messages[mid] = msg
        return msg

    def _message_api(self, msg: MessageRecord, with_reply: bool = True) -> dict[str, Any]:
        chat = self.chats[msg.chat_id]
        d: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": msg.sender,
            "chat": chat.to_api(),
            "date": msg.date,
        }
        if msg.edit_date is not None:
            d["edit_date"] = msg.edit_date
        if with_reply and msg.reply_to is not None:
            target = chat.messages.get(msg.reply_to)
            if target is not None and not target.deleted:
                d["reply_to_message"] = self._message_api(target, with_reply=False)
        if msg.text is not None:
            d["text"] = msg.text
            if msg.entities:
                d["entities"] = msg.entities
        for key, value in msg.media.items():
            d[key] = value
        if msg.poll_id is not None:
            d["poll"] = self.polls[msg.poll_id].to_api()
        if msg.caption is not None:
            d["caption"] = msg.caption
            if msg.caption_entities:
                d["caption_entities"] = msg.caption_entities
        if msg.reply_markup is not None:
            d["reply_markup"] = msg.reply_markup
        return d

    def _user_message(
        self,
        chat: ChatRecord,
        user: UserRecord,
        kind: str,
        transcript: str,
        text: str | None = None,
        caption: str | None = None,
        media: dict[str, Any] | None = None,
        file: FileRecord | None = None,
        reply_to: int | None = None,
        deliver: bool = True,
    ) -> int | None:
        with self._lock:
            if reply_to is not None and reply_to not in chat.messages:
                raise KeyError(f"no message {reply_to} in chat {chat.id}")
            msg = self._new_message(
                chat,
                from_bot=False,
                sender=user.to_api(),
                kind=kind,
                text=text,
                raw_text=text,
                entities=_command_entities(text) if text else [],
                caption=caption,
                media=media or {},
                file=file,
                reply_to=reply_to,
            )
            if chat.type == "private" and chat.blocked:
                # a Telegram client unblocks the bot before the person can write to it again
                self._set_blocked(user.id, False, notify=True)
            chat.transcript.append(f"[#{msg.message_id}] {user.display}: {transcript}")
            if chat.type == "private":
                chat.started = True
            if not deliver:
                chat.transcript[-1] += "  (not delivered: privacy mode)"
                return None
            return self._enqueue("message", self._message_api(msg))

    def _user_edit(self, chat: ChatRecord, user: UserRecord, message_id: int, text: str) -> int:
        with self._lock:
            msg = chat.messages.get(message_id)
            if msg is None or msg.from_bot or msg.sender.get("id") != user.id:
                raise KeyError(f"{user.display} has no message {message_id} in chat {chat.id}")
            if msg.text is None:
                raise ValueError("only text messages can be edited by SimUser.edit")
            msg.text = msg.raw_text = text
            msg.entities = _command_entities(text)
            msg.edit_count += 1
            msg.edit_date = _now()
            chat.transcript.append(f"[#{message_id} edited] {user.display}: {text}")
            return self._enqueue("edited_message", self._message_api(msg))

    def _press(
        self, chat: ChatRecord, user: UserRecord, message_id: int, data: str, label: str
    ) -> str:
        with self._lock:
            msg = chat.messages.get(message_id)
            if msg is None or msg.deleted:
                raise KeyError(f"no message {message_id} in chat {chat.id}")
            qid = f"{next(self._cq_counter)}{secrets.randbelow(10**12):012d}"
            rec = CallbackRecord(qid, user.id, chat.id, message_id, data, time.monotonic())
            self.callback_queries[qid] = rec
            chat.transcript.append(f"[tap] {user.display} on #{message_id}: {label}")
            rec.update_id = self._enqueue(
                "callback_query",
                {
                    "id": qid,
                    "from": user.to_api(),
                    "message": self._message_api(msg),
                    "chat_instance": str(abs(chat.id) * 7919 % 10**15 + 10**15),
                    "data": data,
                },
            )
            return qid

    # ================================================================ HTTP
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        with self._lock:
            self._last_activity = time.monotonic()
            self._cond.notify_all()
        if path.startswith("/file/bot"):
            return self._download(request)
        m = re.match(r"^/bot([^/]*)/([^/]*)$", path)
        if not m:
            return self._reject("?", {}, ApiError(404, "Not Found"))
        token, method_raw = m.groups()
        try:
            raw = await self._read_params(request)
        except ApiError as exc:
            return self._reject(method_raw, {}, exc)
        if token != self.token:
            return self._reject(method_raw, raw, ApiError(401, "Unauthorized"))
        method = self.spec.method_name(method_raw)
        if method is None:
            return self._reject(method_raw, raw, ApiError(404, "Not Found"))
        try:
            params = self._validate(method, raw)
            self._check_limits(method, params)
        except SpecError as exc:
            return self._reject(method, raw, bad(exc.problem))
        except ApiError as exc:
            return self._reject(method, raw, exc)
        fault = self._take_fault(method)
        if fault is None:
            fault = self._blocked_fault(method, params)
        if fault is None:
            fault = self._rate_fault(method, params)
        if fault is not None:
            with self._lock:
                self._faults.append(
                    Fault(time.time(), method, params, fault.code, fault.description)
                )
            return _error_response(fault)
        handler: Callable[..., Any] | None = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._reject(
                method, raw, ApiError(400, f"Bad Request: fake: not implemented: {method}")
            )
        received = time.time()
        try:
            result = handler(params, request) if method == "getUpdates" else handler(params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as exc:
            if exc.code == 409 and exc.description != GETUPDATES_CONFLICT:
                return _error_response(exc)  # terminated long poll, see _m_getUpdates
            return self._reject(method, raw, exc)
        except Exception as exc:  # a bug of the fake: make it loud
            import traceback

            with self._lock:
                self._spec_violations.append(
                    f"internal error in fake {method}: {exc!r}\n{traceback.format_exc()}"
                )
            return _error_response(ApiError(500, f"Internal Server Error (fake: {exc!r})"))
        returns = self.spec.method_returns.get(method, ())
        if returns:
            self._self_check(result, returns, f"result of {method}")
        with self._lock:
            self._calls.append(Call(received, method, params))
            self._last_activity = time.monotonic()
            self._cond.notify_all()
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method not in ("POST", "PUT") or not request.can_read_body:
            return params
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad("can't parse JSON body") from None
            if not isinstance(body, dict):
                raise bad("JSON body must be an object")
            params.update(body)
            return params
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key in form:
                value = form[key]
                if isinstance(value, web.FileField):
                    params[key] = Uploaded(
                        value.filename or key,
                        value.file.read(),
                        value.content_type or "application/octet-stream",
                    )
                else:
                    params[key] = value
            return params
        body = await request.read()
        if body:
            raise bad(f"unsupported Content-Type {ctype}")
        return params

    def _reject(self, method: str, raw: dict[str, Any], exc: ApiError) -> web.Response:
        with self._lock:
            self._errors.append(Rejection(method, raw, exc.description))
            self._cond.notify_all()
        return _error_response(exc)

    def _download(self, request: web.Request) -> web.StreamResponse:
        m = re.match(r"^/file/bot([^/]*)/(.+)$", request.path)
        if not m:
            return self._reject("file", {}, ApiError(404, "Not Found"))
        token, path = m.groups()
        if token != self.token:
            return self._reject("file", {"path": path}, ApiError(401, "Unauthorized"))
        with self._lock:
            rec = self._files_by_path.get(path)
        if rec is None:
            return self._reject("file", {"path": path}, ApiError(404, "Not Found"))
        return web.Response(body=rec.data, content_type="application/octet-stream")

    # ================================================================ checking
    def _validate(self, method: str, raw: dict[str, Any]) -> dict[str, Any]:
        fields = self.spec.methods[method]
        attached = set()
        for value in raw.values():
            if isinstance(value, str) and "attach://" in value:
                attached.update(re.findall(r"attach://([A-Za-z0-9_.-]+)", value))
        ignored = []
        for key, value in raw.items():
            if key in fields or (isinstance(value, Uploaded) and key in attached):
                continue
            if key in PTB_DEFAULTS_PARAMS and isinstance(value, str):
                ignored.append((method, key, value))
                continue
            raise SpecError(f'unknown parameter "{key}" for method {method}')
        for f in fields.values():
            if f.required and f.name not in raw:
                raise SpecError(f'parameter "{f.name}" is required')
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key in fields:
                params[key] = self.spec.parse_form_value(method, fields[key], value)
            elif isinstance(value, Uploaded):
                params[key] = value
        for name in attached:
            if not isinstance(raw.get(name), Uploaded):
                raise SpecError(f"file attach://{name} was not uploaded")
        if ignored:
            with self._lock:
                self._ignored_params.extend(ignored)
        return params

    def _check_limits(self, method: str, p: dict[str, Any]) -> None:
        for key in ("parse_mode", "caption_parse_mode", "question_parse_mode"):
            if key in p and str(p[key]).lower() not in PARSE_MODES:
                raise bad(f"unsupported parse_mode {p[key]!r}")
        if "text" in p and method in ("sendMessage", "editMessageText"):
            plain, _ = self._parse(p["text"], p)
            if not plain.strip():
                raise bad("message text is empty")
            if len(plain) > MAX_TEXT:
                raise bad("message is too long")
        if "caption" in p and isinstance(p["caption"], str):
            plain, _ = self._parse(p["caption"], p, caption=True)
            if len(plain) > MAX_CAPTION:
                raise bad("message caption is too long")
        if isinstance(p.get("reply_markup"), dict):
            _check_markup(p["reply_markup"])
        check = getattr(self, f"_limits_{method}", None)
        if check is not None:
            check(p)

    def _parse(
        self, text: str, p: dict[str, Any], caption: bool = False
    ) -> tuple[str, list[dict[str, Any]]]:
        entities_key = "caption_entities" if caption else "entities"
        if entities_key in p:
            return text, list(p[entities_key])
        try:
            return parse_text(text, p.get("parse_mode"))
        except EntityParseError as exc:
            raise bad(f"can't parse entities: {exc}") from None

    def _limits_answerCallbackQuery(self, p: dict[str, Any]) -> None:
        if len(p.get("text") or "") > MAX_CALLBACK_ANSWER:
            raise bad("MESSAGE_TOO_LONG")

    def _limits_sendPoll(self, p: dict[str, Any]) -> None:
        try:
            question, _ = parse_text(p["question"], p.get("question_parse_mode"))
        except EntityParseError as exc:
            raise bad(f"can't parse entities: {exc}") from None
        if not question.strip():
            raise bad("poll question must be non-empty")
        if len(question) > MAX_POLL_QUESTION:
            raise bad(f"poll question length must not exceed {MAX_POLL_QUESTION}")
        options = p["options"]
        if len(options) < MIN_POLL_OPTIONS:
            raise bad(f"poll must have at least {MIN_POLL_OPTIONS} option")
        if len(options) > MAX_POLL_OPTIONS:
            raise bad(f"poll can't have more than {MAX_POLL_OPTIONS} options")
        for opt in options:
            try:
                text, _ = parse_text(opt["text"], opt.get("text_parse_mode"))
            except EntityParseError as exc:
                raise bad(f"can't parse entities: {exc}") from None
            if not text.strip():
                raise bad("poll options must be non-empty")
            if len(text) > MAX_POLL_OPTION:
                raise bad(f"poll options length must not exceed {MAX_POLL_OPTION}")
        ptype = p.get("type", "regular")
        if ptype not in ("regular", "quiz"):
            raise bad("wrong poll type specified")
        if ptype == "quiz":
            ids = p.get("correct_option_ids")
            if not ids or any(i < 0 or i >= len(options) for i in ids):
                raise bad("wrong correct option ids specified")
        elif "correct_option_ids" in p:
            raise bad("correct_option_ids can be specified only for quizzes")
        if "open_period" in p and "close_date" in p:
            raise bad("open_period and close_date can't be used together")

    def _limits_setMyCommands(self, p: dict[str, Any]) -> None:
        cmds = p["commands"]
        if len(cmds) > MAX_COMMANDS:
            raise bad("too many commands")
        for c in cmds:
            if not COMMAND_RE.match(c["command"]):
                raise bad(f"BOT_COMMAND_INVALID: {c['command']!r}")
            if not 1 <= len(c["description"]) <= MAX_COMMAND_DESCRIPTION:
                raise bad(f"command description length must be 1-{MAX_COMMAND_DESCRIPTION}")
        self._check_language_code(p)

    def _limits_getMyCommands(self, p: dict[str, Any]) -> None:
        self._check_language_code(p)

    def _limits_deleteMyCommands(self, p: dict[str, Any]) -> None:
        self._check_language_code(p)

    @staticmethod
    def _check_language_code(p: dict[str, Any]) -> None:
        lang = p.get("language_code", "")
        if lang and not re.match(r"^[a-z]{2}$", lang):
            raise bad("invalid language code specified")

    def _limits_sendChatAction(self, p: dict[str, Any]) -> None:
        if p["action"] not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")

    def _self_check(self, value: Any, types: str | tuple[str, ...], what: str) -> None:
        try:
            self.spec.check_object(value, types, what)
        except SpecError as exc:
            with self._lock:
                self._spec_violations.append(exc.problem)

    def _blocked_fault(self, method: str, p: dict[str, Any]) -> ApiError | None:
        if not (_is_send(method) or method.startswith(("edit", "stopPoll", "sendChatAction"))):
            return None
        cid = p.get("chat_id")
        if not isinstance(cid, int):
            return None
        with self._lock:
            chat = self.chats.get(cid)
            if chat is not None and chat.blocked:
                return ApiError(403, "Forbidden: bot was blocked by the user")
        return None

    # ================================================================ helpers for methods
    def _chat(self, chat_id: Any, sending: bool = False) -> ChatRecord:
        chat: ChatRecord | None = None
        if isinstance(chat_id, int):
            chat = self.chats.get(chat_id)
        elif isinstance(chat_id, str):
            if re.match(r"^-?\d+$", chat_id):
                chat = self.chats.get(int(chat_id))
            elif chat_id.startswith("@"):
                name = chat_id[1:].lower()
                chat = next(
                    (
                        c
                        for c in self.chats.values()
                        if c.type != "private" and (c.username or "").lower() == name
                    ),
                    None,
                )
        if chat is None:
            raise bad("chat not found")
        if sending:
            if chat.type == "private":
                if chat.blocked:
                    raise ApiError(403, "Forbidden: bot was blocked by the user")
                if not chat.started:
                    raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            elif not chat.bot_member:
                kind = "supergroup" if chat.type == "supergroup" else "group"
                raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    def _bot_message(
        self, chat: ChatRecord, p: dict[str, Any], kind: str, **kw: Any
    ) -> MessageRecord:
        reply_to = None
        rp = p.get("reply_parameters")
        if rp is not None:
            target_chat = chat
            if "chat_id" in rp and rp["chat_id"] != chat.id:
                target_chat = self._chat(rp["chat_id"])
            target = target_chat.messages.get(rp["message_id"])
            if target is None or target.deleted:
                if not rp.get("allow_sending_without_reply"):
                    raise bad("message to be replied not found")
            elif target_chat is chat:
                reply_to = target.message_id
        markup = p.get("reply_markup")
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        other = markup if isinstance(markup, dict) and inline is None else None
        msg = self._new_message(
            chat,
            from_bot=True,
            sender=self._bot_user(),
            kind=kind,
            reply_markup=inline,
            other_markup=other,
            parse_mode=p.get("parse_mode"),
            reply_to=reply_to,
            **kw,
        )
        if other is not None:
            if "keyboard" in other:
                chat.reply_keyboard = other
            elif "remove_keyboard" in other:
                chat.reply_keyboard = None
        now = time.time()
        chat.send_times.append(now)
        self._all_send_times.append((now, chat.id))
        return msg

    def _announce(self, chat: ChatRecord, msg: MessageRecord, edited: bool = False) -> None:
        msg.seq = self._event(chat.id, msg.message_id, "edit" if edited else "new")
        tag = f"#{msg.message_id}" + (" edited" if edited else "")
        poll = self.polls.get(msg.poll_id) if msg.poll_id else None
        chat.transcript.append(f"[{tag}] bot: {_describe(msg, poll)}")

    def _editable(self, p: dict[str, Any]) -> tuple[ChatRecord, MessageRecord]:
        if "inline_message_id" in p:
            raise bad("fake: not implemented: inline messages")
        if "chat_id" not in p or "message_id" not in p:
            raise bad("chat_id and message_id are required unless inline_message_id is given")
        chat = self._chat(p["chat_id"])
        msg = chat.messages.get(p["message_id"])
        if msg is None or msg.deleted:
            raise bad("message to edit not found")
        if not msg.from_bot:
            raise bad("message can't be edited")
        return chat, msg

    def _input_file(self, p: dict[str, Any], key: str, kind: str) -> FileRecord:
        value = p[key]
        if isinstance(value, str) and value.startswith("attach://"):
            value = p[value[len("attach://") :]]
        if isinstance(value, Uploaded):
            if not value.data:
                raise bad("file must be non-empty")
            mime = value.content_type
            if mime == "application/octet-stream" and kind == "voice":
                mime = "audio/ogg"
            return self._new_file(kind, value.data, value.filename, mime)
        if value.startswith(("http://", "https://")):
            raise bad("failed to get HTTP URL content")
        rec = self.files.get(value)
        if rec is None:
            raise bad("wrong file identifier/HTTP URL specified")
        if rec.kind != kind:
            raise bad(f"can't use file of type {rec.kind.title()} as {kind.title()}")
        return rec

    def _caption_kw(self, p: dict[str, Any]) -> dict[str, Any]:
        if "caption" not in p or p["caption"] == "":
            return {}
        plain, ents = self._parse(p["caption"], p, caption=True)
        return {"caption": plain, "raw_caption": p["caption"], "caption_entities": ents}

    # ================================================================ methods
    def _m_getMe(self, p: dict[str, Any]) -> dict[str, Any]:
        me = self._bot_user()
        me.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return me

    def _m_logOut(self, p: dict[str, Any]) -> bool:
        return True

    def _m_close(self, p: dict[str, Any]) -> bool:
        return True

    def _m_deleteWebhook(self, p: dict[str, Any]) -> bool:
        return self.webhook.delete(bool(p.get("drop_pending_updates")))

    def _m_setWebhook(self, p: dict[str, Any]) -> bool:
        return self.webhook.set(p)

    def _m_getWebhookInfo(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.webhook.info()

    async def _m_getUpdates(self, p: dict[str, Any], request: web.Request) -> list[dict]:
        offset = p.get("offset")
        limit = min(max(p.get("limit", 100), 1), 100)
        timeout = max(p.get("timeout", 0), 0)
        if self.webhook.url:
            raise ApiError(409, GETUPDATES_CONFLICT)  # recorded: the bot forgot deleteWebhook
        with self._lock:
            if "allowed_updates" in p:
                self._allowed_updates = list(p["allowed_updates"])
            self._poll_generation += 1
            generation = self._poll_generation
        assert self._updates_event is not None
        self._updates_event.set()  # terminate an older long poll (409 Conflict)
        await asyncio.sleep(0)
        deadline = time.monotonic() + timeout
        first = True
        while True:
            self._updates_event.clear()
            with self._lock:
                if generation != self._poll_generation:
                    transport = request.transport
                    exc = ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
                    if transport is not None and not transport.is_closing():
                        self._errors.append(Rejection("getUpdates", p, exc.description))
                    raise exc
                if first:
                    self._confirm(offset)
                    first = False
                result = self._select_updates(limit)
            if result or self._stopping:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            with self._lock:
                self._polling += 1
                self._cond.notify_all()
            try:
                await asyncio.wait_for(self._updates_event.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                with self._lock:
                    self._polling -= 1

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            keep = self._updates[offset:]
            dropped = self._updates[: len(self._updates) + offset]
        else:
            keep = [u for u in self._updates if u["update_id"] >= offset]
            dropped = [u for u in self._updates if u["update_id"] < offset]
        for u in dropped:
            self._fetched.add(u["update_id"])
            self._confirmed.add(u["update_id"])
        self._updates = keep

    def _select_updates(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        out = []
        for u in list(self._updates):
            utype = next(k for k in u if k != "update_id")
            ok = (utype in allowed) if allowed else (utype not in DEFAULT_UPDATE_TYPES_EXCLUDED)
            if not ok:  # Telegram never delivers these
                self._updates.remove(u)
                self._fetched.add(u["update_id"])
                continue
            out.append(u)
            if len(out) >= limit:
                break
        for u in out:
            self._fetched.add(u["update_id"])
            self._deliveries[u["update_id"]] = self._deliveries.get(u["update_id"], 0) + 1
        if out:
            self._cond.notify_all()
        return out

    def _m_setMyCommands(self, p: dict[str, Any]) -> bool:
        with self._lock:
            key = (_scope_key(p.get("scope")), p.get("language_code", ""))
            self.commands[key] = [dict(c) for c in p["commands"]]
        return True

    def _m_getMyCommands(self, p: dict[str, Any]) -> list[dict[str, str]]:
        with self._lock:
            key = (_scope_key(p.get("scope")), p.get("language_code", ""))
            return list(self.commands.get(key, []))

    def _m_deleteMyCommands(self, p: dict[str, Any]) -> bool:
        with self._lock:
            self.commands.pop((_scope_key(p.get("scope")), p.get("language_code", "")), None)
        return True

    def _m_setChatMenuButton(self, p: dict[str, Any]) -> bool:
        button = p.get("menu_button", {"type": "default"})
        with self._lock:
            if "chat_id" in p:
                chat = self._chat(p["chat_id"])
                if chat.type != "private":
                    raise bad("chat_id must be a private chat")
                chat.menu_button = button
            else:
                self.default_menu_button = button
        return True

    def _m_getChatMenuButton(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if "chat_id" in p:
                chat = self._chat(p["chat_id"])
                return chat.menu_button or self.default_menu_button
            return self.default_menu_button

    def _m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chat = self._chat(p["chat_id"], sending=True)
            plain, ents = self._parse(p["text"], p)
            msg = self._bot_message(chat, p, "text", text=plain, raw_text=p["text"], entities=ents)
            self._announce(chat, msg)
            return self._message_api(msg)

    def _m_sendChatAction(self, p: dict[str, Any]) -> bool:
        with self._lock:
            chat = self._chat(p["chat_id"], sending=True)
            chat.actions.append((time.time(), p["action"]))
        return True

    def _m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        if "text" not in p:
            raise bad("text is required" if "rich_message" not in p else "fake: not implemented")
        with self._lock:
            chat, msg = self._editable(p)
            if msg.kind != "text":
                raise bad("there is no text in the message to edit")
            plain, ents = self._parse(p["text"], p)
            markup = p.get("reply_markup")
            if plain == msg.text and ents == msg.entities and markup == msg.reply_markup:
                raise bad(NOT_MODIFIED[len("Bad Request: ") :])
            msg.text, msg.raw_text, msg.entities = plain, p["text"], ents
            msg.parse_mode = p.get("parse_mode")
            msg.reply_markup = markup
            self._edited(chat, msg)
            return self._message_api(msg)

    def _m_editMessageCaption(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chat, msg = self._editable(p)
            if msg.kind in ("text", "poll", "sticker", "location"):
                raise bad("there is no caption in the message to edit")
            kw = self._caption_kw(p)
            markup = p.get("reply_markup")
            new_caption = kw.get("caption")
            new_ents = kw.get("caption_entities", [])
            if (
                new_caption == msg.caption
                and new_ents == msg.caption_entities
                and markup == msg.reply_markup
            ):
                raise bad(NOT_MODIFIED[len("Bad Request: ") :])
            msg.caption, msg.raw_caption, msg.caption_entities = (
                new_caption,
                kw.get("raw_caption"),
                new_ents,
            )
            msg.reply_markup = markup
            self._edited(chat, msg)
            return self._message_api(msg)

    def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chat, msg = self._editable(p)
            markup = p.get("reply_markup")
            if markup == msg.reply_markup or (
                msg.reply_markup is None and markup == {"inline_keyboard": []}
            ):
                raise bad(NOT_MODIFIED[len("Bad Request: ") :])
            msg.reply_markup = markup if markup and markup.get("inline_keyboard") else None
            self._edited(chat, msg)
            return self._message_api(msg)

    def _edited(self, chat: ChatRecord, msg: MessageRecord) -> None:
        msg.edit_count += 1
        msg.edit_date = _now()
        self._announce(chat, msg, edited=True)

    def _m_deleteMessage(self, p: dict[str, Any]) -> bool:
        with self._lock:
            chat = self._chat(p["chat_id"])
            msg = chat.messages.get(p["message_id"])
            if msg is None or msg.deleted:
                raise bad("message to delete not found")
            if not msg.from_bot and chat.type != "private" and not chat.bot_admin:
                raise bad("message can't be deleted")
            msg.deleted = True
            msg.seq = self._event(chat.id, msg.message_id, "delete")
            chat.transcript.append(f"[#{msg.message_id} deleted]")
        return True

    def _m_answerCallbackQuery(self, p: dict[str, Any]) -> bool:
        with self._lock:
            q = self.callback_queries.get(p["callback_query_id"])
            if q is None or q.answered:
                raise bad("query is too old and response timeout expired or query ID is invalid")
            q.answered = True
            q.answer = {
                "text": p.get("text"),
                "show_alert": bool(p.get("show_alert", False)),
                "url": p.get("url"),
                "cache_time": p.get("cache_time", 0),
            }
            chat = self.chats[q.chat_id]
            q.seq = self._event(q.chat_id, q.message_id, "answer")
            if p.get("text"):
                how = "alert" if p.get("show_alert") else "toast"
                chat.transcript.append(f"[{how}] bot: {p['text']}")
        return True

    def _m_sendDocument(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chat = self._chat(p["chat_id"], sending=True)
            rec = self._input_file(p, "document", "document")
            doc = {"file_id": rec.file_id, "file_unique_id": rec.file_unique_id}
            if rec.filename:
                doc["file_name"] = rec.filename
            if rec.mime_type:
                doc["mime_type"] = rec.mime_type
            doc["file_size"] = len(rec.data)
            msg = self._bot_message(
                chat, p, "document", media={"document": doc}, file=rec, **self._caption_kw(p)
            )
            self._announce(chat, msg)
            return self._message_api(msg)

    def _m_sendPhoto(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chat = self._chat(p["chat_id"], sending=True)
            rec = self._input_file(p, "photo", "photo")
            msg = self._bot_message(
                chat,
                p,
                "photo",
                media={"photo": _photo_sizes(rec)},
                file=rec,
                **self._caption_kw(p),
            )
            self._announce(chat, msg)
            return self._message_api(msg)

    def _m_sendVoice(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chat = self._chat(p["chat_id"], sending=True)
            rec = self._input_file(p, "voice", "voice")
            voice = {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "duration": int(p.get("duration", 1)),
                "mime_type": rec.mime_type or "audio/ogg",
                "file_size": len(rec.data),
            }
            msg = self._bot_message(
                chat, p, "voice", media={"voice": voice}, file=rec, **self._caption_kw(p)
            )
            self._announce(chat, msg)
            return self._message_api(msg)

    def _m_getFile(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            rec = self.files.get(p["file_id"])
            if rec is None:
                raise bad("invalid file_id")
            if len(rec.data) > MAX_DOWNLOAD:
                raise bad("file is too big")
            return {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "file_size": len(rec.data),
                "file_path": rec.file_path,
            }

    def _m_sendPoll(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chat = self._chat(p["chat_id"], sending=True)
            if chat.type == "private" and p.get("members_only"):
                raise bad("members_only polls can't be sent to private chats")
            pid = str(5_000_000_000_000_000_000 + secrets.randbelow(10**18))
            ptype = p.get("type", "regular")
            question, _ = parse_text(p["question"], p.get("question_parse_mode"))
            options = [parse_text(o["text"], o.get("text_parse_mode"))[0] for o in p["options"]]
            poll = PollRecord(
                id=pid,
                chat_id=chat.id,
                message_id=0,
                question=question,
                options=options,
                persistent_ids=[secrets.token_hex(4) for _ in options],
                is_anonymous=p.get("is_anonymous", True),
                type=ptype,
                allows_multiple_answers=p.get("allows_multiple_answers", False),
                allows_revoting=p.get("allows_revoting", ptype != "quiz"),
                is_closed=p.get("is_closed", False),
                correct_option_ids=p.get("correct_option_ids"),
                explanation=p.get("explanation"),
                open_period=p.get("open_period"),
                close_date=p.get("close_date"),
                description=p.get("description"),
            )
            self.polls[pid] = poll
            msg = self._bot_message(chat, p, "poll", poll_id=pid)
            poll.message_id = msg.message_id
            self._announce(chat, msg)
            return self._message_api(msg)

    def _m_stopPoll(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chat, msg = self._editable(p)
            if msg.poll_id is None:
                raise bad("message with poll to stop not found")
            poll = self.polls[msg.poll_id]
            if poll.is_closed:
                raise bad("poll has already been closed")
            poll.is_closed = True
            if "reply_markup" in p:
                msg.reply_markup = p["reply_markup"] or None
            self._edited(chat, msg)
            self._enqueue("poll", poll.to_api())
            return poll.to_api()

    def _m_leaveChat(self, p: dict[str, Any]) -> bool:
        with self._lock:
            chat = self._chat(p["chat_id"])
            if chat.type == "private":
                raise bad("chat member status can't be changed in private chats")
            if not chat.bot_member:
                raise ApiError(403, "Forbidden: bot is not a member of the group chat")
            was = self._bot_member_api(chat)
            chat.bot_member = False
            chat.transcript.append("[bot left the chat]")
            self._enqueue(
                "my_chat_member",
                {
                    "chat": chat.to_api(),
                    "from": self._bot_user(),
                    "date": _now(),
                    "old_chat_member": was,
                    "new_chat_member": {"status": "left", "user": self._bot_user()},
                },
            )
        return True

    def _m_getChat(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chat = self._chat(p["chat_id"])
            d = chat.to_api()
            d.update(
                accent_color_id=0,
                max_reaction_count=11,
                accepted_gift_types={
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            )
            return d

    def _m_getChatMember(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chat = self._chat(p["chat_id"])
            uid = p["user_id"]
            if uid == self.bot_id:
                return self._bot_member_api(chat)
            user = self.users.get(uid)
            if user is None:
                raise bad("user not found")
            if chat.type == "private":
                if uid != chat.id:
                    raise bad("user not found")
                return {"status": "member", "user": user.to_api()}
            status = chat.members.get(uid, "left")
            return _member_api(status, user.to_api())

    def _m_getChatMemberCount(self, p: dict[str, Any]) -> int:
        with self._lock:
            chat = self._chat(p["chat_id"])
            if chat.type == "private":
                return 2
            return sum(1 for s in chat.members.values() if s not in ("left", "kicked")) + int(
                chat.bot_member
            )

    def _bot_member_api(self, chat: ChatRecord) -> dict[str, Any]:
        if not chat.bot_member:
            return {"status": "left", "user": self._bot_user()}
        if chat.bot_admin:
            return _member_api("administrator", self._bot_user())
        return {"status": "member", "user": self._bot_user()}


# --------------------------------------------------------------------------- helpers
def _is_send(method: str) -> bool:
    """Methods that post a new message (what flood limits and send_times count)."""
    return method.startswith(("send", "copy", "forward")) and method != "sendChatAction"


def _now() -> int:
    return int(time.time())


def _error_response(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.code)


def _default_description(code: int, retry_after: int | None) -> str:
    if code == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    if code == 403:
        return "Forbidden: bot was blocked by the user"
    if code == 400:
        return "Bad Request: fake: injected fault"
    if code >= 500:
        return "Internal Server Error"
    return f"Error {code}"


def _scope_key(scope: dict[str, Any] | None) -> str:
    if not scope or scope == {"type": "default"}:
        return "default"
    return json.dumps(scope, sort_keys=True)


_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _check_markup(markup: dict[str, Any]) -> None:
    if "inline_keyboard" in markup:
        count = 0
        for row in markup["inline_keyboard"]:
            for button in row:
                count += 1
                if not button["text"].strip():
                    raise bad("BUTTON_TEXT_INVALID: inline keyboard button text must be non-empty")
                actions = [a for a in _INLINE_ACTIONS if a in button]
                if not actions:
                    raise bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                if len(actions) > 1:
                    raise bad(
                        "can't parse inline keyboard button: exactly one of "
                        f"{', '.join(actions)} must be specified"
                    )
                if "callback_data" in button:
                    size = len(button["callback_data"].encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise bad("BUTTON_DATA_INVALID")
                if "url" in button and not re.match(r"^(https?|tg)://", button["url"]):
                    raise bad(f"BUTTON_URL_INVALID: {button['url']!r}")
        if count > MAX_BUTTONS:
            raise bad("reply markup is too long")
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not rows or not any(rows):
            raise bad("keyboard must be non-empty")
        for row in rows:
            for button in row:
                if not button["text"].strip():
                    raise bad("BUTTON_TEXT_INVALID: keyboard button text must be non-empty")


def _photo_sizes(rec: FileRecord) -> list[dict[str, Any]]:
    return [
        {
            "file_id": rec.file_id,
            "file_unique_id": rec.file_unique_id,
            "width": 320,
            "height": 240,
            "file_size": len(rec.data),
        }
    ]


def _member_api(status: str, user: dict[str, Any]) -> dict[str, Any]:
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        rights = dict.fromkeys(
            (
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_promote_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
            ),
            True,
        )
        return {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            **rights,
        }
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    if status == "left":
        return {"status": "left", "user": user}
    return {"status": "member", "user": user}


_COMMAND_IN_TEXT = re.compile(r"(?:(?<=\s)|^)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def _command_entities(text: str) -> list[dict[str, Any]]:
    out = []
    for m in _COMMAND_IN_TEXT.finditer(text):
        out.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: m.start()]),
                "length": utf16_len(m.group(0)),
            }
        )
    return out


def _describe(msg: MessageRecord, poll: PollRecord | None = None) -> str:
    if msg.kind == "text":
        body = msg.text or ""
    elif msg.kind == "document":
        body = f"<document {msg.file.filename if msg.file else '?'}>"
    elif msg.kind == "poll" and poll is not None:
        state = ", closed" if poll.is_closed else ""
        body = f"<poll{state}> {poll.question} ({' / '.join(poll.options)})"
    else:
        body = f"<{msg.kind}>"
    if msg.caption:
        body += f" {msg.caption}"
    if msg.reply_markup:
        rows = [" | ".join(b["text"] for b in row) for row in msg.reply_markup["inline_keyboard"]]
        body += "  " + " ".join(f"[{r}]" for r in rows)
    if msg.other_markup and "keyboard" in msg.other_markup:
        rows = [" | ".join(b["text"] for b in row) for row in msg.other_markup["keyboard"]]
        body += "  keyboard: " + " ".join(f"{{{r}}}" for r in rows)
    return body
