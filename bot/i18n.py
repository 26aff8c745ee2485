"""The bot's own texts in the person's language, plus locale-aware formatting (Babel)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

import locales
from flows.translations import FSI, PDI, is_rtl, isolate_placeholders

LOCALES_DIR = Path(locales.__file__).parent
DOMAIN = "messages"
# The language the msgids are written in.
SOURCE_LOCALE = "en"
# Each language under its own name, as a person who reads it looks for it.
LANGUAGE_NAMES = {
    "de": "Deutsch",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "uk": "Українська",
    "ru": "Русский",
}
# Unicode direction isolates (UAX #9): the text between them is laid out on its own, so a
# Latin name or a number inside Arabic text keeps its order and does not drag its neighbours.
LRI = "\u2066"  # left-to-right isolate: codes, numbers (FSI and PDI: flows.translations)
RLI = "\u2067"
_ISOLATES = (FSI, LRI, RLI, PDI)
# Marks Babel puts into some formats (Arabic dates): invisible, but a person who copies
# the example should be able to send it back.
_BIDI_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c"))


@cache
def available_locales() -> tuple[str, ...]:
    """Locales that have a catalog of the bot's texts, plus the source language."""
    found = {p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found | {SOURCE_LOCALE}))


def isolate(value: object, ltr: bool = False) -> str:
    """`value` between direction isolates (FSI, or LRI for codes and numbers) and PDI."""
    return f"{LRI if ltr else FSI}{value}{PDI}"


def strip_isolates(text: str) -> str:
    """`text` without the direction isolates this module adds."""
    return text.translate(dict.fromkeys(map(ord, _ISOLATES)))


def plain_code(text: str) -> str:
    """`text` without any invisible direction character: a pseudonym or join code copied out
    of an Arabic message brings its isolates and marks along, and must still be found."""
    return strip_isolates(text).translate(_BIDI_MARKS)


def _isolate_catalog(catalog: Catalog) -> None:
    """Isolate the interpolated values of every translation (right-to-left languages)."""
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.string, tuple | list):
            message.string = tuple(isolate_placeholders(s) if s else s for s in message.string)
        elif message.string:
            message.string = isolate_placeholders(message.string)


@cache
def _translations(locale: str) -> NullTranslations:
    po = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return NullTranslations()
    # Compile in memory: no binary .mo files in the repository, no build step to forget.
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    if is_rtl(locale):
        # Names, pseudonyms, numbers and codes are often Latin inside Arabic text: isolate
        # them where they are interpolated, so every call site gets it without knowing.
        _isolate_catalog(catalog)
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

    @property
    def rtl(self) -> bool:
        """True if this locale is written right to left."""
        return is_rtl(self.locale)

    def gettext(self, message: str) -> str:
        """The translation of `message`, or `message` itself."""
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural-aware translation."""
        return self._t.ngettext(singular, plural, n)

    def isolate(self, value: object, ltr: bool = False) -> str:
        """`value` isolated for right-to-left text; unchanged in left-to-right locales."""
        return isolate(value, ltr) if self.rtl else str(value)

    def datetime(self, value: datetime) -> str:
        """A timestamp in the configured time zone, formatted for the locale."""
        return format_datetime(value, "medium", tzinfo=ZoneInfo(self.timezone), locale=self.locale)

    def date(self, value: date, format: str = "medium") -> str:
        """A date formatted for the locale."""
        return format_date(value, format, locale=self.locale)

    def example_date(self, value: date) -> str:
        """A short date as a person could type it back (no invisible direction marks)."""
        return format_date(value, "short", locale=self.locale).translate(_BIDI_MARKS)

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
