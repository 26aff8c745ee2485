"""Campaigns and groups from Telegram: a guided /campaign with buttons, /campaigns, /group.

Every step re-checks on the server that the person is an admin and owns the draft; button
data only says which step was tapped.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.services import callbacks, groups, staff
from bot.services.campaign_plan import check_reach
from bot.services.campaigns import (
    Plan,
    PlanError,
    audience,
    confirm,
    create,
    plan_of,
    progress_text,
    validate_plan,
)
from bot.services.context import Ctx
from bot.services.replies import EditText, Keyboard
from storage import campaigns as queries
from storage import outbox
from storage.models import Campaign
from storage.statuses import CampaignStatus

DEADLINES = (7, 14, 28)
REMINDERS = {"3,7": [3, 7], "3": [3], "-": []}


def _w(campaign_id: int | str, step: str, choice: object = None) -> str:
    return callbacks.button(callbacks.WizardStep(campaign_id, step, choice))


class CampaignChat:
    """The admin's side of campaigns in the chat."""

    def __init__(self, catalog, timezone: str, clock) -> None:
        self.catalog = catalog
        self.zone = ZoneInfo(timezone)
        self.clock = clock

    async def campaign_command(self, ctx: Ctx) -> None:
        """/campaign: step 1, which flow."""
        if staff.refuse(ctx, admin_only=True):
            return
        flows = self.catalog.all()
        keys = [[(f.text("title", ctx.t.locale), _w("new", f.id))] for f in flows]
        ctx.say(ctx.t.gettext("New campaign. Which flow should people answer?"), keys)

    async def list_command(self, ctx: Ctx) -> None:
        """/campaigns: every campaign with its figures."""
        if staff.refuse(ctx):
            return
        rows = await queries.campaigns(ctx.repo, newest_first=True, limit=10)
        if not rows:
            ctx.say(ctx.t.gettext("There are no campaigns yet. /campaign starts one."))
            return
        for campaign in reversed(rows):
            figures = await outbox.progress(ctx.repo, campaign)
            ctx.say(progress_text(campaign, figures, self._title(campaign, ctx), ctx.t))

    def _title(self, campaign: Campaign, ctx: Ctx) -> str:
        flow = self.catalog.get(campaign.flow_id)
        return flow.text("title", ctx.t.locale) if flow else campaign.flow_id

    async def tap(self, ctx: Ctx, args: tuple, message_id: int | None) -> None:
        """A wizard button, parsed (`callbacks.Choice.args` of `w:<campaign id|new>:<step>…`)."""
        t = ctx.t
        if staff.refuse(ctx, admin_only=True):
            ctx.ack(t.gettext("Sorry, this button is only for admins."), alert=True)
            return
        ident, step, *rest = args
        choice = rest[0] if rest else ""
        if ident == "new":
            if self.catalog.get(step) is None:
                ctx.ack(t.gettext("This button does not work."), alert=True)
                return
            now = self.clock()
            plan = Plan(step, [], now, now + timedelta(days=14))
            campaign = await create(ctx.repo, plan, ctx.participant.pseudonym, ctx.chat_id)
            ctx.ack()
            await self._groups_step(ctx, campaign, message_id)
            return
        campaign = await queries.campaign(ctx.repo, ident)
        if (
            campaign is None
            or campaign.status != CampaignStatus.DRAFT
            or campaign.created_by != ctx.participant.pseudonym
        ):
            ctx.ack(t.gettext("This draft is no longer open."), alert=True)
            return
        ctx.ack()
        await self._step(ctx, campaign, step, choice, message_id)

    async def _step(
        self, ctx: Ctx, campaign: Campaign, step: str, choice, message_id: int | None
    ) -> None:
        """One wizard step on an open draft the person owns."""
        t = ctx.t
        if step == "g":
            group = await ctx.repo.group_by_id(choice)
            if group is not None:
                chosen = set(campaign.groups)
                chosen ^= {group.name}
                campaign.groups = sorted(chosen)
            await self._groups_step(ctx, campaign, message_id)
        elif step == "gd" and campaign.groups:
            self._show(
                ctx,
                message_id,
                t.gettext("When should the invitations go out?"),
                [
                    [(t.gettext("Now"), _w(campaign.id, "s", "now"))],
                    [(t.gettext("Tomorrow 9:00"), _w(campaign.id, "s", "tomorrow"))],
                ],
            )
        elif step == "s":
            self._start_step(ctx, campaign, choice, message_id)
        elif step == "d" and choice in DEADLINES:
            campaign.deadline = campaign.start_at + timedelta(days=choice)
            self._show(
                ctx,
                message_id,
                t.gettext("Remind those who have not finished?"),
                [
                    [(t.gettext("After 3 and 7 days"), _w(campaign.id, "r", "3,7"))],
                    [(t.gettext("After 3 days"), _w(campaign.id, "r", "3"))],
                    [(t.gettext("No reminders"), _w(campaign.id, "r", "-"))],
                ],
            )
        elif step == "r" and choice in REMINDERS:
            campaign.remind_after = [d * 86400 for d in REMINDERS[choice]]
            await self._confirm_step(ctx, campaign, message_id)
        elif step == "ok":
            await self._start_campaign(ctx, campaign, message_id)
        elif step == "no":
            queries.campaign_transition(campaign, CampaignStatus.CANCELLED)
            self._show(ctx, message_id, t.gettext("Discarded. Nothing was sent."), None)

    def _start_step(self, ctx: Ctx, campaign: Campaign, choice, message_id: int | None) -> None:
        t = ctx.t
        start = self.clock()
        if choice == "tomorrow":
            local = start.astimezone(self.zone) + timedelta(days=1)
            start = local.replace(hour=9, minute=0, second=0, microsecond=0)
        campaign.start_at = start
        keys = [
            [(t.ngettext("{n} day", "{n} days", d).format(n=d), _w(campaign.id, "d", str(d)))]
            for d in DEADLINES
        ]
        self._show(ctx, message_id, t.gettext("Deadline: how long can people answer?"), keys)

    async def _start_campaign(self, ctx: Ctx, campaign: Campaign, message_id: int | None) -> None:
        """✅ Start campaign: plan and audience are checked once more, then the campaign is
        scheduled."""
        try:
            validate_plan(plan_of(campaign))
        except PlanError:
            await self._confirm_step(ctx, campaign, message_id, problem=True)
            return
        try:
            check_reach(await audience(ctx.repo, campaign.groups))
        except PlanError:
            # Only a forged or stale tap gets here: the preview offered no start.
            ctx.ack(self._nobody_text(ctx.t), alert=True)
            return
        try:
            await confirm(ctx.repo, campaign, ctx.participant.pseudonym)
        except PlanError:
            await self._confirm_step(ctx, campaign, message_id, problem=True)
            return
        self._show(
            ctx,
            message_id,
            ctx.t.gettext("Campaign {id} is on. You will see its progress here.").format(
                id=campaign.id
            ),
            None,
        )

    @staticmethod
    def _nobody_text(t) -> str:
        return t.gettext(
            "⚠ Nobody in these groups can be reached now (no chat with the bot, /stop, or "
            "blocked it). Invite people with /invite <group> first."
        )

    def _show(self, ctx: Ctx, message_id: int | None, text: str, keys: Keyboard | None) -> None:
        if message_id is None:
            ctx.say(text, keys)
        else:
            ctx.out.replies.append(EditText(ctx.chat_id, message_id, text, keys))

    async def _groups_step(self, ctx: Ctx, campaign: Campaign, message_id: int | None) -> None:
        t = ctx.t
        every = await groups.names(ctx.repo)
        if not every:
            queries.campaign_transition(campaign, CampaignStatus.CANCELLED)
            self._show(
                ctx,
                message_id,
                t.gettext("There are no groups yet. Create one with /invite <group>."),
                None,
            )
            return
        keys = [
            [
                (
                    ("✅ " if g.name in campaign.groups else "▫️ ") + g.name,
                    _w(campaign.id, "g", str(g.id)),
                )
            ]
            for g in every
        ]
        keys.append([(t.gettext("✔ Done"), _w(campaign.id, "gd"))])
        self._show(ctx, message_id, t.gettext("Which groups should be invited?"), keys)

    async def _confirm_step(
        self, ctx: Ctx, campaign: Campaign, message_id: int | None, problem: bool = False
    ) -> None:
        t = ctx.t
        try:
            # The wizard's reminder buttons are presets: the ones after the deadline go.
            campaign.remind_after = validate_plan(plan_of(campaign), presets=True).remind_after
        except PlanError:
            problem = True
        who = await audience(ctx.repo, campaign.groups)
        by_group, total = who.by_group, who.total
        lines = [
            t.gettext("Please check before anything is sent:"),
            t.gettext("Flow: {title}").format(title=self._title(campaign, ctx)),
            t.gettext("Start: {start} · deadline: {deadline}").format(
                start=t.datetime(campaign.start_at), deadline=t.datetime(campaign.deadline)
            ),
            t.gettext("Reminders after: {days} days").format(
                days=", ".join(str(s // 86400) for s in campaign.remind_after)
            )
            if campaign.remind_after
            else t.gettext("No reminders"),
            t.gettext("Quiet hours: {start}–{end}").format(
                start=campaign.quiet_start, end=campaign.quiet_end
            ),
            "",
            t.ngettext(
                "{n} person would be invited:", "{n} people would be invited:", total
            ).format(n=total),
        ]
        lines += [f"• {name}: {count}" for name, count in by_group.items()]
        keys = [
            [(t.gettext("✅ Start campaign"), _w(campaign.id, "ok"))],
            [(t.gettext("✖ Discard"), _w(campaign.id, "no"))],
        ]
        try:
            missed = check_reach(who)
        except PlanError:
            # A campaign that would invite nobody is not offered.
            lines += ["", self._nobody_text(t)]
            keys, missed = keys[-1:], 0
        if missed:
            lines.append(
                t.ngettext(
                    "⚠ {n} person cannot be reached now and will not be invited.",
                    "⚠ {n} people cannot be reached now and will not be invited.",
                    missed,
                ).format(n=missed)
            )
        if problem:
            lines += [
                "",
                t.gettext("⚠ This plan cannot work: the deadline must come after the start."),
            ]
            keys = keys[-1:]
        self._show(ctx, message_id, "\n".join(lines), keys)

    async def group_command(self, ctx: Ctx, args: str) -> None:
        """/group <name> [add|remove P-XXXXXX]: list or change a group's members."""
        if staff.refuse(ctx, admin_only=True):
            return
        t = ctx.t
        words = args.split()
        if not words:
            names = ", ".join(g.name for g in await groups.names(ctx.repo)) or "—"
            ctx.say(
                t.gettext("Groups: {names}\nUsage: /group <name> [add|remove P-XXXXXX]").format(
                    names=names
                )
            )
            return
        group = await ctx.repo.group(words[0].lower())
        if group is None:
            ctx.say(t.gettext("There is no group {name}.").format(name=words[0]))
            return
        if len(words) == 3 and words[1] in ("add", "remove"):
            person = await ctx.repo.participant_by_pseudonym(words[2])
            if person is None:
                ctx.say(
                    t.gettext("Nobody has the pseudonym {pseudonym}.").format(pseudonym=words[2])
                )
                return
            await groups.change_members(
                ctx.repo, group, [person], words[1] == "add", ctx.participant.pseudonym
            )
        members = await groups.members(ctx.repo, group)
        ctx.say(
            t.ngettext("{group}: {n} member", "{group}: {n} members", len(members)).format(
                group=group.name, n=len(members)
            )
            + ("\n" + ", ".join(members) if members else "")
        )
