"""Flow translations: gettext PO files beside the flow, msgctxt = key, msgid = source text.

Layout: `<flow dir>/locales/<lang>/LC_MESSAGES/<flow id>.po` (template: `locales/<id>.pot`).
A translation counts only while its msgid equals the current source text and it is not
fuzzy; anything else is stale and the source language is shown instead, never an error.
In right-to-left languages (Arabic) each `{placeholder}` of a translation is put between
Unicode direction isolates when it is loaded, so a Latin name or a number keeps its place.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from flows.model import Flow, normalize_locale
from flows.placeholders import PlaceholderError, placeholder_names
from flows.problems import Problem

LOCALES_DIR = "locales"
FSI = "\u2068"  # first strong isolate: the value's own first strong character decides
PDI = "\u2069"  # pop directional isolate


@cache
def is_rtl(locale: str) -> bool:
    """True for languages written right to left (Arabic, ...)."""
    try:
        return Locale.parse(locale.replace("-", "_")).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError):
        return False


def isolate_placeholders(text: str) -> str:
    """Every `{placeholder}` of a format string wrapped in FSI…PDI; the placeholders stay.

    Text that is not a valid format string is returned unchanged.
    """
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return text
    out: list[str] = []
    for literal, field, spec, conversion in parts:
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if field is None:
            continue
        inner = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        out.append(f"{FSI}{{{inner}}}{PDI}")
    return "".join(out)


def po_path(flow_dir: Path, locale: str, flow_id: str) -> Path:
    """Where the PO file of one flow and locale lives."""
    return Path(flow_dir) / LOCALES_DIR / locale / "LC_MESSAGES" / f"{flow_id}.po"


def pot_path(flow_dir: Path, flow_id: str) -> Path:
    """Where the translation template of one flow lives."""
    return Path(flow_dir) / LOCALES_DIR / f"{flow_id}.pot"


def find_po_files(flow_dir: Path, flow_id: str) -> dict[str, Path]:
    """locale -> PO file, for every translation of this flow found beside it."""
    root = Path(flow_dir) / LOCALES_DIR
    if not root.is_dir():
        return {}
    found = {}
    for candidate in sorted(root.iterdir()):
        path = candidate / "LC_MESSAGES" / f"{flow_id}.po"
        if candidate.is_dir() and path.is_file():
            found[candidate.name] = path
    return found


def read_catalogs(flow_dir: Path, flow_id: str) -> tuple[dict[str, Catalog], list[Problem]]:
    """Parse every PO file of a flow; unreadable files become problems, not exceptions."""
    catalogs: dict[str, Catalog] = {}
    problems: list[Problem] = []
    for locale, path in find_po_files(flow_dir, flow_id).items():
        try:
            with path.open("rb") as fh:
                catalogs[locale] = read_po(fh, locale=None, abort_invalid=True)
        except Exception as exc:  # babel raises PoFileError, UnicodeDecodeError, ...
            # PoFileError counts lines from 0
            line = getattr(exc, "lineno", -1) + 1
            problems.append(Problem(str(path), line, None, f"cannot read translation: {exc}"))
    return catalogs, problems


def _by_context(catalog: Catalog) -> dict[str, Message]:
    return {m.context: m for m in catalog if m.id and m.context}


def _status(source: str, message: Message | None) -> str:
    """'ok', 'missing', 'stale' (msgid changed), 'fuzzy' (marked for review) or 'invalid'
    (placeholders differ). Only 'ok' is shown; the others fall back to the source text."""
    if message is None or not isinstance(message.string, str) or not message.string.strip():
        return "missing"
    if message.id != source:
        return "stale"
    if message.fuzzy:
        return "fuzzy"
    try:
        same = sorted(placeholder_names(message.string)) == sorted(placeholder_names(source))
    except PlaceholderError:
        same = False
    return "ok" if same else "invalid"


def valid_translations(flow: Flow, catalogs: dict[str, Catalog]) -> dict[str, dict[str, str]]:
    """locale -> key -> text, keeping only current (non-stale, non-fuzzy, valid) entries."""
    sources = flow.source_texts()
    result: dict[str, dict[str, str]] = {}
    for locale, catalog in catalogs.items():
        messages = _by_context(catalog)
        texts = {
            key: messages[key].string.strip()
            for key, source in sources.items()
            if _status(source, messages.get(key)) == "ok"
        }
        if is_rtl(locale):
            texts = {key: isolate_placeholders(text) for key, text in texts.items()}
        # keys are normalized ('pt-br' dir -> 'pt_BR') so lookups by any spelling match
        if texts and normalize_locale(locale) != normalize_locale(flow.language):
            result[normalize_locale(locale)] = texts
    return result


def load_translations(flow: Flow, flow_dir: Path | None = None) -> dict[str, dict[str, str]]:
    """Load the PO files of a flow into locale -> key -> text (current entries only)."""
    directory = flow_dir or (Path(flow.source_path).parent if flow.source_path else None)
    if directory is None:
        return {}
    catalogs, _problems = read_catalogs(directory, flow.id)
    return valid_translations(flow, catalogs)


def translation_report(
    flow: Flow,
    locales: Iterable[str] | None = None,
    catalogs: dict[str, Catalog] | None = None,
) -> dict[str, dict[str, list[str]]]:
    """Per locale: keys whose translation is missing, fuzzy, stale or has wrong placeholders.

    Reads the PO files beside `flow.source_path` unless `catalogs` is given; a flow without
    a file (e.g. a pinned copy from the database) is judged by its stored translations.
    Locales default to every translated or offered language except the source language.
    """
    if catalogs is None and flow.source_path:
        catalogs, _problems = read_catalogs(Path(flow.source_path).parent, flow.id)
    if locales is None:
        known = set(catalogs or {}) | set(flow.translations) | set(flow.languages)
        locales = sorted(known - {flow.language})
    sources = flow.source_texts()
    report: dict[str, dict[str, list[str]]] = {}
    for locale in locales:
        entry: dict[str, list[str]] = {"missing": [], "fuzzy": [], "stale": [], "invalid": []}
        if catalogs is not None:
            messages = _by_context(catalogs.get(locale) or Catalog())
            for key, source in sources.items():
                status = _status(source, messages.get(key))
                if status != "ok":
                    entry[status].append(key)
        else:
            present = flow.translations.get(locale, {})
            entry["missing"] = [key for key in sources if key not in present]
        report[locale] = entry
    return report
