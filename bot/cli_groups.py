"""`backbone groups …`: named groups of participants from the shell.

The same use cases as /group and /invite in Telegram (bot.services.groups); every change is
audited with the actor "cli" and pseudonyms only. Exit codes as in bot.cli_campaigns.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli_common import (
    ACTOR,
    Refused,
    _bot_username,
    _fail,
    _group_names,
    _pseudonyms,
    _settings,
    _with_db,
)

if TYPE_CHECKING:
    from storage.repo import Database, Repo

groups_app = typer.Typer(
    help="Named groups of participants (the audiences of campaigns).", no_args_is_help=True
)

BOT_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


async def _group(repo: Repo, name: str):
    group = await repo.group(name)
    if group is None:
        raise Refused(f"no group {name} (see `backbone groups list`)")
    return group


async def _people(repo: Repo, pseudonyms: list[str]) -> list:
    from bot.services.groups import people

    found, unknown = await people(repo, pseudonyms)
    if unknown:
        raise Refused(f"nobody has the pseudonym {', '.join(unknown)}; nothing was changed")
    return found


@groups_app.command("list")
def groups_list() -> None:
    """Every group with its number of members."""
    from bot.services.groups import overview

    settings = _settings()

    async def go(db: Database) -> list[tuple[str, int]]:
        async with db.transaction() as repo:
            return await overview(repo)

    rows = _with_db(settings, go)
    if not rows:
        typer.echo("no groups yet (`backbone groups create NAME`)")
    for name, n in rows:
        typer.echo(f"{name}  {n} member{'' if n == 1 else 's'}")


@groups_app.command("show")
def groups_show(name: Annotated[str, typer.Argument(help="Group name.")]) -> None:
    """A group's members by pseudonym."""
    from bot.services.groups import members as members_of

    settings = _settings()
    (clean,) = _group_names([name])

    async def go(db: Database) -> list[str]:
        async with db.transaction() as repo:
            return await members_of(repo, await _group(repo, clean))

    members = _with_db(settings, go)
    typer.echo(f"{clean}: {len(members)} member{'' if len(members) == 1 else 's'}")
    for pseudonym in members:
        typer.echo(pseudonym)


@groups_app.command("create")
def groups_create(name: Annotated[str, typer.Argument(help="e.g. partners, school-a-9b")]) -> None:
    """Create an empty group."""
    from bot.services.groups import GroupExists, create

    settings = _settings()
    (clean,) = _group_names([name])

    async def go(db: Database) -> None:
        async with db.transaction() as repo:
            try:
                await create(repo, clean, ACTOR)
            except GroupExists:
                raise Refused(f"group {clean} already exists") from None

    _with_db(settings, go)
    typer.echo(f"created group {clean}")


def _membership(name: str, pseudonyms: list[str], add: bool) -> None:
    from bot.services.groups import change_members

    settings = _settings()
    (clean,) = _group_names([name])
    codes = _pseudonyms(pseudonyms)
    if not codes:
        _fail("give at least one pseudonym (P-XXXXXX)")

    async def go(db: Database) -> tuple[list[str], list[str]]:
        async with db.transaction() as repo:
            group = await _group(repo, clean)
            done = await change_members(repo, group, await _people(repo, codes), add, ACTOR)
        return done.changed, done.unchanged

    changed, unchanged = _with_db(settings, go)
    verb, into = ("added", "to") if add else ("removed", "from")
    typer.echo(
        f"{verb} {len(changed)} {into} {clean}" + (f": {', '.join(changed)}" if changed else "")
    )
    if unchanged:
        state = "already in" if add else "not in"
        typer.echo(f"{state} {clean}: {', '.join(unchanged)}")


@groups_app.command("add")
def groups_add(
    name: Annotated[str, typer.Argument(help="Group name.")],
    pseudonyms: Annotated[list[str], typer.Argument(metavar="P-XXXXXX...", help="Pseudonyms.")],
) -> None:
    """Put people in a group by pseudonym (all or nothing)."""
    _membership(name, pseudonyms, add=True)


@groups_app.command("remove")
def groups_remove(
    name: Annotated[str, typer.Argument(help="Group name.")],
    pseudonyms: Annotated[list[str], typer.Argument(metavar="P-XXXXXX...", help="Pseudonyms.")],
) -> None:
    """Take people out of a group by pseudonym."""
    _membership(name, pseudonyms, add=False)


_ParentalOpt = Annotated[
    bool,
    # The same flag as /invite in Telegram (bot.services.staff.PARENTAL_FLAG).
    typer.Option(
        "--parental-consent-on-file",
        help="The parents' consent for this group's under-16s is on file (needs --by).",
    ),
]
_ByOpt = Annotated[
    str | None, typer.Option("--by", help="Pseudonym of the admin who confirms it (recorded).")
]
_UsernameOpt = Annotated[
    str | None,
    typer.Option(
        "--bot-username",
        help="The bot's @username (default: BACKBONE_BOT_USERNAME, else asked from Telegram).",
    ),
]


@groups_app.command("invite")
def groups_invite(
    name: Annotated[str, typer.Argument(help="Group name.")],
    parental: _ParentalOpt = False,
    by: _ByOpt = None,
    bot_username: _UsernameOpt = None,
) -> None:
    """Print a join link for a group (valid 90 days), as /invite does in Telegram."""
    from bot.services.staff import GROUP_LINK_VALID

    settings = _settings()
    (clean,) = _group_names([name])
    username = bot_username.strip().removeprefix("@") if bot_username is not None else None
    if username is not None and not BOT_USERNAME.match(username):
        _fail(f"--bot-username: not a Telegram bot username: {bot_username!r}")
    if parental and not by:
        _fail("--parental-consent-on-file needs --by P-XXXXXX (the admin who confirms it)")
    admin = _pseudonyms([by])[0] if by else None
    admin_ids = frozenset(settings.admin_ids)
    # Unknown group or admin first (exit 1), then the bot's name (may ask Telegram).
    _with_db(settings, lambda db: _invite(db, clean, admin, admin_ids, None, parental))
    username = username or _bot_username(settings)
    link = _with_db(settings, lambda db: _invite(db, clean, admin, admin_ids, username, parental))
    typer.echo(f"Invite link for the group {clean} (valid {GROUP_LINK_VALID.days} days):")
    typer.echo(link)
    if parental:
        typer.echo(
            f"{admin} confirmed that the parents' consent for the under-16s of this group is "
            "on file; this is recorded."
        )


async def _invite(
    db: Database,
    name: str,
    admin: str | None,
    admin_ids: frozenset[int],
    username: str | None,
    parental: bool,
) -> str | None:
    """Check the group and the confirming admin; with `username`, also make the link."""
    from bot.services.groups import NotAnAdmin, confirming_admin, invite_link

    async with db.transaction() as repo:
        group = await _group(repo, name)
        if admin is not None:
            try:
                await confirming_admin(repo, admin, admin_ids)
            except LookupError:
                raise Refused(f"nobody has the pseudonym {admin}; nothing was changed") from None
            except NotAnAdmin:
                raise Refused(f"{admin} is not an admin") from None
        if username is None:
            return None
        return await invite_link(
            repo,
            group,
            created_by=admin or ACTOR,
            actor=ACTOR,
            bot_username=username,
            now=datetime.now(UTC),
            parental=parental,
            confirmed_by=admin,
        )
