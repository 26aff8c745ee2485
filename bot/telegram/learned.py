"""Message ids learned from sends, written in batches instead of a transaction per send.

After a question or a live-results message goes out, its message id must be stored (the next
answer clears that question's buttons; a vote edits that results message). Writing each id in
its own transaction cost one more SQLite write per message. Here the ids of every send that
finished while the previous batch was being written go into the next batch: one transaction
for many sends, and no added delay when the bot is quiet (a lone id is written at once).

What is pending lives in memory until written. The intake waits for a chat's pending ids
(`wait`) before it hands that chat's next update on, so an update always sees the ids of the
replies it follows. A crash between a send and the write loses that id, as a crash between
the send and its own transaction did before: the old question keeps its buttons, which
refuse a tap as out of date.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Learned:
    """One batch: (run id, message id) of questions, (poll id, message id) of results."""

    prompts: list[tuple[int, int]] = field(default_factory=list)
    results: list[tuple[int, int]] = field(default_factory=list)


Write = Callable[[Learned], Awaitable[None]]


class LearnedIds:
    """Collects learned message ids and writes them through `write`, one batch at a time."""

    def __init__(self, write: Write) -> None:
        self._write = write
        self._batch = Learned()
        self._chats: set[int] = set()  # chats with an id in `_batch`
        self._written: dict[int, asyncio.Event] = {}  # chat → set once its ids are written
        self._task: asyncio.Task | None = None

    def prompt(self, chat_id: int, run_id: int, message_id: int) -> None:
        """The message that shows a run's current question."""
        self._batch.prompts.append((run_id, message_id))
        self._added(chat_id)

    def results(self, chat_id: int, poll_id: int, message_id: int) -> None:
        """A poll's live results message."""
        self._batch.results.append((poll_id, message_id))
        self._added(chat_id)

    async def wait(self, chat_id: int) -> None:
        """Return once every id learned so far from sends to `chat_id` is written."""
        written = self._written.get(chat_id)
        if written is not None:
            await written.wait()

    async def flush(self) -> None:
        """Write everything pending now (before shutting down)."""
        while self._task is not None:
            await asyncio.shield(self._task)

    def _added(self, chat_id: int) -> None:
        self._chats.add(chat_id)
        self._written.setdefault(chat_id, asyncio.Event())
        if self._task is None:
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._chats:
                batch, chats = self._batch, self._chats
                self._batch, self._chats = Learned(), set()
                try:
                    await self._write(batch)
                except Exception:
                    log.exception("could not store %d message ids", len(chats))
                for chat_id in chats:
                    if chat_id not in self._chats:  # no newer id of this chat waits
                        self._written.pop(chat_id).set()
        finally:
            self._task = None
