"""The catalogs of the bot's own texts (locales/*/LC_MESSAGES/messages.po) stay complete.

When this fails after you changed a text in bot/, refresh the catalogs and translate:

    pybabel extract -F babel.cfg --no-location -k N_ --project=backbone-bot \\
        -o locales/messages.pot .
    pybabel update -D messages -i locales/messages.pot -d locales --no-fuzzy-matching \\
        --ignore-obsolete
"""

from __future__ import annotations

import os
import shutil
import string
import subprocess
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import translator

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
LOCALES_DIR = REPO_ROOT / "locales"
# Every catalog the bot ships must cover every text; en mirrors the (English) msgids.
REQUIRED_LOCALES = ("de", "en", "tr", "ar", "uk", "ru")
# Catalogs nobody who speaks the language natively has checked yet say so in their header.
DRAFT_LOCALES = ("tr", "ar", "uk", "ru")
METHOD_MAP = [("bot/**.py", "python")]
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}

MsgId = str | tuple[str, ...]


@cache
def extracted() -> dict[MsgId, list[str]]:
    """Every text marked for translation in bot/, with where it was found."""
    found: dict[MsgId, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(REPO_ROOT), METHOD_MAP, keywords=KEYWORDS
    ):
        assert context is None, f"{filename}:{lineno}: message contexts are not used here"
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


@cache
def catalog(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def _key(msgid: MsgId) -> str:
    """The catalog key: the singular msgid, also for plural messages."""
    return msgid[0] if isinstance(msgid, tuple) else msgid


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_extraction_finds_the_bots_texts() -> None:
    found = extracted()
    assert len(found) > 20
    assert "Please tap one of the buttons." in found
    assert ("Please choose at least {n} option.", "Please choose at least {n} options.") in found


@pytest.mark.parametrize("locale", REQUIRED_LOCALES)
def test_every_text_is_translated(locale: str) -> None:
    cat = catalog(locale)
    assert not cat.fuzzy, f"{locale}: the catalog header is marked fuzzy"
    assert not cat.obsolete, f"{locale}: obsolete (#~) entries: {sorted(cat.obsolete)}"
    problems = []
    for msgid, where in extracted().items():
        msg = cat.get(_key(msgid))
        strings = msg.string if msg is not None else None
        forms = strings if isinstance(strings, tuple) else (strings,)
        if msg is None:
            problem = "missing"
        elif msg.fuzzy:
            problem = "fuzzy"
        elif isinstance(msgid, tuple) != msg.pluralizable:
            problem = "plural mismatch"
        elif not all(forms):
            problem = "untranslated"
        else:
            continue
        problems.append(f"  {problem}: {msgid!r} ({where[0]})")
    assert not problems, (
        f"locales/{locale}/LC_MESSAGES/messages.po is incomplete "
        f"({len(problems)} of {len(extracted())}):\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("locale", REQUIRED_LOCALES)
def test_translations_keep_the_placeholders(locale: str) -> None:
    wrong = []
    for msg in catalog(locale):
        if not msg.id or not msg.string:
            continue
        ids = msg.id if isinstance(msg.id, tuple) else (msg.id,)
        expected = set().union(*(_placeholders(i) for i in ids))
        forms = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        for form in forms:
            try:
                got = _placeholders(form)
            except ValueError as exc:
                wrong.append(f"  {form!r}: {exc}")
                continue
            if got != expected:
                wrong.append(f"  {form!r}: has {sorted(got)}, msgid has {sorted(expected)}")
    assert not wrong, f"{locale}: placeholders differ from the msgid:\n" + "\n".join(wrong)


def test_german_is_used_for_german_speakers() -> None:
    t = translator("de")
    assert t.gettext("Please tap one of the buttons.") == "Bitte tipp auf einen der Buttons."
    # The confirmation after switching language is written in the new language.
    assert t.gettext("OK, I will write in English from now on.") == (
        "OK, ich schreibe ab jetzt auf Deutsch."
    )
    assert t.ngettext(
        "Please choose at least {n} option.", "Please choose at least {n} options.", 2
    ) == ("Bitte wähl mindestens {n} Optionen aus.")


@pytest.mark.parametrize("locale", DRAFT_LOCALES)
def test_a_first_draft_says_so_in_its_header(locale: str) -> None:
    header = (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert "FIRST DRAFT FOR REVIEW BY A NATIVE SPEAKER" in header.split('msgid ""')[0]


@pytest.mark.parametrize("locale", REQUIRED_LOCALES)
def test_msgfmt_check_is_clean(locale: str) -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("gettext's msgfmt is not installed")
    po = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    done = subprocess.run(
        [msgfmt, "-c", "-o", os.devnull, str(po)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    # warnings (a header left at its default, ...) count as well
    assert "warning" not in done.stderr, done.stderr
