"""Webhook delivery for the fake Bot API: setWebhook / deleteWebhook / getWebhookInfo and the
POSTs Telegram makes to the registered URL.

As Telegram does: each queued update is POSTed as JSON with the `X-Telegram-Bot-Api-Secret-
Token` header (when a secret was set); a 2XX answer confirms it, anything else (another
status, a refused or dropped connection, no answer within `timeout`) is retried later with a
growing delay, so nothing is lost while the bot is down; at most `max_connections` requests
are open at once, and a chat's updates go one after the other, in order (a later one waits
while an earlier one of the same chat is open or waiting for its retry). While a webhook is
set, getUpdates is refused with 409 Conflict. The one deviation: `http://` and any port are
accepted for loopback hosts (127.0.0.1, localhost, ::1), as a self-hosted Bot API server
(`--local`) allows, so tests need no TLS; anything else must be https on 443, 80, 88 or 8443.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

import aiohttp

if TYPE_CHECKING:
    from .server import FakeBotAPI

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TELEGRAM_PORTS = {443, 80, 88, 8443}
GETUPDATES_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)


class Attempt(NamedTuple):
    """One POST of an update: its time, id, and the HTTP status (None: no answer)."""

    time: float
    update_id: int
    status: int | None


def chat_key(update: dict[str, Any]) -> Any:
    """The chat (or person) an update belongs to: their updates are delivered in order."""
    for kind, value in update.items():
        if kind == "update_id" or not isinstance(value, dict):
            continue
        if isinstance(value.get("chat"), dict):
            return value["chat"].get("id")
        message = value.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return message["chat"].get("id")
        for who in ("from", "user"):
            if isinstance(value.get(who), dict):
                return value[who].get("id")
    return None


class WebhookDelivery:
    """The webhook state of one fake server; its methods run on the server's event loop."""

    def __init__(self, server: FakeBotAPI) -> None:
        self.server = server
        self.url = ""
        self.secret: str | None = None
        self.max_connections = 40
        self.retry_delay = 0.1  # seconds before the first retry; doubles up to max_retry_delay
        self.max_retry_delay = 2.0
        self.timeout = 60.0  # seconds Telegram waits for the bot's answer
        self._attempts: list[Attempt] = []
        self._posted: dict[int, dict[str, Any]] = {}  # update id -> the update as POSTed
        self._in_flight: set[int] = set()
        self._tries: dict[int, int] = {}
        self._retry_at: dict[int, float] = {}
        self._last_error: tuple[int, str] | None = None
        self._task: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None
        self._posts: set[asyncio.Task] = set()
        self._set = threading.Event()

    # ------------------------------------------------------------------ records for tests
    @property
    def attempts(self) -> list[Attempt]:
        """Every POST made so far (thread-safe copy)."""
        with self.server._lock:
            return list(self._attempts)

    def posted(self, update_id: int) -> dict[str, Any]:
        """The update as it was POSTed (to post it again, as a redelivery would)."""
        with self.server._lock:
            return json.loads(json.dumps(self._posted[update_id]))

    def in_flight(self) -> int:
        """POSTs sent that have no answer yet."""
        with self.server._lock:
            return len(self._in_flight)

    def wait_set(self, timeout: float = 30.0) -> None:
        """Block until the bot registered a webhook. AssertionError on timeout."""
        if not self._set.wait(timeout):
            raise AssertionError(
                f"the bot did not set a webhook within {timeout}s; "
                f"rejected: {self.server.errors[-5:]}"
            )

    # ------------------------------------------------------------------ Bot API methods
    def set(self, p: dict[str, Any]) -> bool:
        """setWebhook (the parameters already checked against the spec)."""
        from .server import ApiError, bad

        url = p["url"]
        if url == "":
            return self.delete(bool(p.get("drop_pending_updates")))
        self._check_url(url, bad)
        secret = p.get("secret_token")
        if secret is not None and not SECRET_RE.match(secret):
            raise bad("secret token contains unallowed characters")
        connections = p.get("max_connections", 40)
        if not 1 <= connections <= 100:
            raise bad("invalid max_connections specified: must be between 1 and 100")
        if "certificate" in p or "ip_address" in p:
            raise ApiError(400, "Bad Request: fake: certificate and ip_address not implemented")
        server = self.server
        with server._lock:
            if p.get("drop_pending_updates"):
                server._fetched.update(u["update_id"] for u in server._updates)
                server._updates.clear()
            if "allowed_updates" in p:
                server._allowed_updates = list(p["allowed_updates"])
            self.url, self.secret, self.max_connections = url, secret, connections
            server._cond.notify_all()
        self._set.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._deliver())
        self._wake()
        return True

    @staticmethod
    def _check_url(url: str, bad) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise bad("bad webhook: invalid port specified") from None
        if parts.hostname in LOOPBACK and parts.scheme in ("http", "https"):
            return  # the deviation: see the module docstring
        if parts.scheme != "https":
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        if not parts.hostname:
            raise bad("bad webhook: invalid webhook URL specified")
        if (port or 443) not in TELEGRAM_PORTS:
            raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")

    def delete(self, drop_pending: bool) -> bool:
        """deleteWebhook / setWebhook(url=""): stop delivering; what is queued stays queued
        for getUpdates unless `drop_pending`."""
        server = self.server
        with server._lock:
            self.url, self.secret = "", None
            self._set.clear()
            if drop_pending:
                server._fetched.update(u["update_id"] for u in server._updates)
                server._updates.clear()
            server._cond.notify_all()
        self._wake()
        return True

    def info(self) -> dict[str, Any]:
        """getWebhookInfo's WebhookInfo."""
        with self.server._lock:
            pending = len(self.server._updates)
            info: dict[str, Any] = {
                "url": self.url,
                "has_custom_certificate": False,
                "pending_update_count": pending,
            }
            if self.url:
                info["max_connections"] = self.max_connections
                if self.server._allowed_updates is not None:
                    info["allowed_updates"] = list(self.server._allowed_updates)
                if self._last_error is not None:
                    info["last_error_date"], info["last_error_message"] = self._last_error
        return info

    # ------------------------------------------------------------------ delivery
    def _wake(self) -> None:
        event = self.server._updates_event
        if event is not None:
            event.set()

    def _due(self, now: float) -> list[dict[str, Any]]:
        """The updates to POST now: in queue order, one open per chat, within the limit."""
        from .server import DEFAULT_UPDATE_TYPES_EXCLUDED

        server = self.server
        allowed = server._allowed_updates
        held: set[Any] = set()
        out = []
        for u in list(server._updates):
            kind = next(k for k in u if k != "update_id")
            ok = (kind in allowed) if allowed else (kind not in DEFAULT_UPDATE_TYPES_EXCLUDED)
            if not ok:  # Telegram never delivers these
                server._updates.remove(u)
                server._fetched.add(u["update_id"])
                continue
            key = chat_key(u)
            uid = u["update_id"]
            busy = uid in self._in_flight or self._retry_at.get(uid, 0.0) > now
            if key in held or busy:
                held.add(key)
                continue
            if len(self._in_flight) + len(out) >= self.max_connections:
                break
            held.add(key)
            out.append(u)
        return out

    async def _deliver(self) -> None:
        event = self.server._updates_event
        assert event is not None
        if self._session is None:
            self._session = aiohttp.ClientSession()
        while self.url and not self.server._stopping:
            event.clear()
            now = time.monotonic()
            with self.server._lock:
                due = self._due(now)
                for u in due:
                    self._in_flight.add(u["update_id"])
                retries = [t for uid, t in self._retry_at.items() if uid not in self._in_flight]
            for u in due:
                task = asyncio.create_task(self._post(u, self.url, self.secret))
                self._posts.add(task)
                task.add_done_callback(self._posts.discard)
            wait = max(0.0, min(retries) - now) if retries else 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(wait, 1.0))

    async def _post(self, update: dict[str, Any], url: str, secret: str | None) -> None:
        server = self.server
        uid = update["update_id"]
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SECRET_HEADER] = secret
        with server._lock:
            server._fetched.add(uid)
            self._posted[uid] = update
            server._deliveries[uid] = server._deliveries.get(uid, 0) + 1
            server._cond.notify_all()
        status: int | None = None
        problem = "Connection refused"
        assert self._session is not None
        try:
            limit = aiohttp.ClientTimeout(total=self.timeout)
            async with self._session.post(
                url, data=json.dumps(update), headers=headers, timeout=limit
            ) as response:
                status = response.status
                problem = f"Wrong response from the webhook: {status} {response.reason}"
                await response.read()
        except TimeoutError:
            problem = "Read timeout expired"
        except (aiohttp.ClientError, OSError) as exc:
            problem = f"Connection failed: {type(exc).__name__}"
        self._settle(uid, status, problem)

    def _settle(self, uid: int, status: int | None, problem: str) -> None:
        server = self.server
        with server._lock:
            self._attempts.append(Attempt(time.time(), uid, status))
            self._in_flight.discard(uid)
            if status is not None and 200 <= status < 300:
                server._updates = [u for u in server._updates if u["update_id"] != uid]
                server._confirmed.add(uid)
                self._tries.pop(uid, None)
                self._retry_at.pop(uid, None)
            else:
                tries = self._tries[uid] = self._tries.get(uid, 0) + 1
                delay = min(self.retry_delay * 2 ** (tries - 1), self.max_retry_delay)
                self._retry_at[uid] = time.monotonic() + delay
                self._last_error = (int(time.time()), problem)
            server._last_activity = time.monotonic()
            server._cond.notify_all()
        self._wake()

    async def close(self) -> None:
        """Stop delivering (server shutdown)."""
        self.url = ""
        for task in [self._task, *self._posts]:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._session is not None:
            await self._session.close()
            self._session = None
