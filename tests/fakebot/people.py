"""Simulated people and groups talking to the bot through the fake Bot API server.

Everything here is synchronous and thread-safe, for use from pytest threads while the bot runs
as a separate process (or PTB runs on another event loop).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import ChatRecord, FakeBotAPI, MessageRecord, UserRecord

Matcher = str | re.Pattern[str] | Callable[["BotMessage"], bool]


@dataclass(frozen=True)
class BotMessage:
    """Snapshot of a message the bot sent, in its current state (after edits)."""

    message_id: int
    chat_id: int
    kind: str  # "text" / "document" / "photo" / "voice" / "poll" / ...
    text: str | None
    caption: str | None
    raw_text: str | None  # as the bot sent it (HTML etc.)
    parse_mode: str | None
    entities: tuple[dict[str, Any], ...]
    reply_markup: dict[str, Any] | None  # inline keyboard
    keyboard_markup: dict[str, Any] | None  # reply keyboard / remove / force reply
    filename: str | None
    data: bytes | None
    mime_type: str | None
    file_id: str | None
    poll: dict[str, Any] | None
    edit_count: int
    deleted: bool
    date: int
    seq: int  # event number of the message's last change (send/edit/delete)
    api: dict[str, Any] = field(repr=False)  # the Message object as the API returns it now
    observed_seq: int = field(default=0, repr=False)  # newest event when the snapshot was taken

    @property
    def content(self) -> str:
        """Text of a text message, caption of media, question of a poll, else ''."""
        if self.text is not None:
            return self.text
        if self.caption is not None:
            return self.caption
        if self.poll is not None:
            return self.poll["question"]
        return ""

    @property
    def buttons(self) -> list[list[str]]:
        if not self.reply_markup:
            return []
        return [[b["text"] for b in row] for row in self.reply_markup["inline_keyboard"]]

    @property
    def callback_data(self) -> list[list[str | None]]:
        if not self.reply_markup:
            return []
        return [
            [b.get("callback_data") for b in row] for row in self.reply_markup["inline_keyboard"]
        ]

    @property
    def document_name(self) -> str | None:
        return self.filename

    @property
    def document_bytes(self) -> bytes | None:
        return self.data

    @property
    def edited(self) -> bool:
        return self.edit_count > 0

    def __str__(self) -> str:
        s = f"#{self.message_id} {self.kind}: {self.content!r}"
        if self.filename:
            s += f" file={self.filename!r}"
        if self.buttons:
            s += f" buttons={self.buttons}"
        return s


def _snapshot(server: FakeBotAPI, msg: MessageRecord) -> BotMessage:
    poll = server.polls[msg.poll_id].to_api() if msg.poll_id else None
    return BotMessage(
        message_id=msg.message_id,
        chat_id=msg.chat_id,
        kind=msg.kind,
        text=msg.text,
        caption=msg.caption,
        raw_text=msg.raw_text if msg.raw_text is not None else msg.raw_caption,
        parse_mode=msg.parse_mode,
        entities=tuple(msg.entities or msg.caption_entities),
        reply_markup=msg.reply_markup,
        keyboard_markup=msg.other_markup,
        filename=msg.file.filename if msg.file else None,
        data=msg.file.data if msg.file else None,
        mime_type=msg.file.mime_type if msg.file else None,
        file_id=msg.file.file_id if msg.file else None,
        poll=poll,
        edit_count=msg.edit_count,
        deleted=msg.deleted,
        date=msg.date,
        seq=msg.seq,
        api=server._message_api(msg),
        observed_seq=server._seq,
    )


def _matcher(pred: Matcher) -> Callable[[BotMessage], bool]:
    if isinstance(pred, str):
        return lambda m: pred in m.content
    if isinstance(pred, re.Pattern):
        return lambda m: pred.search(m.content) is not None
    if callable(pred):
        return pred
    raise TypeError(f"expected str, compiled regex or callable, got {type(pred).__name__}")


class SimChat:
    """What a person sees in one chat with the bot: shared by SimUser and SimGroup."""

    def __init__(self, server: FakeBotAPI, chat: ChatRecord):
        self.server = server
        self.chat = chat
        self._last_update: int | None = None

    @property
    def chat_id(self) -> int:
        return self.chat.id

    # ------------------------------------------------------------ reading
    def messages(self, include_deleted: bool = False) -> list[BotMessage]:
        """Every bot message in this chat (current state), oldest first."""
        with self.server._lock:
            return [
                _snapshot(self.server, m)
                for m in sorted(self.chat.messages.values(), key=lambda m: m.message_id)
                if m.from_bot and (include_deleted or not m.deleted)
            ]

    def last(self) -> BotMessage | None:
        msgs = self.messages()
        return msgs[-1] if msgs else None

    def texts(self) -> list[str]:
        return [m.content for m in self.messages()]

    def message(self, message_id: int) -> BotMessage:
        with self.server._lock:
            msg = self.chat.messages.get(message_id)
            if msg is None or not msg.from_bot:
                raise KeyError(f"no bot message {message_id} in chat {self.chat_id}")
            return _snapshot(self.server, msg)

    def buttons(self, message_id: int | None = None) -> list[list[str]]:
        with self.server._lock:
            msg = self._keyboard_message(message_id)
            return _snapshot(self.server, msg).buttons if msg else []

    def keyboard(self) -> list[list[str]]:
        """Labels of the reply keyboard the bot currently shows in this chat."""
        with self.server._lock:
            kb = self.chat.reply_keyboard
            return [[b["text"] for b in row] for row in kb["keyboard"]] if kb else []

    def transcript(self) -> str:
        with self.server._lock:
            head = f"--- chat {self.chat_id} ---"
            return "\n".join([head, *self.chat.transcript]) if self.chat.transcript else head

    # ------------------------------------------------------------ waiting
    def _marker(self, since: int | BotMessage | None) -> int:
        if since is None:
            return 0
        if isinstance(since, BotMessage):
            return since.observed_seq
        try:
            return self.server._update_marks[since]
        except KeyError:
            raise KeyError(f"unknown update id {since}") from None

    def wait_for(
        self,
        pred_or_substring: Matcher,
        timeout: float = 10.0,
        since: int | BotMessage | None = None,
    ) -> BotMessage:
        """Block until a bot message in this chat (new or edited, current state) matches; the
        most recently changed match wins. `since`: an update id (from send/press): only
        messages sent or edited after that update was queued count; or a BotMessage snapshot
        (e.g. `last()` taken before acting): only changes after the snapshot was taken count.
        AssertionError with the transcript on timeout."""
        match = _matcher(pred_or_substring)
        marker = self._marker(since)
        deadline = time.monotonic() + timeout
        srv = self.server
        with srv._cond:
            while True:
                candidates = sorted(
                    (
                        m
                        for m in self.chat.messages.values()
                        if m.from_bot and not m.deleted and m.seq > marker
                    ),
                    key=lambda m: -m.seq,
                )
                for m in candidates:
                    snap = _snapshot(srv, m)
                    if match(snap):
                        return snap
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        self._timeout_report(
                            f"no bot message matching {pred_or_substring!r}", timeout
                        )
                    )
                srv._cond.wait(min(remaining, 0.5))

    def wait_reply(self, after_update: int | None = None, timeout: float = 10.0) -> BotMessage:
        """The first bot message sent or edited in this chat after the given update (default:
        the last thing this person did here), in its current state."""
        uid = after_update if after_update is not None else self._last_update
        marker = self._marker(uid)
        deadline = time.monotonic() + timeout
        srv = self.server
        with srv._cond:
            while True:
                for seq, chat_id, mid, kind in srv._events:
                    if seq <= marker or chat_id != self.chat_id or kind not in ("new", "edit"):
                        continue
                    msg = self.chat.messages[mid]
                    if not msg.deleted:
                        return _snapshot(srv, msg)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        self._timeout_report(f"no bot reply after update {uid}", timeout)
                    )
                srv._cond.wait(min(remaining, 0.5))

    def wait_messages(self, count: int, timeout: float = 10.0) -> list[BotMessage]:
        """Block until the chat holds at least `count` bot messages; return them all."""
        deadline = time.monotonic() + timeout
        with self.server._cond:
            while True:
                msgs = self.messages()
                if len(msgs) >= count:
                    return msgs
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        self._timeout_report(f"expected {count} bot messages", timeout)
                    )
                self.server._cond.wait(min(remaining, 0.5))

    def _timeout_report(self, what: str, timeout: float) -> str:
        errors = self.server.errors[-10:]
        lines = [f"{what} within {timeout}s", self.transcript()]
        if errors:
            lines.append("rejected Bot API calls (latest last):")
            lines += [f"  {e.method}: {e.description}  params={e.params}" for e in errors]
        pending = self.server.updates_pending()
        if pending:
            lines.append(f"{pending} updates not fetched by the bot yet")
        return "\n".join(lines)

    # ------------------------------------------------------------ buttons
    def _keyboard_message(self, message_id: int | None) -> MessageRecord | None:
        if message_id is not None:
            msg = self.chat.messages.get(message_id)
            if msg is None or not msg.from_bot or msg.deleted:
                raise AssertionError(f"no bot message {message_id} in chat {self.chat_id}")
            return msg
        with_kb = [
            m
            for m in self.chat.messages.values()
            if m.from_bot and not m.deleted and m.reply_markup
        ]
        return max(with_kb, key=lambda m: m.message_id) if with_kb else None

    def _press_as(self, user: UserRecord, label: str, message_id: int | None) -> str:
        with self.server._lock:
            msg = self._keyboard_message(message_id)
            if msg is None or not msg.reply_markup:
                raise AssertionError(
                    f"no bot message with an inline keyboard to press {label!r}\n"
                    + self.transcript()
                )
            buttons = [b for row in msg.reply_markup["inline_keyboard"] for b in row]
            found = [b for b in buttons if b["text"] == label]
            if not found:
                found = [b for b in buttons if label in b["text"]]
            if not found:
                found = [b for b in buttons if label.casefold() in b["text"].casefold()]
            labels = [b["text"] for b in buttons]
            if not found:
                raise AssertionError(
                    f"no button {label!r} on message #{msg.message_id}; buttons: {labels}\n"
                    + self.transcript()
                )
            if len(found) > 1 and not any(b["text"] == label for b in found):
                raise AssertionError(f"button label {label!r} is ambiguous: {labels}")
            button = found[0]
            if "callback_data" not in button:
                raise AssertionError(f"button {button['text']!r} has no callback_data: {button}")
            qid = self.server._press(
                self.chat, user, msg.message_id, button["callback_data"], button["text"]
            )
            self._last_update = self._query_update(qid)
            return qid

    def _press_data_as(self, user: UserRecord, data: str, message_id: int | None) -> str:
        with self.server._lock:
            if message_id is None:
                msg = self._keyboard_message(None)
                if msg is None:
                    bot_msgs = [m for m in self.chat.messages.values() if m.from_bot]
                    if not bot_msgs:
                        raise AssertionError("no bot message to attach a callback query to")
                    msg = max(bot_msgs, key=lambda m: m.message_id)
                message_id = msg.message_id
            qid = self.server._press(self.chat, user, message_id, data, f"<data {data!r}>")
            self._last_update = self._query_update(qid)
            return qid

    def _query_update(self, qid: str) -> int:
        return self.server.callback_queries[qid].update_id

    def wait_callback_answer(self, query_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the bot answered the callback query; returns {text, show_alert, url,
        cache_time}."""
        deadline = time.monotonic() + timeout
        srv = self.server
        with srv._cond:
            while True:
                q = srv.callback_queries.get(query_id)
                if q is None:
                    raise KeyError(f"unknown callback query {query_id}")
                if q.answered and q.answer is not None:
                    return dict(q.answer)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        self._timeout_report(f"callback query {query_id} not answered", timeout)
                    )
                srv._cond.wait(min(remaining, 0.5))

    def vote(self, user: SimUser, poll: str | BotMessage, option_ids: list[int]) -> int | None:
        poll_id = poll.poll["id"] if isinstance(poll, BotMessage) and poll.poll else poll
        return self.server.poll_answer(user, str(poll_id), option_ids)


class SimUser(SimChat):
    """A person in a private chat with the bot (chat id == user id)."""

    def __init__(self, server: FakeBotAPI, record: UserRecord):
        super().__init__(server, server.chats[record.id])
        self.record = record

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def first_name(self) -> str:
        return self.record.first_name

    def __repr__(self) -> str:
        return f"SimUser({self.id}, {self.first_name!r})"

    def _sent(self, uid: int | None) -> int:
        assert uid is not None
        self._last_update = uid
        return uid

    # ------------------------------------------------------------ sending
    def send(self, text: str, reply_to: int | None = None) -> int:
        """A text message; '/command args' gets a bot_command entity. Returns the update id."""
        if not text:
            raise ValueError("Telegram clients don't send empty messages")
        return self._sent(
            self.server._user_message(
                self.chat, self.record, "text", text, text=text, reply_to=reply_to
            )
        )

    def send_voice(
        self, duration: int = 5, data: bytes = b"OggS\x00fake-voice", caption: str | None = None
    ) -> int:
        with self.server._lock:
            rec = self.server._new_file("voice", data, None, "audio/ogg")
            voice = {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_size": len(data),
            }
            return self._sent(
                self.server._user_message(
                    self.chat,
                    self.record,
                    "voice",
                    f"<voice {duration}s>",
                    caption=caption,
                    media={"voice": voice},
                    file=rec,
                )
            )

    def send_photo(
        self, data: bytes = b"\xff\xd8\xff\xe0fake-jpeg", caption: str | None = None
    ) -> int:
        from .server import _photo_sizes

        with self.server._lock:
            rec = self.server._new_file("photo", data, None, "image/jpeg")
            return self._sent(
                self.server._user_message(
                    self.chat,
                    self.record,
                    "photo",
                    "<photo>" + (f" {caption}" if caption else ""),
                    caption=caption,
                    media={"photo": _photo_sizes(rec)},
                    file=rec,
                )
            )

    def send_sticker(self, emoji: str = "👍", data: bytes = b"RIFFfake-webp") -> int:
        with self.server._lock:
            rec = self.server._new_file("sticker", data, None, "image/webp")
            sticker = {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "file_size": len(data),
            }
            return self._sent(
                self.server._user_message(
                    self.chat,
                    self.record,
                    "sticker",
                    f"<sticker {emoji}>",
                    media={"sticker": sticker},
                    file=rec,
                )
            )

    def send_document(
        self,
        name: str,
        data: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> int:
        import mimetypes

        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        with self.server._lock:
            rec = self.server._new_file("document", data, name, mime)
            doc = {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "file_name": name,
                "mime_type": mime,
                "file_size": len(data),
            }
            return self._sent(
                self.server._user_message(
                    self.chat,
                    self.record,
                    "document",
                    f"<document {name}>",
                    caption=caption,
                    media={"document": doc},
                    file=rec,
                )
            )

    def send_location(self, latitude: float = 52.52, longitude: float = 13.405) -> int:
        return self._sent(
            self.server._user_message(
                self.chat,
                self.record,
                "location",
                f"<location {latitude},{longitude}>",
                media={"location": {"latitude": latitude, "longitude": longitude}},
            )
        )

    def edit(self, message_id: int, new_text: str) -> int:
        """Edit one of this person's own text messages (an edited_message update)."""
        return self._sent(self.server._user_edit(self.chat, self.record, message_id, new_text))

    def last_sent_message_id(self) -> int:
        """message_id of the newest message this person sent in the private chat."""
        with self.server._lock:
            own = [m.message_id for m in self.chat.messages.values() if not m.from_bot]
            if not own:
                raise AssertionError("this person has not sent anything yet")
            return max(own)

    # ------------------------------------------------------------ buttons
    def press(self, label: str, message_id: int | None = None) -> str:
        """Tap the inline button whose text equals (else contains) `label` on the newest bot
        message with an inline keyboard (or on `message_id`). Returns the callback query id."""
        return self._press_as(self.record, label, message_id)

    def press_data(self, data: str, message_id: int | None = None) -> str:
        """A callback query with arbitrary (forged) data."""
        return self._press_data_as(self.record, data, message_id)

    def callback_answers(self) -> list[dict[str, Any]]:
        """Answers the bot gave to this person's taps, in order of the taps:
        {query_id, text, show_alert, url, cache_time}."""
        with self.server._lock:
            return [
                {"query_id": q.id, **q.answer}
                for q in self.server.callback_queries.values()
                if q.user_id == self.id and q.answered and q.answer is not None
            ]

    def vote(self, poll: str | BotMessage, option_ids: list[int]) -> int | None:  # type: ignore[override]
        return super().vote(self, poll, option_ids)

    # ------------------------------------------------------------ relationship
    def block(self) -> None:
        self.server.block(self.id)

    def unblock(self) -> None:
        self.server.unblock(self.id)


class SimGroup(SimChat):
    """A group chat with the bot and some simulated people."""

    def __repr__(self) -> str:
        return f"SimGroup({self.chat_id}, {self.chat.title!r})"

    def add(self, user: SimUser, status: str = "member") -> None:
        """status: creator / administrator / member / restricted / left / kicked."""
        with self.server._lock:
            self.chat.members[user.id] = status

    def set_admin(self, user: SimUser) -> None:
        self.add(user, "administrator")

    def _delivers(self, text: str | None, reply_to: int | None) -> bool:
        if not self.chat.privacy or self.chat.bot_admin:
            return True
        if reply_to is not None:
            target = self.chat.messages.get(reply_to)
            if target is not None and target.from_bot:
                return True
        if not text:
            return False
        bot = self.server.bot_username.lower()
        m = re.match(r"^/[A-Za-z0-9_]{1,32}(?:@([A-Za-z0-9_]+))?", text)
        if m:
            return m.group(1) is None or m.group(1).lower() == bot
        return f"@{bot}" in text.lower()

    def send(self, user: SimUser, text: str, reply_to: int | None = None) -> int | None:
        """`user` writes in the group. With privacy mode (default, bot not admin) the bot only
        gets commands, replies to its messages and @mentions; otherwise returns None."""
        with self.server._lock:
            self.chat.members.setdefault(user.id, "member")
            uid = self.server._user_message(
                self.chat,
                user.record,
                "text",
                text,
                text=text,
                reply_to=reply_to,
                deliver=self._delivers(text, reply_to),
            )
        if uid is not None:
            self._last_update = uid
        return uid

    def press(self, user: SimUser, label: str, message_id: int | None = None) -> str:
        with self.server._lock:
            self.chat.members.setdefault(user.id, "member")
        return self._press_as(user.record, label, message_id)

    def press_data(self, user: SimUser, data: str, message_id: int | None = None) -> str:
        return self._press_data_as(user.record, data, message_id)
