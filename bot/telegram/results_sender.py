"""The results sender: delivers results messages (text, then charts) from their outbox,
within the same pacer as every other message (overall rate, one per second per chat).

At most once: a message is claimed `sending` and committed before Telegram is called. A
failure of the text decides the row's outcome as for campaign messages; a chart that fails
after the text arrived leaves the row `sent`, with the error noted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from telegram import InputFile

from bot.services.results_outbox import ResultMessage, ResultOutcome, ResultsRunner
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.errors import Kind, classify

log = logging.getLogger(__name__)


class ResultsSender:
    """A background loop: claim a small batch of results messages, send, record."""

    def __init__(self, adapter: TelegramAdapter, runner: ResultsRunner, batch: int = 5) -> None:
        self.adapter = adapter
        self.runner = runner
        self.batch = batch

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: send whatever is due; idle briefly when nothing is."""
        uncertain = await self.runner.recover()
        if uncertain:
            log.warning("%d results message(s) were in flight at a crash: uncertain", uncertain)
        while not stop.is_set():
            try:
                claimed = await self.runner.claim(self.batch)
                if claimed:
                    outcomes = await asyncio.gather(*(self._send(m) for m in claimed))
                    await self.runner.record(list(outcomes))
            except Exception:
                log.exception("results sweep failed; retrying")
                claimed = []
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.5)

    async def _send(self, item: ResultMessage) -> ResultOutcome:
        bot = self.adapter.app.bot
        try:
            await self.adapter.pacer.wait(item.chat_id)
            await bot.send_message(chat_id=item.chat_id, text=item.text)
        except Exception as exc:
            return self._failed(item, exc)
        problems = []
        for png, caption in item.photos:
            try:
                await self.adapter.pacer.wait(item.chat_id)
                photo = InputFile(png, filename="results.png")
                await bot.send_photo(chat_id=item.chat_id, photo=photo, caption=caption or None)
            except Exception as exc:
                problems.append(f"chart: {exc}")
        return ResultOutcome(item.delivery_id, "sent", "; ".join(problems))

    def _failed(self, item: ResultMessage, exc: Exception) -> ResultOutcome:
        failure = classify(exc)
        if failure is None:
            raise exc
        now = self.runner.clock()
        if failure.kind == Kind.UNREACHABLE:
            return ResultOutcome(item.delivery_id, "blocked", failure.detail)
        if failure.kind == Kind.WAIT:
            at = now + timedelta(seconds=failure.seconds)
            return ResultOutcome(item.delivery_id, "retry", failure.detail, at)
        if failure.kind == Kind.UNCERTAIN:
            return ResultOutcome(item.delivery_id, "uncertain", f"timed out: {failure.detail}")
        if failure.kind == Kind.TRANSIENT:
            return ResultOutcome(
                item.delivery_id, "retry", failure.detail, now + timedelta(seconds=2)
            )
        return ResultOutcome(item.delivery_id, "failed", failure.detail)
