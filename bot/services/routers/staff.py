"""The staff router: /grant, /revoke, /invite, /agecheck, /whoami, and role or group links."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services import callbacks, staff
from bot.services.context import Ctx

if TYPE_CHECKING:
    from bot.services.dispatch import Dispatcher


class Staff:
    """Roles and invitations; every step re-checks the role from the database."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.config = dispatcher.config

    def register(self) -> None:
        """Staff commands and the links they hand out."""
        d = self.dispatcher
        d.command(("grant",), self._grant)
        d.command(("revoke",), self._revoke)
        d.command(("invite",), self._invite)
        d.command(("agecheck",), self._agecheck)
        d.command(("whoami",), self._whoami)
        d.link(callbacks.GrantLink, self._redeem)
        d.link(callbacks.JoinLink, self._redeem)

    async def _grant(self, ctx: Ctx, args: str) -> None:
        await staff.grant(ctx, args, self.dispatcher.bot_username, self.config.clock())

    async def _revoke(self, ctx: Ctx, args: str) -> None:
        await staff.revoke(ctx, args, self.config.admin_ids, self.config.clock())

    async def _invite(self, ctx: Ctx, args: str) -> None:
        await staff.invite(ctx, args, self.dispatcher.bot_username, self.config.clock())

    async def _agecheck(self, ctx: Ctx, args: str) -> None:
        await staff.agecheck(ctx, args, self.config.clock())

    async def _whoami(self, ctx: Ctx, args: str) -> None:
        if not (ctx.is_staff or not self.config.admin_ids):
            await staff.whoami(ctx)
            return
        # Staff see their Telegram user id (for BACKBONE_ADMIN_IDS), and so does whoever
        # sets up a bot that has no admin yet. Only in this reply: never stored or exported.
        t = ctx.t
        ctx.say(
            t.gettext("Your pseudonym is {pseudonym}; your role: {role}.").format(
                pseudonym=ctx.participant.pseudonym, role=ctx.role
            )
            + "\n"
            + t.gettext(
                "Your Telegram user id is {user_id} (for BACKBONE_ADMIN_IDS). Only you see "
                "it here; it is never stored in exports."
            ).format(user_id=ctx.identity.telegram_user_id)
        )

    async def _redeem(self, ctx: Ctx, link: callbacks.GrantLink | callbacks.JoinLink) -> None:
        await staff.redeem(ctx, link, self.config.clock(), self.config.admin_ids)
