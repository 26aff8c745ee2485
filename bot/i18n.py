"""The bot's own texts in the person's language, plus locale-aware formatting (Babel)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

import locales

LOCALES_DIR = Path(locales.__file__).parent
DOMAIN = "messages"
# The language the msgids are written in.
SOURCE_LOCALE = "en"
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}


@cache
def available_locales() -> tuple[str, ...]:
    """Locales that have a catalog of the bot's texts, plus the source language."""
    found = {p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found | {SOURCE_LOCALE}))


@cache
def _translations(locale: str) -> NullTranslations:
    po = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return NullTranslations()
    # Compile in memory: no binary .mo files in the repository, no build step to forget.
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def negotiate(language_code: str | None, default: str) -> str:
    """Pick a supported locale for Telegram's language_code, else the default."""
    if language_code:
        try:
            lang = Locale.parse(language_code.replace("-", "_")).language
        except (UnknownLocaleError, ValueError):
            lang = None
        if lang in available_locales():
            return lang
    return default if default in available_locales() else SOURCE_LOCALE


@dataclass(frozen=True)
class Translator:
    """Texts and formats for one locale; looked up once per update."""

    locale: str
    timezone: str = "Europe/Berlin"

    @property
    def _t(self) -> NullTranslations:
        return _translations(self.locale)

    def gettext(self, message: str) -> str:
        """The translation of `message`, or `message` itself."""
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural-aware translation."""
        return self._t.ngettext(singular, plural, n)

    def datetime(self, value: datetime) -> str:
        """A timestamp in the configured time zone, formatted for the locale."""
        return format_datetime(value, "medium", tzinfo=ZoneInfo(self.timezone), locale=self.locale)

    def number(self, value: float) -> str:
        """A number formatted for the locale."""
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float) -> str:
        """A fraction (0..1) as a percentage for the locale."""
        return format_percent(value, locale=self.locale)


def translator(locale: str, timezone: str = "Europe/Berlin") -> Translator:
    """The translator for `locale` (falls back to the source texts for unknown ones)."""
    return Translator(locale=locale, timezone=timezone)


def N_(message: str) -> str:
    """Mark a text for extraction without translating it now."""
    return message
