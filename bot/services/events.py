"""What a person did, as the use cases see it (the adapter translates Telegram updates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flows.engine import OtherInput, PhotoInput, VoiceInput


@dataclass(frozen=True)
class Command:
    """A /command with its argument text."""

    name: str
    args: str = ""


@dataclass(frozen=True)
class Quote:
    """The bot's own message that a person's message replies to (as Telegram quotes it)."""

    text: str
    sent_at: datetime


@dataclass(frozen=True)
class Text:
    """A plain text message, maybe an explicit reply to one of the bot's messages."""

    text: str
    reply_to: Quote | None = None


@dataclass(frozen=True)
class Unreadable:
    """A text that can be neither stored nor sent back (e.g. lone UTF-16 surrogates)."""


@dataclass(frozen=True)
class Media:
    """A voice note, photo or another kind of message (sticker, document, ...)."""

    input: VoiceInput | PhotoInput | OtherInput


@dataclass(frozen=True)
class Tap:
    """A tap on an inline button of the bot's message `message_id`."""

    data: str | None
    message_id: int | None


@dataclass(frozen=True)
class Edited:
    """The person edited one of their earlier messages."""


@dataclass(frozen=True)
class AddedToGroup:
    """Someone added the bot to a Telegram group."""

    chat_id: int


@dataclass(frozen=True)
class GroupMessage:
    """A message the bot sees in a group (in privacy mode: commands and replies to it)."""

    chat_id: int
    command: str | None = None
    args: str = ""


Event = Command | Text | Media | Tap | Edited | Unreadable
GroupEvent = AddedToGroup | GroupMessage
