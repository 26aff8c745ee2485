"""The outbox side of results back: claim due results messages, render them in each
person's language (small cells suppressed), record what happened. Nothing here talks to
Telegram; bot/telegram/results_sender.py does, within the shared pacer's limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import negotiate, translator
from bot.services.campaigns import QuietHours
from bot.services.results_back import charts, message_text, tables
from storage import results_back as queries


@dataclass(frozen=True)
class ResultMessage:
    """One person's results: the text and the charts (PNG, caption)."""

    delivery_id: int
    chat_id: int
    text: str
    photos: list[tuple[bytes, str]]


@dataclass(frozen=True)
class ResultOutcome:
    """What happened to one results message: sent | blocked | retry | failed | uncertain."""

    delivery_id: int
    outcome: str
    error: str = ""
    retry_at: datetime | None = None


class ResultsRunner:
    """Claims, renders and records results messages (quiet hours as campaigns have them)."""

    def __init__(self, db, catalog, *, default_locale: str, timezone: str, clock, k: int):
        self.db = db
        self.catalog = catalog
        self.default_locale = default_locale
        self.timezone = timezone
        self.quiet = QuietHours(ZoneInfo(timezone))
        self.clock = clock
        self.k = k

    async def recover(self) -> int:
        """At start-up: results messages in flight during a crash become `uncertain`."""
        async with self.db.transaction() as repo:
            return await queries.recover_in_flight(repo)

    async def claim(self, limit: int) -> list[ResultMessage]:
        """Up to `limit` due results messages, rendered in each person's language."""
        now = self.clock()
        out: list[ResultMessage] = []
        rendered: dict[tuple[int, str], tuple[str, list]] = {}
        async with self.db.transaction() as repo:
            claimed = await queries.claim_due(
                repo, now, limit, self.quiet.active, self.quiet.next_morning
            )
            for c in claimed:
                locale = c.locale or negotiate(c.language_code, self.default_locale)
                if (c.send_id, locale) not in rendered:
                    t = translator(locale, self.timezone)
                    row = await queries.send(repo, c.send_id)
                    title, items = await tables(repo, self.catalog, row, locale, t, self.k)
                    rendered[c.send_id, locale] = (
                        message_text(title, row.message, items, t),
                        charts(items, t),
                    )
                text, photos = rendered[c.send_id, locale]
                out.append(ResultMessage(c.delivery_id, c.chat_id, text, photos))
        return out

    async def record(self, outcomes: list[ResultOutcome]) -> None:
        """Store what happened to one batch, in one transaction."""
        if not outcomes:
            return
        now = self.clock()
        async with self.db.transaction() as repo:
            for o in outcomes:
                await queries.record(repo, o.delivery_id, o.outcome, o.error, now, o.retry_at)
