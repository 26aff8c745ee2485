"""Long polling that confirms an update to Telegram only after it was handled.

PTB's own Updater confirms a batch as soon as it is fetched, so a crash loses whatever was
fetched but not yet handled. Here the next getUpdates (which confirms) is sent only after the
batch is done; a batch Telegram delivers again after a crash is deduplicated by update id.
Updates of one chat run in order, different chats concurrently.

The batch is fetched as raw JSON and each update is read on its own: PTB's get_updates turns
the whole batch into objects at once, so one update it cannot read (an older self-hosted Bot
API server leaving out a field PTB requires) would fail every fetch, for good. Such an update
is logged by id, confirmed with the rest of its batch and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

from telegram import Bot, Update
from telegram.error import (
    Conflict,
    EndPointNotFound,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

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


async def _handle_in_order(app: Application, updates: list[Update], lanes: ChatLanes) -> None:
    for update in updates:
        async with lanes.hold(chat_key(update)):
            await app.process_update(update)


async def handle_batch(
    app: Application, updates: list[Update], lanes: ChatLanes | None = None
) -> None:
    """Handle a batch: per chat in order, chats concurrently."""
    lanes = lanes if lanes is not None else ChatLanes()
    by_chat: dict[int, list[Update]] = defaultdict(list)
    for update in updates:
        by_chat[chat_key(update)].append(update)
    await asyncio.gather(*(_handle_in_order(app, batch, lanes) for batch in by_chat.values()))


def _update_id(item: Any) -> int | None:
    uid = item.get("update_id") if isinstance(item, dict) else None
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


def read_batch(bot: Bot, raw: list[Any]) -> tuple[list[Update], int | None]:
    """The updates PTB can read, and the offset that confirms the whole batch (unreadable
    updates included); None if no update in it has a usable id."""
    updates: list[Update] = []
    highest: int | None = None
    for item in raw:
        uid = _update_id(item)
        if uid is not None:
            highest = uid if highest is None else max(highest, uid)
        try:
            if uid is None:
                raise ValueError("no update_id")
            update = Update.de_json(item, bot)
            if update is None:
                raise ValueError("empty update")
        except Exception as exc:
            # Only the id and the kind of error: the update may carry names and messages.
            shown = uid if uid is not None else "without id"
            log.warning(
                "update %s could not be read (%s); confirmed and skipped",
                shown,
                type(exc).__name__,
            )
            continue
        updates.append(update)
    return updates, None if highest is None else highest + 1


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


async def poll(
    app: Application, stop: asyncio.Event, timeout: int = 20, lanes: ChatLanes | None = None
) -> None:
    """Fetch and handle updates until `stop` is set."""
    # do_api_request warns that Bot.get_updates exists; raw JSON is the point here.
    warnings.filterwarnings(
        "ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning
    )
    lanes = lanes if lanes is not None else ChatLanes()
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        try:
            raw = await fetch(app.bot, offset, timeout)
        except (InvalidToken, EndPointNotFound):
            raise
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else delay
            log.warning("getUpdates: too many requests; waiting %ss", seconds)
            await asyncio.sleep(float(seconds))
            continue
        except (TimedOut, NetworkError, Conflict) as exc:
            log.warning("getUpdates failed (%s); retrying in %.0fs", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30)
            continue
        if not raw:
            backoff = 1.0
            continue
        updates, next_offset = read_batch(app.bot, raw)
        if next_offset is None:
            # Nothing in the batch says how to confirm it; never seen from Telegram itself.
            log.error("getUpdates returned %d updates without an update_id", len(raw))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30)
            continue
        backoff = 1.0
        await handle_batch(app, updates, lanes)
        offset = next_offset if offset is None else max(offset, next_offset)
