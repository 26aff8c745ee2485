"""Telegram's error rules in one place, for replies and the campaign sender alike.

DESIGN.md: 403 -> the person is unreachable, stop messaging them; 429 -> wait `retry_after`;
5xx / network -> retry with backoff; a timeout -> it may have arrived, never resend;
"message is not modified" -> nothing to do; ChatMigrated -> the group has a new id.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)


class Kind(StrEnum):
    """What a failed call means for the message and its chat."""

    WAIT = "wait"  # 429: wait `seconds`, then the same call may be tried again
    NOT_MODIFIED = "not_modified"  # an edit that changes nothing: done
    REFUSED = "refused"  # 400: this call will never work; do not retry
    UNREACHABLE = "unreachable"  # 403: blocked, kicked, or never started the bot
    UNCERTAIN = "uncertain"  # timed out: it may have arrived; sending again could double it
    TRANSIENT = "transient"  # 5xx or the network: retry after a backoff
    MIGRATED = "migrated"  # the group became a supergroup with `new_chat_id`


@dataclass(frozen=True)
class Failure:
    """A classified Telegram error."""

    kind: Kind
    detail: str
    seconds: float = 0.0
    new_chat_id: int | None = None


def _seconds(value) -> float:
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


def classify(exc: BaseException) -> Failure | None:
    """The rule for `exc`; None when it is not an error Telegram (or the way there) raised."""
    detail = str(exc)
    # Order matters: in python-telegram-bot BadRequest and TimedOut are NetworkErrors.
    if isinstance(exc, RetryAfter):
        return Failure(Kind.WAIT, detail, seconds=_seconds(exc.retry_after))
    if isinstance(exc, ChatMigrated):
        return Failure(Kind.MIGRATED, detail, new_chat_id=exc.new_chat_id)
    if isinstance(exc, BadRequest):
        kind = Kind.NOT_MODIFIED if "not modified" in detail.lower() else Kind.REFUSED
        return Failure(kind, detail)
    if isinstance(exc, Forbidden):
        return Failure(Kind.UNREACHABLE, detail)
    if isinstance(exc, TimedOut):
        return Failure(Kind.UNCERTAIN, detail)
    if isinstance(exc, NetworkError):
        return Failure(Kind.TRANSIENT, detail)
    if isinstance(exc, TelegramError):  # e.g. a rejected token: retrying cannot help
        return Failure(Kind.REFUSED, detail)
    return None
