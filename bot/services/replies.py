"""What a use case asks the adapter to do: plain objects, no Telegram types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# A button is (label, callback data).
Keyboard = list[list[tuple[str, str]]]


@dataclass(frozen=True)
class Person:
    """Who sent an update, as Telegram tells it (never leaves the adapter/service boundary)."""

    telegram_user_id: int
    chat_id: int
    first_name: str = ""
    username: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class SendText:
    """Send a message; with `prompt_run_id`, remember its id as that run's current question."""

    chat_id: int
    text: str
    buttons: Keyboard | None = None
    prompt_run_id: int | None = None
    # With `results_poll_id`, remember its id as that poll's live results message.
    results_poll_id: int | None = None


@dataclass(frozen=True)
class EditText:
    """Replace the text and buttons of a message the bot sent earlier."""

    chat_id: int
    message_id: int
    text: str
    buttons: Keyboard | None = None


@dataclass(frozen=True)
class ClearButtons:
    """Remove the buttons of an answered question so old taps cannot happen."""

    chat_id: int
    message_id: int


@dataclass(frozen=True)
class SendDocument:
    """Send a file (e.g. the person's own data as JSON)."""

    chat_id: int
    filename: str
    data: bytes
    caption: str = ""


@dataclass(frozen=True)
class SendPhoto:
    """Send a picture (a QR code, a results chart)."""

    chat_id: int
    data: bytes
    caption: str = ""


@dataclass(frozen=True)
class Broadcast:
    """The same kind of message to many chats: sent in the background, within rate limits."""

    messages: list[tuple[int, str, Keyboard | None]]


@dataclass(frozen=True)
class ResultsChanged:
    """A poll got a vote: refresh the live results message (edits are coalesced)."""

    poll_id: int


@dataclass(frozen=True)
class ProgressChanged:
    """A campaign's figures changed (someone started or finished): refresh its progress."""

    campaign_id: int


@dataclass(frozen=True)
class ClosePollTimer:
    """Close poll `poll_id` at `at` unless it was closed before."""

    poll_id: int
    at: datetime


@dataclass(frozen=True)
class NativePoll:
    """Send a native Telegram poll to a group (non-anonymous so each answer arrives)."""

    chat_id: int
    poll_id: int
    question: str
    options: list[str]
    multiple: bool
    # Telegram's own hide_results_until_closes: nobody sees results before the poll stops.
    hide_results: bool = False


@dataclass(frozen=True)
class StopNativePoll:
    """Stop a native group poll."""

    chat_id: int
    message_id: int


@dataclass(frozen=True)
class LeaveChat:
    """Leave a group the bot must not be in."""

    chat_id: int


@dataclass(frozen=True)
class Typing:
    """Show Telegram's "typing…" in a chat: the bot is collecting, the next question comes."""

    chat_id: int


@dataclass(frozen=True)
class Schedule:
    """Call back `Conversation.settle_text(run_id)` at `at` (end of the merge window);
    `chat_id`: the person's chat, whose lane the settle runs in (None: look it up)."""

    run_id: int
    at: datetime
    chat_id: int | None = None


Reply = (
    SendText
    | EditText
    | ClearButtons
    | SendDocument
    | SendPhoto
    | Broadcast
    | ResultsChanged
    | ProgressChanged
    | ClosePollTimer
    | NativePoll
    | StopNativePoll
    | LeaveChat
    | Typing
    | Schedule
)


@dataclass
class Outcome:
    """The result of handling one update: replies in order, and a button-tap acknowledgement."""

    replies: list[Reply] = field(default_factory=list)
    callback_text: str | None = None
    callback_alert: bool = False
    # The update was handled before (Telegram delivered it again): say and do nothing.
    duplicate: bool = False
