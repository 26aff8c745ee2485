"""What the shell commands share: one-line errors with exit codes, settings, the database,
and the checks of group names and code names."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
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


def _with_db(
    settings: Settings,
    go: Callable[[Database], Awaitable[T]],
    refused: tuple[type[Exception], ...] = (Refused,),
) -> T:
    """Run `go(db)` against the configured database; a `refused` error becomes exit 1 with
    its message."""
    from storage.repo import Database

    async def _go() -> T:
        db = Database(settings.database_url)
        try:
            return await go(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(_go())
    except refused as exc:
        _fail(str(exc.args[0] if exc.args else exc), code=1)
        raise  # unreachable


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
            _fail(f"not a code name: {value!r} (e.g. P-7K3M9Q)")
        if clean not in out:
            out.append(clean)
    return out
