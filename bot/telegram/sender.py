"""The outbox sender: claims due campaign messages and sends them within Telegram's limits.

Telegram's error rules (DESIGN.md): 403 -> the person is unreachable, no more messages;
429 -> wait `retry_after` (the whole sender pauses); 5xx / network -> retry with backoff;
a timeout -> `uncertain` (it may have arrived; never resent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.services.campaigns import CampaignRunner, Outgoing, Result
from bot.telegram.adapter import TelegramAdapter, keyboard

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
        except Forbidden as exc:
            return Result(item.delivery_id, item.campaign_id, "blocked", str(exc))
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = float(wait.total_seconds() if hasattr(wait, "total_seconds") else wait)
            self._pause = max(self._pause, seconds)
            at = now + timedelta(seconds=seconds)
            return Result(item.delivery_id, item.campaign_id, "retry", str(exc), at)
        except TimedOut as exc:
            return Result(item.delivery_id, item.campaign_id, "uncertain", f"timed out: {exc}")
        except BadRequest as exc:
            return Result(item.delivery_id, item.campaign_id, "failed", str(exc))
        except NetworkError as exc:  # includes Telegram's 5xx
            at = now + timedelta(seconds=2)
            return Result(item.delivery_id, item.campaign_id, "retry", str(exc), at)
        return Result(item.delivery_id, item.campaign_id, "sent")
