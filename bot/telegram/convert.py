"""Telegram updates into the plain events and people the use cases understand."""

from __future__ import annotations

import re
from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.i18n import plain_code
from bot.services.events import (
    AddedToGroup,
    Command,
    Edited,
    Event,
    GroupEvent,
    GroupMessage,
    Media,
    Quote,
    Tap,
    Text,
    Unreadable,
)
from bot.services.replies import Keyboard, Person
from flows.engine import OtherInput, PhotoInput, VoiceInput

_SURROGATES = re.compile("[\ud800-\udfff]")
# Message kinds no question takes; they get the question's hint.
OTHER_KINDS = (
    "sticker",
    "animation",
    "audio",
    "document",
    "video",
    "video_note",
    "location",
    "contact",
    "poll",
    "dice",
)


def to_group_event(
    update: Update, bot_id: int, bot_username: str | None = None
) -> tuple[Person, GroupEvent] | None:
    """A group update the bot must react to: being added, or a message it can see (a command
    addressed to another bot is not one of them)."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None or chat.type not in ("group", "supergroup"):
        return None
    person = person_of(user, chat.id)
    member = update.my_chat_member
    if member is not None:
        joined = member.new_chat_member.status in ("member", "administrator")
        was_out = member.old_chat_member.status in ("left", "kicked")
        if member.new_chat_member.user.id == bot_id and joined and was_out:
            return person, AddedToGroup(chat.id)
        return None
    message = update.message
    if message is None or user.is_bot:
        return None
    command, args = None, ""
    if message.text and message.text.startswith("/"):
        parsed = parse_command(message.text, bot_username)
        if parsed is None:
            return None
        command, args = parsed
    return person, GroupMessage(chat.id, command, args)


def parse_command(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """A /command's name and arguments; None when it is addressed to another bot
    (/close@other_bot). Without a known username every command counts as ours."""
    head, _, args = plain_code(text).partition(" ")
    name, _, addressee = head[1:].partition("@")
    if addressee and bot_username and addressee.lower() != bot_username.lower():
        return None
    return name.lower(), args


def person_of(user, chat_id: int) -> Person:
    """The person behind a Telegram user, as seen in `chat_id`."""
    return Person(
        telegram_user_id=user.id,
        chat_id=chat_id,
        first_name=user.first_name or "",
        username=user.username,
        language_code=user.language_code,
    )


def to_event(update: Update, bot_username: str | None = None) -> tuple[Person, Event] | None:
    """Translate a private-chat update into a person and what they did; None to ignore."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    if chat.type != "private":
        return None
    # What Telegram says about the person is stored and shown back: broken characters in it
    # are replaced, so a name can never make a message unsendable.
    person = Person(
        telegram_user_id=user.id,
        chat_id=chat.id,
        first_name=clean_text(user.first_name or ""),
        username=clean_text(user.username) if user.username else None,
        language_code=clean_text(user.language_code) if user.language_code else None,
    )
    if update.callback_query is not None:
        query = update.callback_query
        message_id = query.message.message_id if query.message else None
        return person, Tap(query.data, message_id)
    if update.edited_message is not None:
        return person, Edited()
    message = update.message
    if message is None:
        return None
    if message.text is not None and _SURROGATES.search(message.text):
        # Lone UTF-16 halves: UTF-8 cannot encode them, so such a text could neither be
        # stored nor sent back. It is refused (the person is asked again), never guessed at.
        return person, Unreadable()
    event = message_event(message, bot_username)
    if isinstance(event, Text):
        event = replace(event, reply_to=_quote(message))
    return None if event is None else (person, event)


def clean_text(text: str) -> str:
    """`text` with lone UTF-16 surrogates replaced by U+FFFD (so it can be stored and sent)."""
    return _SURROGATES.sub("\ufffd", text)


def _quote(message: Message) -> Quote | None:
    """The bot's message this one explicitly replies to, if any."""
    quoted = message.reply_to_message
    if quoted is None or quoted.from_user is None or not quoted.from_user.is_bot:
        return None  # in a private chat the only bot is this one
    return Quote(clean_text(quoted.text or quoted.caption or ""), quoted.date)


def message_event(message: Message, bot_username: str | None = None) -> Event | None:
    """The event a message stands for: a command, text, voice note, photo or something else;
    None for a command addressed to another bot (ignored: nothing stored, no reply)."""
    if message.text is not None:
        text = message.text
        if text.startswith("/"):
            parsed = parse_command(text, bot_username)
            return None if parsed is None else Command(*parsed)
        return Text(text)
    if message.voice is not None:
        v = message.voice
        return Media(VoiceInput(v.file_id, v.file_unique_id, v.duration or 0, v.mime_type or ""))
    if message.photo:
        p = max(message.photo, key=lambda size: size.width * size.height)
        return Media(PhotoInput(p.file_id, p.file_unique_id, p.width, p.height))
    for kind in OTHER_KINDS:
        if getattr(message, kind, None):
            return Media(OtherInput(kind))
    return Media(OtherInput("other"))


def keyboard(buttons: Keyboard | None) -> InlineKeyboardMarkup | None:
    """Inline keyboard markup from (label, data) rows."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )
