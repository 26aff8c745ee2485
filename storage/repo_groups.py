"""The unit of work's queries on groups, invites, roles and staff chats (mixed into Repo)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Consent,
    Group,
    GroupMember,
    Identity,
    Invite,
    Participant,
    StaffChat,
    utcnow,
)


class GroupQueries:
    """Groups, invite links, roles and staff chats."""

    session: AsyncSession
    insert_on_conflict: Callable[[type], Any]  # Repo's

    # --- groups and invites ------------------------------------------------------------
    async def group(self, name: str) -> Group | None:
        """A group by name."""
        return (await self.session.scalars(select(Group).where(Group.name == name))).one_or_none()

    async def group_by_id(self, group_id: int) -> Group | None:
        """A group by id."""
        return await self.session.get(Group, group_id)

    async def ensure_group(self, name: str, created_by: str) -> Group:
        """The group with this name, created if needed."""
        found = await self.group(name)
        if found is None:
            found = Group(name=name, created_by=created_by)
            self.session.add(found)
            await self.session.flush()
        return found

    async def add_member(
        self, group_id: int, participant_id: int, invite_token: str | None = None
    ) -> bool:
        """Put a participant in a group; False if they were in it already."""
        stmt = (
            self.insert_on_conflict(GroupMember)
            .values(
                group_id=group_id,
                participant_id=participant_id,
                invite_token=invite_token,
                joined_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["group_id", "participant_id"])
        )
        return (await self.session.execute(stmt)).rowcount == 1

    async def parental_consent_on_file(
        self, participant_id: int, admin_ids: frozenset[int]
    ) -> tuple[Group, Invite] | None:
        """A group the person joined through a link whose creator confirmed parental consent
        and is still an admin (by role, or by BACKBONE_ADMIN_IDS)."""
        creator = aliased(Participant)
        creator_identity = aliased(Identity)
        stmt = (
            select(Group, Invite)
            .join(GroupMember, GroupMember.group_id == Group.id)
            .join(Invite, Invite.token == GroupMember.invite_token)
            .join(creator, creator.pseudonym == Invite.created_by)
            .outerjoin(creator_identity, creator_identity.participant_id == creator.id)
            .where(
                GroupMember.participant_id == participant_id,
                Invite.parental_consent.is_(True),
                or_(
                    creator.role == "admin",
                    creator_identity.telegram_user_id.in_(sorted(admin_ids)),
                ),
            )
            .order_by(GroupMember.joined_at, Group.id)
            .limit(1)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def add_invite(
        self,
        kind: str,
        created_by: str,
        *,
        group_id: int | None = None,
        role: str | None = None,
        parental_consent: bool = False,
        expires_at: datetime | None = None,
        single_use: bool = False,
    ) -> Invite:
        """A new invite with an unguessable token (fits a Telegram deep link)."""
        invite = Invite(
            token=secrets.token_urlsafe(12),
            kind=kind,
            created_by=created_by,
            group_id=group_id,
            role=role,
            parental_consent=parental_consent,
            expires_at=expires_at,
            single_use=single_use,
        )
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def invite(self, token: str) -> Invite | None:
        """An invite by token."""
        return await self.session.get(Invite, token)

    async def set_member_invite(self, group_id: int, participant_id: int, token: str) -> None:
        """Record that a member's place in a group now rests on this invite link."""
        await self.session.execute(
            update(GroupMember)
            .where(GroupMember.group_id == group_id, GroupMember.participant_id == participant_id)
            .values(invite_token=token)
        )

    # --- authority ---------------------------------------------------------------------
    async def current_role(self, pseudonym: str, admin_ids: frozenset[int]) -> str | None:
        """A person's role right now (admin if BACKBONE_ADMIN_IDS names them); None if unknown."""
        stmt = (
            select(Participant.role, Identity.telegram_user_id)
            .outerjoin(Identity, Identity.participant_id == Participant.id)
            .where(Participant.pseudonym == pseudonym)
        )
        row = (await self.session.execute(stmt)).first()
        if row is None:
            return None
        return "admin" if row.telegram_user_id in admin_ids else row.role

    async def void_role_links(self, created_by: str, now: datetime) -> int:
        """End the unused, unexpired role links someone made; how many there were."""
        stmt = (
            update(Invite)
            .where(
                Invite.kind == "role",
                Invite.created_by == created_by,
                Invite.used_at.is_(None),
                or_(Invite.expires_at.is_(None), Invite.expires_at > now),
            )
            .values(expires_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return (await self.session.execute(stmt)).rowcount

    async def withdraw_self_consents(self, participant_id: int, now: datetime) -> int:
        """Withdraw the consents a person gave themselves (not a parent's); how many."""
        stmt = (
            update(Consent)
            .where(
                Consent.participant_id == participant_id,
                Consent.given_by == "self",
                Consent.withdrawn_at.is_(None),
            )
            .values(withdrawn_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return (await self.session.execute(stmt)).rowcount

    # --- staff chats -------------------------------------------------------------------
    async def add_staff_chat(self, chat_id: int, added_by: str) -> None:
        """Remember a group a staff member added the bot to."""
        stmt = (
            self.insert_on_conflict(StaffChat)
            .values(chat_id=chat_id, added_by=added_by, added_at=utcnow())
            .on_conflict_do_nothing(index_elements=["chat_id"])
        )
        await self.session.execute(stmt)

    async def is_staff_chat(self, chat_id: int) -> bool:
        """Whether staff added the bot to this group."""
        return await self.session.get(StaffChat, chat_id) is not None
