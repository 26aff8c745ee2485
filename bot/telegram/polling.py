"""Long polling that confirms an update to Telegram only after it was handled.

PTB's own Updater confirms a batch as soon as it is fetched, so a crash loses whatever was
fetched but not yet handled. Here the next getUpdates (which confirms) is sent only after the
batch is done; a batch Telegram delivers again after a crash is deduplicated by update id.
Updates of one chat run in order, different chats concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, TimedOut
from telegram.ext import Application

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "poll_answer", "my_chat_member"]


def chat_key(update: Update) -> int:
    """Updates with the same key must be handled in order."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return 0


async def _handle_in_order(app: Application, updates: list[Update]) -> None:
    for update in updates:
        await app.process_update(update)


async def handle_batch(app: Application, updates: list[Update]) -> None:
    """Handle a batch: per chat in order, chats concurrently."""
    by_chat: dict[int, list[Update]] = defaultdict(list)
    for update in updates:
        by_chat[chat_key(update)].append(update)
    await asyncio.gather(*(_handle_in_order(app, batch) for batch in by_chat.values()))


async def poll(app: Application, stop: asyncio.Event, timeout: int = 20) -> None:
    """Fetch and handle updates until `stop` is set."""
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        try:
            updates = await app.bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES
            )
        except InvalidToken:
            raise
        except (TimedOut, NetworkError, Conflict) as exc:
            log.warning("getUpdates failed (%s); retrying in %.0fs", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30)
            continue
        backoff = 1.0
        if not updates:
            continue
        await handle_batch(app, list(updates))
        offset = updates[-1].update_id + 1
