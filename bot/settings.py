"""Settings from the environment or a `.env` file, prefix BACKBONE_."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flows import SHIPPED_DIR


class Settings(BaseSettings):
    """Everything the bot can be configured with; see the README for each setting."""

    model_config = SettingsConfigDict(
        env_prefix="BACKBONE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///./data/backbone.db"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    timezone: str = "Europe/Berlin"
    default_locale: str = "de"
    flows_dir: Path = SHIPPED_DIR
    media_dir: Path = Path("./data/media")
    # Several short messages within this many seconds form one free-text answer.
    text_merge_seconds: float = Field(default=3.0, ge=0, le=60)
    log_level: str = "INFO"
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

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
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
