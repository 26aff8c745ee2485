"""What one update is about, looked up once, and what the use cases answer with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bot.i18n import Translator, translator
from bot.services.replies import Keyboard, Outcome, SendText
from storage.models import Identity, Participant, utcnow
from storage.repo import Repo

STAFF_ROLES = ("facilitator", "admin")
# Bump when the privacy notice changes: everyone is asked again before their next flow.
NOTICE_VERSION = "2026-1"


@dataclass
class Ctx:
    """One person's update inside its transaction: who, in which language, and the replies."""

    repo: Repo
    participant: Participant
    identity: Identity
    t: Translator
    # Set from BACKBONE_ADMIN_IDS: configured admins are admins whatever the database says.
    configured_admin: bool = False
    out: Outcome = field(default_factory=Outcome)
    downloads: list[tuple[int, str, str, str]] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        """The person's private chat."""
        return self.identity.chat_id

    @property
    def role(self) -> str:
        """participant, facilitator or admin — as of now, from the database and settings."""
        return "admin" if self.configured_admin else self.participant.role

    @property
    def is_staff(self) -> bool:
        """Facilitators and admins."""
        return self.role in STAFF_ROLES

    def say(self, text: str, buttons: Keyboard | None = None, prompt_run_id: int | None = None):
        """Queue a message to the person."""
        self.out.replies.append(SendText(self.chat_id, text, buttons, prompt_run_id))

    def ack(self, text: str | None = None, alert: bool = False) -> None:
        """Acknowledge the button tap of this update."""
        self.out.callback_text = text
        self.out.callback_alert = alert


@dataclass(frozen=True)
class Config:
    """The settings the dispatcher and its routers share (built once in the wiring)."""

    default_locale: str = "de"
    timezone: str = "Europe/Berlin"
    merge_window: timedelta = timedelta(seconds=3)
    clock: Callable[[], datetime] = utcnow
    admin_ids: frozenset[int] = frozenset()
    notice_version: str = NOTICE_VERSION
    media_dir: Path = Path("data/media")
    delete_mode: str = "erase"
    # Small-cell suppression: counts of fewer people are hidden wherever non-analysts look.
    min_cell_size: int = 5

    def staff_translator(self) -> Translator:
        """The default locale's translator, for texts to staff outside a person's update."""
        return translator(self.default_locale, self.timezone)
