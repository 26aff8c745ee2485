"""Group queries: names, members, counts (the SQL behind bot/services/groups.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Group, GroupMember, Participant
from storage.repo import Repo


async def groups(repo: Repo) -> list[Group]:
    """Every group, by name."""
    return list(await repo.session.scalars(select(Group).order_by(Group.name)))


async def member_counts(repo: Repo) -> list[tuple[str, int]]:
    """Every group's name and number of members, by name."""
    stmt = (
        select(Group.name, func.count(GroupMember.participant_id))
        .outerjoin(GroupMember, GroupMember.group_id == Group.id)
        .group_by(Group.id, Group.name)
        .order_by(Group.name)
    )
    return [(name, n) for name, n in (await repo.session.execute(stmt)).all()]


async def missing(repo: Repo, names: list[str]) -> list[str]:
    """The names (in the given order) no group has."""
    found = set(await repo.session.scalars(select(Group.name).where(Group.name.in_(names))))
    return [name for name in names if name not in found]


async def member_pseudonyms(repo: Repo, group_id: int) -> list[str]:
    """A group's members by pseudonym, sorted."""
    stmt = (
        select(Participant.pseudonym)
        .join(GroupMember, GroupMember.participant_id == Participant.id)
        .where(GroupMember.group_id == group_id)
        .order_by(Participant.pseudonym)
    )
    return list(await repo.session.scalars(stmt))


async def remove_member(repo: Repo, group_id: int, participant_id: int) -> bool:
    """Take a person out of a group; False if they were not in it."""
    member = await repo.session.get(GroupMember, (group_id, participant_id))
    if member is None:
        return False
    await repo.session.delete(member)
    return True
