"""Campaigns and groups from Telegram: a guided /campaign with buttons, /campaigns, /group.

Every step re-checks on the server that the person is an admin and owns the draft; button
data only says which step was tapped.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.services import callbacks, staff
from bot.services.campaigns import Plan, confirm, create, preview, progress_text
from bot.services.context import Ctx
from bot.services.replies import EditText, Keyboard
from storage import outbox
from storage.models import Campaign, Group, GroupMember, Participant

DEADLINES = (7, 14, 28)
REMINDERS = {"3,7": [3, 7], "3": [3], "-": []}


def _w(campaign_id: int | str, *parts: object) -> str:
    return callbacks.choice("w", ":".join(str(p) for p in (campaign_id, *parts)))


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
        rows = list(
            await ctx.repo.session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(10))
        )
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
        campaign = await ctx.repo.session.get(Campaign, ident)
        if (
            campaign is None
            or campaign.status != "draft"
            or campaign.created_by != ctx.participant.pseudonym
        ):
            ctx.ack(t.gettext("This draft is no longer open."), alert=True)
            return
        ctx.ack()
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
            await confirm(ctx.repo, campaign, ctx.participant.pseudonym)
            self._show(
                ctx,
                message_id,
                t.gettext("Campaign {id} is on. You will see its progress here.").format(
                    id=campaign.id
                ),
                None,
            )
        elif step == "no":
            campaign.status = "cancelled"
            self._show(ctx, message_id, t.gettext("Discarded. Nothing was sent."), None)

    def _show(self, ctx: Ctx, message_id: int | None, text: str, keys: Keyboard | None) -> None:
        if message_id is None:
            ctx.say(text, keys)
        else:
            ctx.out.replies.append(EditText(ctx.chat_id, message_id, text, keys))

    async def _groups_step(self, ctx: Ctx, campaign: Campaign, message_id: int | None) -> None:
        t = ctx.t
        groups = list(await ctx.repo.session.scalars(select(Group).order_by(Group.name)))
        if not groups:
            campaign.status = "cancelled"
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
            for g in groups
        ]
        keys.append([(t.gettext("✔ Done"), _w(campaign.id, "gd"))])
        self._show(ctx, message_id, t.gettext("Which groups should be invited?"), keys)

    async def _confirm_step(self, ctx: Ctx, campaign: Campaign, message_id: int | None) -> None:
        t = ctx.t
        by_group, total = await preview(ctx.repo, campaign.groups)
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
        self._show(ctx, message_id, "\n".join(lines), keys)

    async def group_command(self, ctx: Ctx, args: str) -> None:
        """/group <name> [add|remove P-XXXXXX]: list or change a group's members."""
        if staff.refuse(ctx, admin_only=True):
            return
        t = ctx.t
        words = args.split()
        if not words:
            groups = list(await ctx.repo.session.scalars(select(Group).order_by(Group.name)))
            names = ", ".join(g.name for g in groups) or "—"
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
                    t.gettext("Nobody has the code name {pseudonym}.").format(pseudonym=words[2])
                )
                return
            if words[1] == "add":
                await ctx.repo.add_member(group.id, person.id)
            else:
                member = await ctx.repo.session.get(GroupMember, (group.id, person.id))
                if member is not None:
                    await ctx.repo.session.delete(member)
            await ctx.repo.audit(
                ctx.participant.pseudonym,
                f"group_member_{words[1]}",
                {"group": group.name, "member": person.pseudonym},
            )
        stmt = (
            select(Participant.pseudonym)
            .join(GroupMember, GroupMember.participant_id == Participant.id)
            .where(GroupMember.group_id == group.id)
            .order_by(Participant.pseudonym)
        )
        members = list(await ctx.repo.session.scalars(stmt))
        ctx.say(
            t.ngettext("{group}: {n} member", "{group}: {n} members", len(members)).format(
                group=group.name, n=len(members)
            )
            + ("\n" + ", ".join(members) if members else "")
        )
