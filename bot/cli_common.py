"""What the shell commands share: one-line errors with exit codes, settings, the database,
and the checks of group names and pseudonyms."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import typer

from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from storage.repo import Database

T = TypeVar("T")

ACTOR = "cli"
PSEUDONYM = re.compile(r"^P-[A-Z0-9]{4,12}$")


class Refused(Exception):
    """Something unknown or not allowed, found while talking to the database (exit 1)."""


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"backbone: {message}", err=True)
    raise typer.Exit(code)


def _settings(require_token: bool = False) -> Settings:
    try:
        return load_settings(require_token=require_token)
    except SettingsError as exc:
        _fail(f"configuration error: {exc}")
        raise  # unreachable


def _confirm(question: str, yes: bool) -> None:
    """Ask before something that cannot be undone; `--yes` skips the question. No answer
    (no terminal, end of input) is a no: exit 1, nothing done."""
    if yes:
        return
    try:
        agreed = typer.confirm(question, default=False)
    except typer.Abort:
        agreed = False
    if not agreed:
        typer.echo("Nothing was changed.", err=True)
        raise typer.Exit(1)


@contextlib.contextmanager
def _database_errors(url: str, passed: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """A database that is missing, not migrated or cannot be reached: one line, exit 2.
    Errors of the `passed` types are the caller's (e.g. refusals) and go through as they are."""
    from storage.db import DatabaseProblem, unreachable

    try:
        yield
    except DatabaseProblem as exc:
        _fail(str(exc))
    except passed:
        raise
    except Exception as exc:
        problem = unreachable(exc, url)
        if problem is None:
            raise
        _fail(str(problem))


def _with_db(
    settings: Settings,
    go: Callable[[Database], Awaitable[T]],
    refused: tuple[type[Exception], ...] = (Refused,),
) -> T:
    """Run `go(db)` against the configured database, which must exist and be migrated (it is
    never created here); a `refused` error becomes exit 1 with its message."""
    from storage.migrate import check_ready
    from storage.repo import Database

    async def _go() -> T:
        await check_ready(settings.database_url)
        db = Database(settings.database_url)
        try:
            return await go(db)
        finally:
            await db.dispose()

    try:
        with _database_errors(settings.database_url, passed=refused):
            return asyncio.run(_go())
    except refused as exc:
        _fail(str(exc.args[0] if exc.args else exc), code=1)
        raise  # unreachable


def _bot_username(settings: Settings) -> str:
    """The bot's @username for links: BACKBONE_BOT_USERNAME, else asked from the Bot API
    (getMe) with the token; neither: one line, exit 2 (a link to another bot would be wrong)."""
    if settings.bot_username:
        return settings.bot_username
    if not settings.telegram_token:
        _fail(
            "set BACKBONE_BOT_USERNAME (the bot's @username) or BACKBONE_TELEGRAM_TOKEN, "
            "so the link opens your bot"
        )
    import httpx

    url = f"{settings.telegram_api_url}/bot{settings.telegram_token}/getMe"
    try:
        reply = httpx.get(url, timeout=15).json()
        username = reply["result"]["username"] if reply.get("ok") else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        username = None
    if not username:
        # Never the URL: it contains the token.
        _fail(
            f"could not ask the Bot API at {settings.telegram_api_url} for the bot's username; "
            "set BACKBONE_BOT_USERNAME"
        )
    return username


def _group_names(names: list[str]) -> list[str]:
    from bot.services.staff import GROUP_NAME

    out = []
    for name in names:
        clean = name.strip().lower()
        if not GROUP_NAME.match(clean):
            _fail(f"not a group name: {name!r} (lowercase letters, digits, - and _)")
        if clean not in out:
            out.append(clean)
    return out


def _pseudonyms(values: list[str]) -> list[str]:
    out = []
    for value in values:
        clean = value.strip().upper()
        if not PSEUDONYM.match(clean):
            _fail(f"not a pseudonym: {value!r} (e.g. P-7K3M9Q)")
        if clean not in out:
            out.append(clean)
    return out
