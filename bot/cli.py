"""The `backbone` command line (typer)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli_campaigns import campaign_app, groups_app
from bot.cli_common import _confirm, _database_errors, _fail, _settings, _with_db
from bot.cli_export import export_app
from bot.cli_results import results_app
from bot.cli_retention import retention
from bot.cli_transcribe import transcribe_model
from bot.cli_translations import translations
from bot.settings import Settings, SettingsError

app = typer.Typer(
    help="backbone-bot: interviews, live polls and check-up campaigns on Telegram.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
flows_app = typer.Typer(
    help="Check flow files and manage their translations.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(flows_app, name="flows")
# Command groups are plural nouns (flows, campaigns, groups); `campaign` still works.
app.add_typer(campaign_app, name="campaigns")
app.add_typer(campaign_app, name="campaign", hidden=True)
app.add_typer(groups_app, name="groups")
app.add_typer(export_app, name="export")
app.add_typer(results_app, name="results")
app.command("translations")(translations)
app.command("retention")(retention)
app.command("transcribe-model")(transcribe_model)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"backbone-bot {version('backbone-bot')}")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            typer.echo("backbone-bot (not installed)")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """backbone-bot: interviews, live polls and check-up campaigns on Telegram."""


@app.command()
def run() -> None:
    """Start the bot (long polling); migrates the database first."""
    settings = _settings(require_token=True)
    from bot.app import StartupError
    from bot.app import run as run_bot
    from bot.logs import setup_logging

    setup_logging(settings.log_level, settings.log_format)
    try:
        with _database_errors(settings.database_url):
            run_bot(settings)
    except SettingsError as exc:
        _fail(f"configuration error: {exc}")
    except StartupError as exc:
        _fail(str(exc), code=1)
    except KeyboardInterrupt:
        pass


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Upgrade the database schema (the bot also does this on start)."""
    settings = _settings()
    from storage.migrate import upgrade

    with _database_errors(settings.database_url):
        upgrade(settings.database_url, revision)
    typer.echo(f"database at revision {revision}")


@flows_app.command("check")
def flows_check(
    paths: Annotated[list[Path] | None, typer.Argument(help="Flow files or directories.")] = None,
) -> None:
    """Validate flow files; prints every problem and exits 1 if there is any."""
    from flows.loader import check_paths

    targets = paths or [_settings().flows_dir]
    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        _fail(f"no such file or directory: {', '.join(missing)}", code=1)
    problems = check_paths(targets)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    typer.echo("all flows are valid")


@flows_app.command("extract")
def flows_extract(
    flow: Annotated[str, typer.Argument(help="A flow file, or the id of a flow in FLOWS_DIR.")],
) -> None:
    """Write the translation template locales/<flow id>.pot beside the flow."""
    from babel.messages.pofile import write_po

    from flows.babel_extract import flow_catalog
    from flows.translations import pot_path

    loaded = _find_flow(flow, _settings())
    source = Path(loaded.source_path)
    target = pot_path(source.parent, loaded.id)
    target.parent.mkdir(parents=True, exist_ok=True)
    catalog = flow_catalog(loaded, source.read_text(encoding="utf-8"))
    with target.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=False)
    typer.echo(f"wrote {target} ({len(catalog)} texts)")


@flows_app.command("translate")
def flows_translate(
    flow: Annotated[str, typer.Argument(help="A flow file, or the id of a flow in FLOWS_DIR.")],
    locale: Annotated[str, typer.Option(help="Language to create or update, e.g. en, tr.")],
) -> None:
    """Create or update locales/<locale>/LC_MESSAGES/<flow id>.po from the flow's texts."""
    from babel.messages.pofile import read_po, write_po

    from flows.babel_extract import flow_catalog
    from flows.translations import po_path

    loaded = _find_flow(flow, _settings())
    source = Path(loaded.source_path)
    template = flow_catalog(loaded, source.read_text(encoding="utf-8"))
    target = po_path(source.parent, locale, loaded.id)
    if target.exists():
        with target.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        # Changed source texts become fuzzy (stale) instead of silently wrong.
        catalog.update(template, update_header_comment=True)
    else:
        template.locale = locale
        catalog = template
        target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=False, ignore_obsolete=True)
    missing = sum(1 for m in catalog if m.id and not m.string)
    fuzzy = sum(1 for m in catalog if m.id and m.fuzzy)
    typer.echo(f"wrote {target}: {missing} to translate, {fuzzy} to review (fuzzy)")


@flows_app.command("translations")
def flows_translations(
    paths: Annotated[list[Path] | None, typer.Argument(help="Flow files or directories.")] = None,
    locale: Annotated[list[str] | None, typer.Option(help="Only these languages.")] = None,
) -> None:
    """List missing and stale translations per flow and locale; exit 1 if any."""
    from flows.loader import FlowError, flow_files, load_flow
    from flows.translations import translation_report

    gaps = 0
    for path in flow_files(paths or [_settings().flows_dir]):
        try:
            loaded = load_flow(path)
        except FlowError:
            typer.echo(f"{path}: not valid, run `backbone flows check`")
            gaps += 1
            continue
        report = translation_report(loaded, locale or None)
        for lang, entry in report.items():
            problems = {kind: keys for kind, keys in entry.items() if keys}
            if not problems:
                typer.echo(f"{loaded.id} [{lang}]: complete")
                continue
            for kind, keys in problems.items():
                gaps += len(keys)
                typer.echo(f"{loaded.id} [{lang}]: {len(keys)} {kind}: {', '.join(keys)}")
    raise typer.Exit(1 if gaps else 0)


def _find_flow(name: str, settings: Settings):
    from flows.loader import FlowError, load_flow

    path = Path(name)
    if not path.exists():
        candidates = [settings.flows_dir / f"{name}.yaml", settings.flows_dir / f"{name}.yml"]
        path = next((c for c in candidates if c.exists()), path)
    if not path.exists():
        _fail(f"no flow file or flow id {name!r} (looked in {settings.flows_dir})", code=1)
    try:
        return load_flow(path)
    except FlowError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def _preview_locale(flow, asked: str | None) -> str:
    """The flow's language for `--locale`; one the flow is not offered in ends here (exit 2)."""
    from flows.model import locale_candidates, normalize_locale

    if asked is None:
        return flow.language
    resolved = flow.resolve_locale(asked)
    if normalize_locale(resolved) not in locale_candidates(asked):
        offered = ", ".join(flow.locales())
        _fail(f"--locale {asked}: the flow {flow.id} is offered in {offered}")
    return resolved


@app.command("try")
def try_flow(
    flow: Annotated[str, typer.Argument(help="A flow file, or the id of a flow in FLOWS_DIR.")],
    locale: Annotated[str | None, typer.Option(help="Language to preview in.")] = None,
    first_name: Annotated[str, typer.Option(help="Name used for {first_name}.")] = "Alex",
) -> None:
    """Run a flow in the terminal: no Telegram, no database. Type a number to press a button."""
    from bot.i18n import translator
    from bot.preview import run_preview
    from bot.services.hints import hint

    settings = _settings()
    loaded = _find_flow(flow, settings)
    lang = _preview_locale(loaded, locale)
    t = translator(lang, settings.timezone)
    run_preview(
        loaded,
        lang,
        hint=lambda rejected, _locale: hint(rejected, t),
        stdin=sys.stdin,
        stdout=sys.stdout,
        first_name=first_name,
    )


@app.command()
def anonymise(
    flow: Annotated[
        str | None, typer.Option("--flow", help="Anonymise the participants of this flow.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Anonymise every participant.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the Telegram link of participants whose interviews are finished (not undoable)."""
    from bot.services.privacy import anonymise as anonymise_flow

    if (flow is None) == (not all_):
        _fail("give exactly one of --flow ID or --all")
    settings = _settings()
    if flow is not None:
        # An unknown flow is refused before the question, not after it.
        _with_db(settings, lambda db: _flow_known(db, flow), refused=(LookupError,))
    whom = "every participant" if all_ else f"the participants of the flow {flow}"
    _confirm(
        f"Delete the Telegram link of {whom} whose interviews are finished? Nobody can be "
        "re-identified or messaged afterwards; this cannot be undone.",
        yes,
    )
    result = _with_db(
        settings, lambda db: anonymise_flow(db, None if all_ else flow), refused=(LookupError,)
    )
    unlinked, skipped = result["unlinked"], result["skipped"]
    line = f"removed the Telegram link of {unlinked} participant{'' if unlinked == 1 else 's'}"
    if skipped:
        line += f" ({skipped} skipped: interview still open)"
    typer.echo(line)


async def _flow_known(db, flow_id: str) -> None:
    from storage.privacy import flow_known

    async with db.transaction() as repo:
        if not await flow_known(repo.session, flow_id):
            raise LookupError(f"no data for flow '{flow_id}'")


@app.command()
def audit(
    since: Annotated[
        str | None,
        typer.Option(help="Only entries from then on: ISO date or date-time (local time)."),
    ] = None,
) -> None:
    """Print the audit log: time, actor, action, details."""
    import json
    from datetime import datetime

    from bot.services.privacy import audit_entries

    settings = _settings()
    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            _fail(f"--since: not a date or date-time: {since!r} (e.g. 2026-11-01)")
        if start.tzinfo is None:
            # Staff think in local time: a bare date means midnight where they are.
            start = start.replace(tzinfo=settings.zone)

    for entry in _with_db(settings, lambda db: audit_entries(db, start), refused=()):
        at = entry["at"].astimezone(settings.zone).isoformat(sep=" ", timespec="seconds")
        details = json.dumps(entry["details"], ensure_ascii=False, separators=(",", ":"))
        typer.echo(f"{at}  {entry['actor']}  {entry['action']}  {details}")


def main() -> None:  # pragma: no cover - console entry point
    """Console entry point."""
    app()
