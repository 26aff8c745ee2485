"""The campaigns router: /campaign (the wizard), /campaigns, /group, and the start button
of invitations and reminders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services import callbacks
from bot.services.campaign_chat import CampaignChat
from bot.services.context import Ctx
from bot.services.events import Tap
from storage import people
from storage.statuses import Stage

if TYPE_CHECKING:
    from bot.services.dispatch import Dispatcher
    from bot.services.routers.interviews import Interviews


class Campaigns:
    """Check-up campaigns from the chat."""

    def __init__(self, dispatcher: Dispatcher, chat: CampaignChat, interviews: Interviews):
        self.dispatcher = dispatcher
        self.config = dispatcher.config
        self.chat = chat
        self.interviews = interviews

    def register(self) -> None:
        """Campaign commands, the wizard's buttons and the invitation's start button."""
        d = self.dispatcher
        d.command(("campaign",), self._campaign)
        d.command(("campaigns",), self._campaigns)
        d.command(("group",), self.chat.group_command)
        d.payload(callbacks.WizardStep, self._wizard)
        d.payload(callbacks.CampaignStart, self._start)

    async def _campaign(self, ctx: Ctx, args: str) -> None:
        await self.chat.campaign_command(ctx)

    async def _campaigns(self, ctx: Ctx, args: str) -> None:
        await self.chat.list_command(ctx)

    async def _wizard(self, ctx: Ctx, step: callbacks.WizardStep, tap: Tap) -> None:
        await self.chat.tap(ctx, step.args, tap.message_id)

    async def _start(self, ctx: Ctx, button: callbacks.CampaignStart, tap: Tap) -> None:
        """The start button of an invitation or reminder."""
        t = ctx.t
        campaign = await people.invited_campaign(ctx.repo, button.campaign_id, ctx.participant.id)
        if campaign is None:
            ctx.ack(t.gettext("This button does not work."), alert=True)
            return
        if campaign.status not in ("running", "paused") or self.config.clock() > campaign.deadline:
            ctx.ack(t.gettext("This invitation has expired. Thank you anyway!"), alert=True)
            return
        ctx.ack()
        if ctx.participant.stage != Stage.READY:
            ctx.participant.pending_flow = campaign.flow_id
            await self.dispatcher.onboard(ctx)
            return
        await self.interviews.start_flow(ctx, campaign.flow_id, campaign_id=campaign.id)
