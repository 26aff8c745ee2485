"""Turkish, Arabic, Ukrainian and Russian: names, plurals, formats, direction isolates,
the shipped flows and agenda in every language, and `backbone translations`."""

from __future__ import annotations

import gettext
import string
from datetime import UTC, date, datetime

import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from bot import cli_translations
from bot.cli import app
from bot.i18n import (
    FSI,
    LANGUAGE_NAMES,
    LRI,
    PDI,
    available_locales,
    isolate,
    negotiate,
    strip_isolates,
    translator,
)
from bot.services.routers.texts import language_buttons
from flows import SHIPPED_DIR, engine
from flows.agenda import load_agenda
from flows.answers import parse_date_text
from flows.engine import Context
from flows.loader import flow_files, load_flow
from flows.translations import find_po_files, isolate_placeholders, translation_report

NEW = ("tr", "ar", "uk", "ru")
ALL = ("de", "en", *NEW)
NUMBERS = (0, 1, 2, 5, 11, 21, 101)
# Which plural form (msgstr[i]) each number takes, by CLDR / the gettext standard.
FORMS = {
    "de": [1, 0, 1, 1, 1, 1, 1],
    "en": [1, 0, 1, 1, 1, 1, 1],
    "tr": [1, 0, 1, 1, 1, 1, 1],
    # zero, one, two, few (3-10), many (11-99), other (100-102, ...)
    "ar": [0, 1, 2, 3, 4, 4, 5],
    # one (1, 21, 101), few (2-4, 22-24), many (0, 5-20, 11-14)
    "uk": [2, 0, 1, 2, 2, 0, 0],
    "ru": [2, 0, 1, 2, 2, 0, 0],
}
DAYS = ("{n} day", "{n} days")
SHIPPED = sorted(path.stem for path in flow_files([SHIPPED_DIR]))


def _catalog(locale: str):
    from bot.i18n import LOCALES_DIR

    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def _names(text: str) -> list[str]:
    return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f is not None)


# ---------------------------------------------------------------------- names and choice


def test_every_language_is_offered_under_its_own_name():
    assert set(available_locales()) == set(ALL)
    assert LANGUAGE_NAMES["tr"] == "Türkçe"
    assert LANGUAGE_NAMES["ar"] == "العربية"
    assert LANGUAGE_NAMES["uk"] == "Українська"
    assert LANGUAGE_NAMES["ru"] == "Русский"
    labels = [row[0][0] for row in language_buttons()]
    assert labels == ["Deutsch", "English", "Türkçe", "العربية", "Українська", "Русский"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ar", "ar"), ("ar-SA", "ar"), ("uk", "uk"), ("ru-RU", "ru"), ("tr", "tr"), ("TR", "tr")],
)
def test_telegram_language_codes_pick_the_language(code, expected):
    assert negotiate(code, "de") == expected


@pytest.mark.parametrize("code", [None, "", "xx", "fa", "zz-!!", "-", "ar_" * 40])
def test_unknown_or_malformed_codes_fall_back_to_the_default(code):
    assert negotiate(code, "de") == "de"


@pytest.mark.parametrize("locale", NEW)
def test_the_language_switch_confirms_in_the_new_language(locale):
    said = translator(locale).gettext("OK, I will write in English from now on.")
    assert "English" not in said
    assert said != "OK, I will write in English from now on."


# ---------------------------------------------------------------------- plurals


@pytest.mark.parametrize("locale", ALL)
def test_plural_forms_header_is_the_standard_one(locale):
    cat = _catalog(locale)
    standard = get_plural(locale)
    assert cat.num_plurals == standard.num_plurals
    assert cat.plural_expr.replace(" ", "").strip("()") == standard.plural_expr.replace(
        " ", ""
    ).strip("()")


@pytest.mark.parametrize("locale", ALL)
def test_plural_form_chosen_for_0_1_2_5_11_21_101(locale):
    rule = gettext.c2py(_catalog(locale).plural_expr)
    assert [rule(n) for n in NUMBERS] == FORMS[locale]
    forms = _catalog(locale).get(DAYS[0]).string
    t = translator(locale)
    for n, index in zip(NUMBERS, FORMS[locale], strict=True):
        shown = strip_isolates(t.ngettext(*DAYS, n).format(n=n))
        assert shown == forms[index].format(n=n)


def test_russian_and_ukrainian_days_read_right():
    ru, uk = translator("ru"), translator("uk")
    assert [ru.ngettext(*DAYS, n).format(n=n) for n in NUMBERS] == [
        "0 дней", "1 день", "2 дня", "5 дней", "11 дней", "21 день", "101 день",
    ]  # fmt: skip
    assert [uk.ngettext(*DAYS, n).format(n=n) for n in NUMBERS] == [
        "0 днів", "1 день", "2 дні", "5 днів", "11 днів", "21 день", "101 день",
    ]  # fmt: skip


def test_arabic_has_six_distinct_forms_where_the_language_has_them():
    forms = _catalog("ar").get("{n} person would be invited:").string
    assert len(forms) == 6
    assert len(set(forms)) >= 4


# ---------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("locale", "number", "percent"),
    [
        ("tr", "1.234,5", "%42"),
        ("ru", "1\xa0234,5", "42\xa0%"),
        ("uk", "1\xa0234,5", "42%"),
        ("ar", "1,234.5", "42%"),
    ],
)
def test_numbers_and_percentages_per_locale(locale, number, percent):
    t = translator(locale)
    assert strip_isolates(t.number(1234.5)).replace("\u200e", "") == number
    assert t.percent(0.42).replace("\u200e", "").replace("\u061c", "") == percent


@pytest.mark.parametrize("locale", NEW)
def test_the_date_example_can_be_typed_back(locale):
    t = translator(locale)
    example = t.example_date(date(2026, 3, 31))
    assert "\u200f" not in example and "\u200e" not in example
    assert parse_date_text(example, locale) == date(2026, 3, 31)


def test_dates_are_written_per_locale():
    moment = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert translator("ru").datetime(moment).startswith("31 мар. 2026")
    assert translator("uk").datetime(moment).startswith("31 бер. 2026")
    assert translator("tr").datetime(moment) == "31 Mar 2026 14:00:00"
    assert translator("ar").datetime(moment).startswith("31\u200f/03\u200f/2026")
    assert translator("ar").date(moment.date()) != translator("de").date(moment.date())


# ---------------------------------------------------------------------- direction isolates


def test_placeholders_are_isolated_and_still_fill_in():
    text = "مرحبًا {name}! الرمز {code} و{{قوس}}"
    isolated = isolate_placeholders(text)
    assert isolated == f"مرحبًا {FSI}{{name}}{PDI}! الرمز {FSI}{{code}}{PDI} و{{{{قوس}}}}"
    assert isolated.format(name="Alex", code="P-7K3M9Q") == (
        f"مرحبًا {FSI}Alex{PDI}! الرمز {FSI}P-7K3M9Q{PDI} و{{قوس}}"
    )


@pytest.mark.parametrize("text", ["{", "}", "a {b", "{:"])
def test_a_broken_format_string_is_left_as_it_is(text):
    assert isolate_placeholders(text) == text


def test_arabic_bot_texts_isolate_names_pseudonyms_and_numbers():
    t = translator("ar")
    hello = t.gettext("Hello {name}!").format(name="Alex")
    assert f"{FSI}Alex{PDI}" in hello
    assert strip_isolates(hello) == "مرحبًا Alex!"
    who = t.gettext("Your pseudonym is {pseudonym}; your role: {role}.")
    filled = who.format(pseudonym="P-7K3M9Q", role="admin")
    assert f"{FSI}P-7K3M9Q{PDI}" in filled and f"{FSI}admin{PDI}" in filled
    n = t.ngettext(*DAYS, 5).format(n=5)
    assert f"{FSI}5{PDI}" in n


@pytest.mark.parametrize("locale", ["de", "en", "tr", "uk", "ru"])
def test_left_to_right_languages_get_no_isolates(locale):
    t = translator(locale)
    text = t.gettext("Hello {name}!").format(name="Alex")
    assert FSI not in text and PDI not in text
    assert t.isolate("P-7K3M9Q") == "P-7K3M9Q"


def test_isolate_helper_for_values_put_together_in_code():
    assert isolate("Alex") == f"{FSI}Alex{PDI}"
    assert isolate("P-7K3M9Q", ltr=True) == f"{LRI}P-7K3M9Q{PDI}"
    assert translator("ar").isolate(42, ltr=True) == f"{LRI}42{PDI}"


# ---------------------------------------------------------------------- shipped flows


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("locale", NEW)
def test_shipped_flow_is_complete_in_every_new_language(name, locale):
    flow = load_flow(SHIPPED_DIR / f"{name}.yaml")
    assert translation_report(flow, [locale]) == {
        locale: {"missing": [], "fuzzy": [], "stale": [], "invalid": []}
    }
    assert locale in flow.locales()


@pytest.mark.parametrize("name", SHIPPED)
def test_flow_translations_keep_every_placeholder(name):
    flow = load_flow(SHIPPED_DIR / f"{name}.yaml")
    sources = flow.source_texts()
    for locale, path in find_po_files(SHIPPED_DIR, name).items():
        with path.open("rb") as fh:
            catalog = read_po(fh)
        head = path.read_text(encoding="utf-8").split('msgid ""')[0]
        if locale in NEW:
            assert "First draft for review by a native speaker" in head, path
        for message in catalog:
            if message.id:
                assert _names(message.string) == _names(sources[message.context]), (
                    f"{path}: {message.context}"
                )


def test_arabic_interview_isolates_the_first_name():
    flow = load_flow(SHIPPED_DIR / "reporter-interview.yaml")
    turn = engine.start(flow, Context(locale="ar", first_name="Alex"))
    assert f"{FSI}Alex{PDI}" in turn.messages[0]
    assert strip_isolates(turn.messages[0]).startswith("مرحبًا Alex!")
    assert turn.prompt.text == "كيف تصف نفسك في بضع جمل؟"
    ukrainian = engine.start(flow, Context(locale="uk", first_name="Alex"))
    assert ukrainian.messages[0].startswith("Привіт, Alex!")


@pytest.mark.parametrize("locale", NEW)
def test_the_example_agenda_is_translated_with_the_same_polls(locale):
    source = load_agenda(SHIPPED_DIR / "agendas" / "steering-circle.yaml")
    translated = load_agenda(SHIPPED_DIR / "agendas" / f"steering-circle-{locale}.yaml")
    assert translated.id == f"steering-circle-{locale}"
    assert translated.language == locale
    assert translated.title != source.title
    pairs = list(zip(source.polls, translated.polls, strict=True))
    for a, b in pairs:
        assert (a.id, a.type, list(a.options or {})) == (b.id, b.type, list(b.options or {}))
        assert (a.timer, a.anonymous, a.show_results, a.max) == (
            b.timer,
            b.anonymous,
            b.show_results,
            b.max,
        )
        assert a.question != b.question


# ---------------------------------------------------------------------- backbone translations

POT = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Hello {name}!"
msgstr ""

msgid "Thank you!"
msgstr ""

msgid "Bye."
msgstr ""

msgid "Closed."
msgstr ""

msgid "{n} day"
msgid_plural "{n} days"
msgstr[0] ""
msgstr[1] ""
"""

PO = """msgid ""
msgstr ""
"Language: tr\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

msgid "Hello {name}!"
msgstr "Merhaba {isim}!"

#, fuzzy
msgid "Thank you!"
msgstr "Teşekkürler!"

msgid "Closed."
msgstr "Kapatıldı."

msgid "{n} day"
msgid_plural "{n} days"
msgstr[0] "{n} gün"
msgstr[1] ""

msgid "Gone from the code."
msgstr "Koddan gitti."

#~ msgid "Long gone."
#~ msgstr "Çoktan gitti."
"""


@pytest.fixture
def tmp_catalogs(tmp_path, monkeypatch):
    (tmp_path / "tr" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "tr" / "LC_MESSAGES" / "messages.po").write_text(PO, encoding="utf-8")
    (tmp_path / "messages.pot").write_text(POT, encoding="utf-8")
    monkeypatch.setattr(cli_translations, "LOCALES_DIR", tmp_path)
    return tmp_path


def test_the_report_lists_missing_fuzzy_stale_and_placeholder_problems(tmp_catalogs):
    with (tmp_catalogs / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    with (tmp_catalogs / "tr" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="tr")
    assert cli_translations.catalog_report(template, catalog) == {
        "missing": ["Bye.", "{n} day"],
        "fuzzy": ["Thank you!"],
        "stale": ["Gone from the code.", "Long gone."],
        "placeholders": ["Hello {name}!"],
    }


def test_backbone_translations_names_the_gaps_and_exits_1(tmp_catalogs):
    result = CliRunner().invoke(
        app, ["translations", "--template", str(tmp_catalogs / "messages.pot")]
    )
    assert result.exit_code == 1, result.output
    assert "tr: 2 missing: 'Bye.'; '{n} day'" in result.output
    assert "tr: 1 fuzzy: 'Thank you!'" in result.output
    assert "tr: 2 stale: 'Gone from the code.'; 'Long gone.'" in result.output
    assert "tr: 1 placeholders: 'Hello {name}!'" in result.output


def test_backbone_translations_on_a_language_without_catalog(tmp_catalogs):
    result = CliRunner().invoke(
        app, ["translations", "--template", str(tmp_catalogs / "messages.pot"), "--locale", "fa"]
    )
    assert result.exit_code == 1
    assert "fa: no catalog" in result.output


def test_backbone_translations_with_a_template_that_does_not_exist(tmp_path):
    result = CliRunner().invoke(app, ["translations", "--template", str(tmp_path / "no.pot")])
    assert result.exit_code == 2
    assert "no such template" in result.output


def test_backbone_translations_reads_the_code_and_the_shipped_catalogs_are_complete():
    result = CliRunner().invoke(app, ["translations"])
    assert result.exit_code == 0, result.output
    for locale in ("de", *NEW):
        assert f"{locale}: complete" in result.output


def test_flows_translations_lists_fuzzy_apart_from_stale(tmp_path):
    flow_text = (SHIPPED_DIR / "school-survey.yaml").read_text(encoding="utf-8")
    (tmp_path / "school-survey.yaml").write_text(flow_text, encoding="utf-8")
    po_dir = tmp_path / "locales" / "ru" / "LC_MESSAGES"
    po_dir.mkdir(parents=True)
    po = (SHIPPED_DIR / "locales" / "ru" / "LC_MESSAGES" / "school-survey.po").read_text(
        encoding="utf-8"
    )
    po = po.replace('msgctxt "thanks.text"', '#, fuzzy\nmsgctxt "thanks.text"')
    po = po.replace('msgid "In welcher Klasse bist du?"', 'msgid "In welcher Klasse?"')
    (po_dir / "school-survey.po").write_text(po, encoding="utf-8")
    result = CliRunner().invoke(app, ["flows", "translations", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "school-survey [ru]: 1 fuzzy: thanks.text" in result.output
    assert "school-survey [ru]: 1 stale: grade.text" in result.output
