"""`backbone translations`: what is missing, fuzzy or stale in the bot's own catalogs.

The msgids are read from the code itself (as `pybabel extract -k N_` does), so the report is
right even before anyone regenerated locales/messages.pot; `--template` compares against a
.pot file instead. `backbone flows translations` does the same for flow files.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Annotated

import typer
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

import bot
from bot.cli_common import _fail
from bot.i18n import DOMAIN, LOCALES_DIR, SOURCE_LOCALE

KINDS = ("missing", "fuzzy", "stale", "placeholders")
SHOWN = 5  # msgids listed per kind; the count is always complete


def code_catalog() -> Catalog:
    """Every text of the bot's code marked for translation (gettext, ngettext, N_)."""
    package = Path(bot.__file__).parent  # walk only the package, not what lies beside it
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    catalog = Catalog(domain=DOMAIN)
    found = extract_from_dir(
        package, method_map=[("**.py", "python")], keywords=keywords, comment_tags=()
    )
    for filename, lineno, message, comments, context in found:
        where = [(f"bot/{filename}", lineno)]
        catalog.add(message, None, where, auto_comments=comments, context=context)
    return catalog


def _names(text: str) -> set[str]:
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError:
        return {"<malformed>"}


def _placeholders_differ(source: str | tuple, translation: str | tuple) -> bool:
    """True if a translation names a placeholder its source does not, or (singular texts)
    drops one; plural forms may leave out the number where a form means exactly one."""
    if isinstance(source, str):
        return _names(source) != _names(str(translation))
    allowed = set().union(*(_names(s) for s in source))
    return any(not _names(form) <= allowed for form in translation if form)


def catalog_report(template: Catalog, catalog: Catalog) -> dict[str, list[str]]:
    """kind -> msgids: missing (no translation), fuzzy (marked for review), stale (in the
    catalog but no longer in the code), placeholders (names differ from the source)."""
    report: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for message in template:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        found = catalog.get(message.id, message.context)
        strings = () if found is None else found.string
        forms = strings if isinstance(strings, tuple | list) else (strings,)
        if found is None or not all(isinstance(f, str) and f.strip() for f in forms):
            report["missing"].append(key)
        elif found.fuzzy:
            report["fuzzy"].append(key)
        elif _placeholders_differ(message.id, found.string):
            report["placeholders"].append(key)
    for message in catalog:
        if message.id and template.get(message.id, message.context) is None:
            report["stale"].append(message.id if isinstance(message.id, str) else message.id[0])
    report["stale"].extend(
        m.id if isinstance(m.id, str) else m.id[0] for m in catalog.obsolete.values()
    )
    return report


def catalog_files(locales: list[str] | None = None) -> dict[str, Path]:
    """locale -> PO file of the bot's texts (every catalog, or only `locales`)."""
    found = {
        p.parent.parent.name: p for p in sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    }
    if locales:
        return {
            loc: found.get(loc, LOCALES_DIR / loc / "LC_MESSAGES" / f"{DOMAIN}.po")
            for loc in locales
        }
    return found


def _line(locale: str, report: dict[str, list[str]], total: int) -> list[str]:
    gaps = {kind: keys for kind, keys in report.items() if keys}
    if not gaps:
        return [f"{locale}: complete ({total} texts)"]
    lines = []
    for kind, keys in gaps.items():
        shown = "; ".join(repr(k) for k in keys[:SHOWN])
        more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
        lines.append(f"{locale}: {len(keys)} {kind}: {shown}{more}")
    return lines


def translations(
    locale: Annotated[list[str] | None, typer.Option(help="Only these languages.")] = None,
    template: Annotated[
        Path | None, typer.Option(help="Compare with this .pot instead of the code.")
    ] = None,
) -> None:
    """List missing, fuzzy and stale texts of the bot's catalogs per language; exit 1 if any."""
    if template is not None:
        if not template.is_file():
            _fail(f"no such template: {template}", code=2)
        with template.open("rb") as fh:
            source = read_po(fh)
    else:
        source = code_catalog()
    total = sum(1 for m in source if m.id)
    gaps = 0
    for lang, path in catalog_files(locale).items():
        if lang == SOURCE_LOCALE and not locale:
            continue  # the msgids are English: its catalog only fixes wording
        if not path.is_file():
            typer.echo(f"{lang}: no catalog ({path.relative_to(LOCALES_DIR.parent)})")
            gaps += total
            continue
        with path.open("rb") as fh:
            report = catalog_report(source, read_po(fh, locale=lang))
        gaps += sum(len(keys) for keys in report.values())
        for line in _line(lang, report, total):
            typer.echo(line)
    raise typer.Exit(1 if gaps else 0)
