"""The few words the engine itself shows (buttons), per locale, falling back to English."""

from __future__ import annotations

from flows.model import locale_candidates

WORDS: dict[str, dict[str, str]] = {
    "de": {"done": "✔ Fertig", "skip": "Überspringen", "yes": "Ja", "no": "Nein"},
    "en": {"done": "✔ Done", "skip": "Skip", "yes": "Yes", "no": "No"},
    "tr": {"done": "✔ Tamam", "skip": "Atla", "yes": "Evet", "no": "Hayır"},
    "ar": {"done": "✔ تم", "skip": "تخطي", "yes": "نعم", "no": "لا"},
    "uk": {"done": "✔ Готово", "skip": "Пропустити", "yes": "Так", "no": "Ні"},
    "ru": {"done": "✔ Готово", "skip": "Пропустить", "yes": "Да", "no": "Нет"},
}
FALLBACK = "en"

# Typed answers accepted for yes/no questions, whatever the person's locale: people often
# answer in a mix of languages, and none of these words means the opposite elsewhere.
YES_WORDS = frozenset(
    {"yes", "y", "ja", "j", "jo", "jap", "yep", "evet", "e", "نعم", "так", "да", "ok", "okay"}
)
NO_WORDS = frozenset({"no", "n", "nein", "nö", "nope", "hayır", "hayir", "h", "لا", "ні", "нет"})


def word(key: str, locale: str | None) -> str:
    """The engine word `key` ('done', 'skip', 'yes', 'no') in `locale`, else English."""
    for candidate in locale_candidates(locale or FALLBACK):
        table = WORDS.get(candidate)
        if table and key in table:
            return table[key]
    return WORDS[FALLBACK][key]
