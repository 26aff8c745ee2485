"""Parsing typed answers (numbers, dates, yes/no) and formatting answers for a locale."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, parse_date
from babel.numbers import format_decimal

from flows.model import normalize_locale
from flows.words import NO_WORDS, YES_WORDS

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_FIRST = re.compile(r"^(\d{1,2})\s*[./-]\s*(\d{1,2})\s*[./-]\s*(\d{2}|\d{4})$")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def babel_locale(locale: str | None) -> Locale:
    """A Babel Locale for a tag like 'de', 'de-AT' or 'pt_BR'; English if unknown."""
    try:
        return Locale.parse(normalize_locale(locale or "en"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def parse_number(text: str, integer: bool) -> int | float | None:
    """Parse '12', '2,5', '2.5', '1 000' to a number; None if not a (whole) number."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    # Comma and dot both count as the decimal mark: phones in German show a comma key,
    # others a dot, and the flows ask for ages and small amounts, not thousands.
    if not _NUMBER.match(cleaned):
        return None
    try:
        value = Decimal(cleaned.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - guarded by the regex
        return None
    if value == value.to_integral_value():
        return int(value)
    if integer:
        return None
    return float(value)


def parse_date_text(text: str, locale: str | None) -> date | None:
    """Parse a typed date: ISO, day-first (1.3.2026, 01.03.26, 1/3/2026) or locale format."""
    cleaned = text.strip()
    match = _ISO.match(cleaned)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return _safe_date(year, month, day)
    match = _DAY_FIRST.match(cleaned)
    if match:
        day, month, year = (int(g) for g in match.groups())
        if year < 100:
            year += 2000
        return _safe_date(year, month, day)
    if not re.search(r"\d", cleaned):
        return None
    try:
        parsed = parse_date(cleaned, locale=babel_locale(locale))
    except Exception:  # babel raises ValueError/IndexError/ParseError on odd input
        return None
    return parsed if 1900 <= parsed.year <= 2200 else None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_yes_no(text: str) -> str | None:
    """'ja', 'Yes', 'nein' ... -> 'yes' / 'no'; None if it is neither."""
    cleaned = text.strip().strip(".!").casefold()
    if cleaned in YES_WORDS:
        return "yes"
    if cleaned in NO_WORDS:
        return "no"
    return None


def format_number(value: int | float, locale: str | None) -> str:
    """A number formatted for the locale (decimal comma in German, ...)."""
    return format_decimal(value, locale=babel_locale(locale))


def format_iso_date(value: str, locale: str | None) -> str:
    """An ISO date string formatted for the locale (medium format)."""
    try:
        parsed = date.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    return format_date(parsed, format="medium", locale=babel_locale(locale))
