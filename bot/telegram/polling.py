"""Long polling: fetch raw updates, read each on its own, hand them to the intake.

PTB's own Updater confirms a batch as soon as it is fetched, so a crash loses whatever was
fetched but not yet handled. Here the intake (bot/telegram/intake.py) confirms only up to
the watermark of handled updates; one Telegram delivers again after a crash is deduplicated
by update id. The batch is fetched as raw JSON and each update is read on its own: PTB's
get_updates turns the whole batch into objects at once, so one update it cannot read (an
older self-hosted Bot API server leaving out a field PTB requires) would fail every fetch,
for good. Such an update is logged by id, confirmed with the others and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from telegram import Bot, Update
from telegram.error import EndPointNotFound, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

from bot.telegram.intake import Intake

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "poll_answer", "my_chat_member"]
# The long poll may take `timeout` seconds; the connection gets this much longer.
READ_MARGIN = 10.0


class ChatLanes:
    """One lane per chat: its updates and its due timers are handled one at a time."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: Counter[int] = Counter()  # holders and waiters, to drop idle locks

    @contextlib.asynccontextmanager
    async def hold(self, *chats: int) -> AsyncIterator[None]:
        """Hold the lanes of these chats (taken in one fixed order, so holders never deadlock)."""
        keys = sorted(set(chats))
        for key in keys:
            self._users[key] += 1
        locks = [self._locks.setdefault(key, asyncio.Lock()) for key in keys]
        taken: list[asyncio.Lock] = []
        try:
            for lock in locks:
                await lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in taken:
                lock.release()
            for key in keys:
                self._users[key] -= 1
                if self._users[key] == 0:
                    del self._users[key]
                    del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


def chat_key(update: Update) -> int:
    """Updates with the same key must be handled in order."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return 0


def _update_id(item: Any) -> int | None:
    uid = item.get("update_id") if isinstance(item, dict) else None
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


def ids_of(raw: list[Any]) -> list[tuple[int, Any]]:
    """Each raw update with its id; items without a usable id are logged and left out."""
    found = []
    for item in raw:
        uid = _update_id(item)
        if uid is None:
            log.warning("update without id could not be read; skipped")
        else:
            found.append((uid, item))
    return found


def read_update(bot: Bot, item: Any) -> Update | None:
    """The Update behind one raw update, or None when PTB cannot read it (logged by id and
    kind of error only: the update may carry names and messages)."""
    try:
        update = Update.de_json(item, bot)
        if update is None:
            raise ValueError("empty update")
        return update
    except Exception as exc:
        log.warning(
            "update %s could not be read (%s); confirmed and skipped",
            _update_id(item),
            type(exc).__name__,
        )
        return None


def read_batch(bot: Bot, raw: list[Any]) -> list[tuple[int, Update | None]]:
    """Each update of a raw batch by id: the Update, or None when PTB cannot read it."""
    return [(uid, read_update(bot, item)) for uid, item in ids_of(raw)]


async def fetch(bot: Bot, offset: int | None, timeout: int) -> list[Any]:
    """One getUpdates long poll (confirming everything before `offset`), as raw JSON."""
    result = await bot.do_api_request(
        "getUpdates",
        api_kwargs={"offset": offset, "timeout": timeout, "allowed_updates": ALLOWED_UPDATES},
        read_timeout=timeout + READ_MARGIN,
    )
    if not isinstance(result, list):
        raise NetworkError(f"getUpdates returned {type(result).__name__}, not a list")
    return result


def updates_of(bot: Bot):
    """The intake's fetch: getUpdates with Telegram's rules for the long poll itself."""
    # do_api_request warns that Bot.get_updates exists; raw JSON is the point here.
    warnings.filterwarnings(
        "ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning
    )

    async def fetch_updates(offset: int | None, timeout: int) -> list[tuple[int, Any]]:
        try:
            raw = await fetch(bot, offset, timeout)
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else delay
            log.warning("getUpdates: too many requests; waiting %ss", seconds)
            await asyncio.sleep(float(seconds))
            return []
        read = ids_of(raw)
        if raw and not read:
            # Nothing in the batch says how to confirm it; never seen from Telegram itself.
            log.error("getUpdates returned %d updates without an update_id", len(raw))
            await asyncio.sleep(1.0)
        return read

    return fetch_updates


async def poll(
    app: Application,
    stop: asyncio.Event,
    handle: Callable[[Update], Awaitable[None]],
    lanes: ChatLanes,
    after: Callable[[int], Awaitable[None]] | None = None,
) -> None:
    """Fetch and handle updates until `stop` is set: per chat in order (in the chat's lane,
    shared with the timer sweep), chats in parallel, fetching never waits for handlers."""

    async def in_lane(update: Update) -> None:
        async with lanes.hold(chat_key(update)):
            await handle(update)

    intake = Intake(
        updates_of(app.bot),
        in_lane,
        chat_key,
        after=after,
        fatal=(InvalidToken, EndPointNotFound),
        read=lambda item: read_update(app.bot, item),
    )
    await intake.run(stop)
