"""Translations: PO files beside the flow, stale/fuzzy fallback, reports, Babel extraction."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_from_dir
from babel.messages.pofile import read_po, write_po

from flows import SHIPPED_DIR, engine
from flows.babel_extract import extract_flow, flow_catalog
from flows.loader import check_paths, load_flow
from flows.translations import po_path, translation_report

from .conftest import DE, EN

SOURCE = textwrap.dedent(
    """\
    id: tr-demo
    title: Umfrage
    version: "1"
    language: de
    steps:
      - id: plan
        type: single_choice
        text: Was hast du vor, {first_name}?
        options:
          training: Ausbildung
          school: Schule
      - id: rate
        type: scale
        text: Wie gut?
        reprompt: Bitte eine Zahl.
        min: 1
        max: 5
        min_label: schlecht
        max_label: gut
    """
)


def write_po_file(flow_dir: Path, locale: str, entries: dict[str, tuple[str, str, bool]]) -> Path:
    """Write a PO file: key -> (msgid, msgstr, fuzzy)."""
    catalog = Catalog(locale=locale)
    for key, (msgid, msgstr, fuzzy) in entries.items():
        catalog.add(msgid, msgstr, context=key, flags=["fuzzy"] if fuzzy else [])
    path = po_path(flow_dir, locale, "tr-demo")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog)
    return path


def test_current_translations_are_used_and_stale_ones_fall_back(tmp_path):
    (tmp_path / "tr-demo.yaml").write_text(SOURCE, encoding="utf-8")
    write_po_file(
        tmp_path,
        "en",
        {
            "title": ("Umfrage", "Survey", False),
            "plan.text": (
                "Was hast du vor, {first_name}?",
                "What's your plan, {first_name}?",
                False,
            ),
            # msgid no longer matches the source: stale
            "plan.option.training": ("Lehre", "Apprenticeship", False),
            # fuzzy: marked for review, not used
            "plan.option.school": ("Schule", "School", True),
            # placeholders differ from the source: not used
            "rate.text": ("Wie gut?", "How good, {first_name}?", False),
            "rate.min_label": ("schlecht", "bad", False),
        },
    )
    flow = load_flow(tmp_path / "tr-demo.yaml")
    assert flow.translations == {
        "en": {
            "title": "Survey",
            "plan.text": "What's your plan, {first_name}?",
            "rate.min_label": "bad",
        }
    }
    assert flow.locales() == ["de", "en"]
    turn = engine.start(flow, EN)
    assert turn.prompt.text == "What's your plan, Mia?"
    assert [row[0].label for row in turn.prompt.buttons] == ["Ausbildung", "Schule"]
    assert engine.start(flow, DE).prompt.text == "Was hast du vor, Mia?"
    # regional variants find the base language
    assert flow.text("title", "en-GB") == "Survey"

    report = translation_report(flow)
    assert report == {
        "en": {
            "missing": ["rate.reprompt", "rate.max_label"],
            "fuzzy": ["plan.option.school"],
            "stale": ["plan.option.training"],
            "invalid": ["rate.text"],
        }
    }
    # a stale translation is never an error for the checker
    assert check_paths([tmp_path]) == []


def test_report_for_a_locale_without_file_lists_everything_missing(tmp_path):
    (tmp_path / "tr-demo.yaml").write_text(SOURCE, encoding="utf-8")
    flow = load_flow(tmp_path / "tr-demo.yaml")
    report = translation_report(flow, ["tr"])
    assert report["tr"]["missing"] == list(flow.source_texts())
    assert report["tr"]["stale"] == []


def test_report_on_a_pinned_copy_uses_stored_translations(tmp_path):
    (tmp_path / "tr-demo.yaml").write_text(SOURCE, encoding="utf-8")
    write_po_file(tmp_path, "en", {"title": ("Umfrage", "Survey", False)})
    flow = load_flow(tmp_path / "tr-demo.yaml")
    pinned = type(flow).model_validate(flow.model_dump(mode="json") | {"source_path": None})
    report = translation_report(pinned)
    assert "title" not in report["en"]["missing"]
    assert "plan.text" in report["en"]["missing"]


def test_broken_po_file_is_a_problem(tmp_path):
    (tmp_path / "tr-demo.yaml").write_text(SOURCE, encoding="utf-8")
    path = po_path(tmp_path, "en", "tr-demo")
    path.parent.mkdir(parents=True)
    path.write_text('msgid ""\nmsgstr ""\n\nthis is not PO\n', encoding="utf-8")
    problems = check_paths([tmp_path])
    assert len(problems) == 1
    assert problems[0].file == str(path)
    assert problems[0].line == 4
    assert "cannot read translation" in problems[0].message


def test_babel_extractor_yields_context_and_source_with_lines():
    results = list(extract_flow(io.BytesIO(SOURCE.encode()), {}, [], {}))
    assert results[0] == (2, "pgettext", ("title", "Umfrage"), ["flow title"])
    by_key = {msg[0]: (line, msg[1]) for line, _f, msg, _c in results}
    assert by_key["plan.text"] == (8, "Was hast du vor, {first_name}?")
    assert by_key["plan.option.school"] == (11, "Schule")
    assert by_key["rate.reprompt"] == (15, "Bitte eine Zahl.")
    assert by_key["rate.max_label"] == (19, "gut")
    assert len(results) == 8


def test_babel_extract_function_produces_msgctxt_and_msgid():
    # what `pybabel extract -F babel.cfg` does with the registered extractor
    found = list(extract(extract_flow, io.BytesIO(SOURCE.encode())))
    assert found[0] == (2, "Umfrage", ["flow title"], "title")
    school = (11, "Schule", ["step plan (single_choice), answer option 'school'"])
    assert (*school, "plan.option.school") in found


def test_flow_catalog_has_keys_sources_and_lines(tmp_path):
    (tmp_path / "tr-demo.yaml").write_text(SOURCE, encoding="utf-8")
    flow = load_flow(tmp_path / "tr-demo.yaml")
    catalog = flow_catalog(flow, SOURCE)
    messages = {m.context: m for m in catalog if m.id}
    assert set(messages) == set(flow.source_texts())
    assert messages["plan.option.school"].id == "Schule"
    assert messages["plan.option.school"].locations == [("tr-demo.yaml", 11)]
    # without the YAML text, the step's line is used
    fallback = {m.context: m for m in flow_catalog(flow) if m.id}
    assert fallback["plan.option.school"].locations == [("tr-demo.yaml", 6)]
    # it survives a PO round trip with msgctxt
    buffer = io.BytesIO()
    write_po(buffer, catalog)
    buffer.seek(0)
    again = read_po(buffer)
    assert again.get("Schule", context="plan.option.school") is not None


def test_babel_extract_from_dir_over_shipped_flows():
    # `pybabel extract -F babel.cfg` with `[backbone_flow: **.yaml]` runs this same code path
    found = list(
        extract_from_dir(
            str(SHIPPED_DIR), method_map=[("**.yaml", "flows.babel_extract:extract_flow")]
        )
    )
    files = {entry[0] for entry in found}
    assert files == {"partner-checkup.yaml", "reporter-interview.yaml", "school-survey.yaml"}
    assert ("reporter-interview.yaml", 6, "Reporter-Interview", ["flow title"], "title") in found
