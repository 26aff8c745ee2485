"""Group use cases shared by /group in the chat and `backbone groups …` in the shell:
list, members, add and remove by pseudonym, create, invite links. Every change is audited
with pseudonyms only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.services.staff import GROUP_LINK_VALID, JOIN_PREFIX, deep_link
from storage import groups as queries
from storage.models import Group, Participant
from storage.repo import Repo


class GroupExists(ValueError):
    """A group with this name is there already."""


class NotAnAdmin(ValueError):
    """The person who is to confirm parental consent is not an admin."""


async def overview(repo: Repo) -> list[tuple[str, int]]:
    """Every group's name and number of members, by name."""
    return await queries.member_counts(repo)


async def names(repo: Repo) -> list[Group]:
    """Every group, by name."""
    return await queries.groups(repo)


async def missing(repo: Repo, names: list[str]) -> list[str]:
    """The names no group has (in the order given)."""
    return await queries.missing(repo, names)


async def members(repo: Repo, group: Group) -> list[str]:
    """A group's members by pseudonym, sorted."""
    return await queries.member_pseudonyms(repo, group.id)


async def create(repo: Repo, name: str, actor: str) -> Group:
    """A new empty group; GroupExists if the name is taken."""
    if await repo.group(name) is not None:
        raise GroupExists(name)
    group = await repo.ensure_group(name, actor)
    await repo.audit(actor, "group_created", {"group": name})
    return group


async def people(repo: Repo, pseudonyms: list[str]) -> tuple[list[Participant], list[str]]:
    """The people with these pseudonyms, and the pseudonyms nobody has."""
    found, unknown = [], []
    for pseudonym in pseudonyms:
        person = await repo.participant_by_pseudonym(pseudonym)
        if person is None:
            unknown.append(pseudonym)
        else:
            found.append(person)
    return found, unknown


async def confirming_admin(repo: Repo, pseudonym: str, admin_ids: frozenset[int]) -> Participant:
    """The admin with this pseudonym (an admin by role or by BACKBONE_ADMIN_IDS), who confirms
    that parental consent is on file; LookupError if nobody has it, NotAnAdmin otherwise."""
    person = await repo.participant_by_pseudonym(pseudonym)
    if person is None:
        raise LookupError(pseudonym)
    identity = await repo.identity_of(person.id)
    by_settings = identity is not None and identity.telegram_user_id in admin_ids
    if person.role != "admin" and not by_settings:
        raise NotAnAdmin(person.pseudonym)
    return person


@dataclass(frozen=True)
class Change:
    """Who was added or removed, and who already was (or was not) in the group."""

    changed: list[str]
    unchanged: list[str]


async def change_members(
    repo: Repo, group: Group, people: list[Participant], add: bool, actor: str
) -> Change:
    """Put people in a group or take them out; each actual change is audited."""
    changed, unchanged = [], []
    for person in people:
        if add:
            done = await repo.add_member(group.id, person.id)
        else:
            done = await queries.remove_member(repo, group.id, person.id)
        if not done:
            unchanged.append(person.pseudonym)
            continue
        changed.append(person.pseudonym)
        await repo.audit(
            actor,
            f"group_member_{'add' if add else 'remove'}",
            {"group": group.name, "member": person.pseudonym},
        )
    return Change(changed, unchanged)


async def invite_link(
    repo: Repo,
    group: Group,
    *,
    created_by: str,
    actor: str,
    bot_username: str,
    now: datetime,
    parental: bool = False,
    confirmed_by: str | None = None,
) -> str:
    """A join link for a group, valid GROUP_LINK_VALID; a parental-consent link names the
    admin who confirmed it in the audit log."""
    link = await repo.add_invite(
        "group",
        created_by,
        group_id=group.id,
        parental_consent=parental,
        expires_at=now + GROUP_LINK_VALID,
    )
    details: dict[str, Any] = {"group": group.name, "parental_consent_on_file": parental}
    if confirmed_by is not None:
        details["confirmed_by"] = confirmed_by
    await repo.audit(actor, "group_link_created", details)
    return deep_link(bot_username, JOIN_PREFIX + link.token)
