"""The onboarding and consent router: /start, language first, then the privacy notice;
under-16s go ahead only with parental consent on file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import negotiate
from bot.services import callbacks
from bot.services.context import Ctx
from bot.services.events import Tap
from bot.services.routers.texts import language_buttons, minor_text, privacy_text
from storage import polls as poll_queries
from storage.statuses import SessionStatus, Stage, set_stage

if TYPE_CHECKING:
    from bot.services.dispatch import Dispatcher
    from bot.services.routers.interviews import Interviews


class Onboarding:
    """Who may take part, and what they agreed to."""

    def __init__(self, dispatcher: Dispatcher, interviews: Interviews) -> None:
        self.dispatcher = dispatcher
        self.config = dispatcher.config
        self.interviews = interviews

    def register(self) -> None:
        """/start, the consent buttons and the gate every other router relies on."""
        self.dispatcher.command(("start",), self._start)
        self.dispatcher.payload(callbacks.Consent, self._consent)
        self.dispatcher.gate(self.ask)

    async def _start(self, ctx: Ctx, args: str) -> None:
        t = ctx.t
        p = ctx.participant
        # Writing to the bot means they can be reached again (403 was a block, now lifted).
        p.unreachable = False
        if p.opted_out:
            p.opted_out = False
            ctx.say(t.gettext("Invitations and reminders are switched on again."))
        link = callbacks.decode_start(args)
        if isinstance(link, callbacks.GrantLink | callbacks.JoinLink):
            await self.dispatcher.open_link(ctx, link)
            link = None
        wanted = link.flow_id if isinstance(link, callbacks.FlowLink) else None
        if link is not None:
            p.pending_flow = callbacks.start_payload(link)
        if p.stage != Stage.READY:
            await self.ask(ctx, greet=True)
            return
        pending = callbacks.decode_start(p.pending_flow)
        if isinstance(pending, callbacks.SessionLink):
            await self.dispatcher.start_pending(ctx, self.interviews.after_onboarding)
            return
        run = await ctx.repo.open_run(p.id)
        if run is not None:
            await self.interviews.resume_open(ctx, run, wanted)
            return
        if pending is not None:
            await self.dispatcher.start_pending(ctx, self.interviews.after_onboarding)
            return
        await self.interviews.offer_flows(ctx, t.gettext("Welcome back!"))

    async def _intro(self, ctx: Ctx, greet: bool) -> str:
        """What this is, before the first onboarding question: the session's title when the
        person came to join one, otherwise (on /start) who the bot is."""
        t = ctx.t
        name = ctx.identity.first_name
        greeting = t.gettext("Hello {name}!").format(name=name) if name else t.gettext("Hello!")
        pending = callbacks.decode_start(ctx.participant.pending_flow)
        session = None
        if isinstance(pending, callbacks.SessionLink):
            session = await poll_queries.session_by_code(ctx.repo, pending.code)
        if session is not None and session.status == SessionStatus.OPEN:
            joining = t.gettext(
                "You are joining “{title}”: the live polls of this meeting come to you here."
            ).format(title=session.title)
            return f"{greeting} {joining}" if greet else joining
        if not greet:
            return ""
        return (
            greeting
            + " "
            + t.gettext(
                "I am the alliance's interview bot. Your answers help schools, "
                "employers and youth services make the move from school to work better."
            )
        )

    async def ask(self, ctx: Ctx, greet: bool = False) -> None:
        """Ask the next onboarding question (language first, then consent) in one message
        that starts by saying what this is."""
        t = ctx.t
        p = ctx.participant
        if p.stage == Stage.NEW:
            if p.locale is None and ctx.identity.language_code:
                negotiated = negotiate(ctx.identity.language_code, "")
                if negotiated == ctx.identity.language_code.split("-")[0].lower():
                    p.locale = negotiated
            set_stage(p, Stage.CONSENT if p.locale else Stage.LANGUAGE)
        if p.stage != Stage.LANGUAGE and await ctx.repo.has_consent(
            p.id, self.config.notice_version
        ):
            set_stage(p, Stage.READY)
            await self.dispatcher.start_pending(ctx, self.interviews.after_onboarding)
            return
        intro = await self._intro(ctx, greet)
        lead = intro + "\n\n" if intro else ""
        if p.stage == Stage.LANGUAGE:
            ctx.say(lead + t.gettext("Which language would you like?"), language_buttons())
            return
        if p.age_band == "under16":
            # Once under 16, always the under-16 path (also when a new notice is shown):
            # only parental consent on file or a staff correction (/agecheck) changes that.
            set_stage(p, Stage.MINOR)
        if p.stage == Stage.MINOR and await self._parental_consent(ctx):
            return
        if p.stage == Stage.MINOR:
            ctx.say(lead + minor_text(t))
            return
        set_stage(p, Stage.CONSENT)
        version = self.config.notice_version
        agree = callbacks.button(callbacks.Consent(version, "16"))
        under = callbacks.button(callbacks.Consent(version, "u16"))
        ctx.say(
            lead + privacy_text(t, version, full=False),
            [
                [(t.gettext("✅ I am 16 or older and agree"), agree)],
                [(t.gettext("I am under 16"), under)],
            ],
        )

    async def _parental_consent(self, ctx: Ctx) -> bool:
        """Under 16: go ahead only if a parent's consent is on file for one of their groups."""
        p = ctx.participant
        # Only while the admin who confirmed it is still an admin.
        on_file = await ctx.repo.parental_consent_on_file(p.id, self.config.admin_ids)
        if on_file is None:
            return False
        group, link = on_file
        await ctx.repo.add_consent(
            p.id,
            self.config.notice_version,
            ctx.t.locale,
            "parent",
            age_band="under16",
            confirmed_by=link.created_by,
            group_id=group.id,
        )
        set_stage(p, Stage.READY)
        ctx.say(
            ctx.t.gettext(
                "Your school has your parents' consent on file. Welcome — you can take part!"
            )
        )
        await self.dispatcher.start_pending(ctx, self.interviews.after_onboarding)
        return True

    async def _consent(self, ctx: Ctx, consent: callbacks.Consent, tap: Tap) -> None:
        t = ctx.t
        p = ctx.participant
        if consent.version != self.config.notice_version:
            ctx.ack(t.gettext("This notice is out of date."))
            await self.ask(ctx)
            return
        if await ctx.repo.has_consent(p.id, self.config.notice_version):
            ctx.ack(t.gettext("Thank you!"))
            return
        if consent.band == "u16":
            ctx.ack()
            p.age_band = "under16"
            set_stage(p, Stage.MINOR)
            if not await self._parental_consent(ctx):
                ctx.say(minor_text(t))
            return
        if p.age_band == "under16":
            # The 16+ button after saying under 16 (the same notice or a later one): refused.
            details = {"notice_version": consent.version}
            await ctx.repo.audit(p.pseudonym, "age_gate_refused", details)
            ctx.ack()
            ctx.say(minor_text(t))
            return
        p.age_band = "16plus"
        await ctx.repo.add_consent(p.id, self.config.notice_version, t.locale, age_band="16plus")
        ctx.ack(t.gettext("Thank you!"))
        set_stage(p, Stage.READY)
        await self.dispatcher.start_pending(ctx, self.interviews.after_onboarding)
