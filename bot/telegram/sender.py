"""The outbox sender: claims due campaign messages and sends them within Telegram's limits.

Telegram's error rules (bot/telegram/errors.py) decide each row's outcome: unreachable ->
the person gets no more messages; wait -> retry after `retry_after` (the whole sender
pauses); transient -> retry with backoff; uncertain (a timeout) -> never resent. Campaign
messages are bulk: the pacer lets every direct reply go first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from bot.services.campaigns import CampaignRunner, Outgoing, Result
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.convert import keyboard
from bot.telegram.errors import Failure, Kind, classify

log = logging.getLogger(__name__)


class OutboxSender:
    """A background loop: claim a small batch, send it paced, record what happened."""

    def __init__(self, adapter: TelegramAdapter, runner: CampaignRunner, batch: int = 10) -> None:
        self.adapter = adapter
        self.runner = runner
        self.batch = batch
        self._pause = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: send whatever is due; idle briefly when nothing is."""
        uncertain = await self.runner.recover()
        if uncertain:
            log.warning(
                "%d campaign message(s) were in flight at a crash: marked uncertain", uncertain
            )
        while not stop.is_set():
            try:
                busy = await self.tick()
            except Exception:
                log.exception("outbox sweep failed; retrying")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.5)

    async def tick(self) -> bool:
        """One sweep; True if anything was claimed."""
        if self._pause > 0:
            pause, self._pause = self._pause, 0.0
            await asyncio.sleep(pause)
        claimed = await self.runner.claim(self.batch)
        if not claimed:
            return False
        results = await asyncio.gather(*(self._send(item) for item in claimed))
        await self.runner.record(list(results))
        for campaign_id in {item.campaign_id for item in claimed}:
            self.adapter.progress_changed(campaign_id)
        return True

    async def _send(self, item: Outgoing) -> Result:
        await self.adapter.pacer.wait(item.chat_id)
        now = self.runner.clock()
        try:
            await self.adapter.app.bot.send_message(
                chat_id=item.chat_id, text=item.text, reply_markup=keyboard(item.buttons)
            )
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            return self._result(item, failure, now)
        return Result(item.delivery_id, item.campaign_id, "sent")

    def _result(self, item: Outgoing, failure: Failure, now) -> Result:
        ids = (item.delivery_id, item.campaign_id)
        if failure.kind == Kind.UNREACHABLE:
            return Result(*ids, "blocked", failure.detail)
        if failure.kind == Kind.WAIT:
            self._pause = max(self._pause, failure.seconds)
            return Result(*ids, "retry", failure.detail, now + timedelta(seconds=failure.seconds))
        if failure.kind == Kind.UNCERTAIN:
            return Result(*ids, "uncertain", f"timed out: {failure.detail}")
        if failure.kind == Kind.TRANSIENT:
            return Result(*ids, "retry", failure.detail, now + timedelta(seconds=2))
        return Result(*ids, "failed", failure.detail)
