"""Settings from the environment or a `.env` file, prefix BACKBONE_."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from babel import Locale, UnknownLocaleError
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flows import SHIPPED_DIR

BOT_USERNAME = r"^[A-Za-z][A-Za-z0-9_]{3,31}$"


def default_data_dir() -> Path:
    """The per-user data directory (~/.local/share/backbone-bot on Linux): the same for every
    command wherever it is started; a service sets BACKBONE_DATA_DIR (deploy/)."""
    return Path(platformdirs.user_data_dir("backbone-bot", appauthor=False))


class Settings(BaseSettings):
    """Everything the bot can be configured with; see the README for each setting."""

    model_config = SettingsConfigDict(
        env_prefix="BACKBONE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    # The bot's @username for links made outside `run` (the CLI); `run` asks Telegram (getMe).
    bot_username: str | None = None
    # Where the default database and media live; see default_data_dir.
    data_dir: Path = Field(default_factory=default_data_dir)
    # Empty: an SQLite file `backbone.db` in data_dir.
    database_url: str = ""
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    timezone: str = "Europe/Berlin"
    default_locale: str = "de"
    flows_dir: Path = SHIPPED_DIR
    # Empty: data_dir/media.
    media_dir: Path | None = None
    # Offline transcription of voice answers (extra `transcribe`): the model directory made by
    # `backbone transcribe-model DIR`; empty: voice notes are not transcribed. Never downloaded.
    transcribe_model: Path | None = None
    # CPU threads the model may use (the bot shares the machine: keep it low).
    transcribe_threads: int = Field(default=1, ge=1, le=16)
    # Several short messages within this many seconds form one free-text answer.
    text_merge_seconds: float = Field(default=3.0, ge=0, le=60)
    log_level: str = "INFO"
    # "plain" lines for people, or one JSON object per line for log collectors.
    log_format: Literal["plain", "json"] = "plain"
    # Bump when the privacy notice changes: everyone is asked again before their next flow.
    privacy_notice_version: str = Field(default="2026-1", min_length=1, max_length=20)
    # /delete: "erase" everything, or "unlink" (keep answers under the pseudonym, drop identity).
    delete_mode: Literal["erase", "unlink"] = "erase"
    # Flood control: more than FLOOD_LIMIT updates in FLOOD_WINDOW seconds mutes for FLOOD_PAUSE.
    flood_limit: int = Field(default=20, ge=1)
    flood_window: float = Field(default=10.0, gt=0)
    flood_pause: float = Field(default=60.0, ge=0)
    # Outgoing messages per second, all chats together (Telegram allows about 30).
    send_rate: float = Field(default=25.0, gt=0, le=30)
    # Results shown to anyone but analysts hide every cell of fewer than this many people.
    min_cell_size: int = Field(default=5, ge=1, le=1000)
    # The web server inside `backbone run` (projector view, health checks); port 0 turns it off.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    # The address people open (links the bot sends); empty: http://<web_host>:<web_port>.
    public_url: str = ""
    # Webhook mode: Telegram POSTs updates to this address (the web server's route of the
    # same path); empty: long polling. The secret is checked on every request; when unset a
    # new one is made at each start (and registered with the webhook then).
    webhook_url: str = ""
    webhook_secret: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,256}$")
    # How many update requests Telegram may have open at once (Telegram allows 1-100).
    webhook_max_connections: int = Field(default=40, ge=1, le=100)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_address(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (the address Telegram posts updates to)")
        path = urlsplit(value).path
        if path in ("", "/"):
            raise ValueError("needs a path, e.g. https://bot.example.org/telegram/<random>")
        return value

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (the address people open)")
        return value.strip().rstrip("/")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError("must be comma-separated Telegram user ids (numbers)") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            Locale.parse(value)
        except (UnknownLocaleError, ValueError):
            raise ValueError(f"unknown locale {value!r}") from None
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_root(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("bot_username", mode="before")
    @classmethod
    def _no_at(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().removeprefix("@") or None
            if value is not None and not re.match(BOT_USERNAME, value):
                raise ValueError(f"not a Telegram bot username: {value!r}")
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Resolved once, so a command that changes directory still finds the same files.
        return Path(os.path.expanduser(value)).absolute()

    @model_validator(mode="after")
    def _defaults_in_data_dir(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'backbone.db'}"
        if self.media_dir is None:
            self.media_dir = self.data_dir / "media"
        if self.webhook_url and self.web_port == 0:
            raise ValueError("BACKBONE_WEBHOOK_URL needs the web server (BACKBONE_WEB_PORT 0)")
        return self

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value:
            return value
        # Accept the plain URLs people copy from docs; the code needs the async drivers.
        for plain, async_ in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if value.startswith(plain):
                return async_ + value[len(plain) :]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be an sqlite:// or postgresql:// URL")
        return value

    @property
    def web_url(self) -> str:
        """Where links to the web server point (no trailing slash)."""
        return (self.public_url or f"http://{self.web_host}:{self.web_port}").rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one readable line."""


def load_settings(require_token: bool = False) -> Settings:
    """Read settings, turning validation errors into one readable line."""
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "BACKBONE_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"{name}: {first['msg']}") from None
    if require_token and not settings.telegram_token:
        raise SettingsError("BACKBONE_TELEGRAM_TOKEN is not set (the bot token from @BotFather)")
    return settings
