"""Webhook mode: Telegram POSTs each update to the bot's own web server.

The route (bot/web/webhook_route.py) refuses a request without the matching secret header and
bounds its size; the body comes here. The answer is 200 only after the update was handled and
its transaction committed, so Telegram delivers again whatever a crash interrupted, and the
update-id claim (in the same transaction) handles such a redelivery once. There is no
watermark here — each request carries one update and its answer confirms it — so this is
kept apart from the polling intake; both feed the same per-chat lanes. An update the library
cannot read is logged by id, answered 200 and skipped, as polling does.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from telegram import Bot, Update
from telegram.error import BadRequest

from bot.settings import SettingsError
from bot.telegram.polling import ALLOWED_UPDATES, ChatLanes, chat_key, ids_of, read_update

log = logging.getLogger(__name__)

# How long the way out waits for the updates in hand (Telegram redelivers the rest).
DRAIN_SECONDS = 15.0


def new_secret() -> str:
    """A secret token for one start (Telegram allows 1-256 of A-Z a-z 0-9 _ -)."""
    return secrets.token_urlsafe(32)


class WebhookIntake:
    """Takes one update per request, handles it in its chat's lane, answers once committed."""

    def __init__(
        self,
        bot: Bot,
        url: str,
        secret: str,
        handle: Callable[[Update], Awaitable[None]],
        lanes: ChatLanes,
        after: Callable[[int], Awaitable[None]] | None = None,
        max_connections: int = 40,
    ) -> None:
        self.bot = bot
        self.url = url
        self.path = urlsplit(url).path
        self.max_connections = max_connections
        self._secret = secret.encode()
        self._handle = handle
        self._lanes = lanes
        self._after = after
        self._slots = asyncio.Semaphore(max_connections)
        self._tasks: set[asyncio.Task] = set()
        self._closing = False

    def secret_ok(self, given: str | None) -> bool:
        """True for the registered secret (compared in constant time)."""
        return given is not None and hmac.compare_digest(given.encode(), self._secret)

    async def register(self) -> None:
        """setWebhook with the secret; updates Telegram holds are delivered, none dropped."""
        try:
            await self.bot.set_webhook(
                url=self.url,
                secret_token=self._secret.decode(),
                allowed_updates=ALLOWED_UPDATES,
                max_connections=self.max_connections,
                drop_pending_updates=False,
            )
        except BadRequest as exc:  # e.g. not https, or a port Telegram does not post to
            raise SettingsError(f"BACKBONE_WEBHOOK_URL was refused by Telegram: {exc}") from None
        log.info("webhook registered at %s", urlsplit(self.url).netloc)

    async def receive(self, body: bytes) -> int:
        """The HTTP status for one posted update: 200 once it is handled and committed (or
        skipped as unreadable), 400 for a body that is no update, 503 while stopping."""
        if self._closing:
            return 503  # Telegram delivers it again, to the next start
        try:
            item = json.loads(body)
        except ValueError:
            log.warning("webhook: a body that is not JSON was refused")
            return 400
        if not isinstance(item, dict):
            return 400
        if not ids_of([item]):
            return 200  # logged: no id to tell Telegram about, so skipped
        update = read_update(self.bot, item)
        if update is None:
            return 200
        # Shielded: a dropped connection must not cut a transaction short (Telegram sends it
        # again, and the claim makes that a no-op).
        task = asyncio.create_task(self._in_lane(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.shield(task)
        return 200

    async def _in_lane(self, update: Update) -> None:
        key = chat_key(update)
        try:
            if self._after is not None:
                await self._after(key)
            async with self._slots, self._lanes.hold(key):
                await self._handle(update)
        except Exception:
            # The handler logs and answers for itself (as in polling, the update counts as
            # handled: a redelivery would fail the same way).
            log.exception("update %s: handler failed", update.update_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop`; then refuse new updates (503) and let those in hand finish."""
        await stop.wait()
        self._closing = True
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=DRAIN_SECONDS)


def webhook_intake(settings, app, adapter) -> WebhookIntake:
    """The webhook intake of `backbone run` (BACKBONE_WEBHOOK_URL set)."""
    secret = settings.webhook_secret or new_secret()
    return WebhookIntake(
        app.bot,
        settings.webhook_url,
        secret,
        adapter.on_update,
        adapter.timers.lanes,
        after=adapter.replies_sent,
        max_connections=settings.webhook_max_connections,
    )


async def leave_webhook(bot: Bot) -> None:
    """Before long polling: remove a webhook an earlier start set (getUpdates fails while
    one is set); Telegram keeps the updates it holds for getUpdates."""
    await bot.delete_webhook(drop_pending_updates=False)
