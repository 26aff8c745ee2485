"""The account router: /help, /language, /privacy, /stop, /mydata, /delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import LANGUAGE_NAMES, available_locales, translator
from bot.services import callbacks, privacy
from bot.services.context import Ctx
from bot.services.events import Tap
from bot.services.replies import SendDocument
from bot.services.routers.texts import help_text, language_buttons, privacy_text
from storage.statuses import RunStatus, Stage, set_stage

if TYPE_CHECKING:
    from bot.services.dispatch import Dispatcher
    from bot.services.routers.interviews import Interviews


class Account:
    """What a person can do about their own account and data."""

    def __init__(self, dispatcher: Dispatcher, interviews: Interviews) -> None:
        self.dispatcher = dispatcher
        self.config = dispatcher.config
        self.interviews = interviews

    def register(self) -> None:
        """Commands and buttons of this router."""
        d = self.dispatcher
        d.command(("help",), self._help)
        d.command(("language",), self._language)
        d.command(("privacy",), self._privacy)
        d.command(("stop",), self._stop)
        d.command(("mydata",), self._mydata)
        d.command(("delete",), self._delete)
        d.payload(callbacks.Language, self._set_locale)
        d.payload(callbacks.Delete, self._delete_answer)

    async def _help(self, ctx: Ctx, args: str) -> None:
        ctx.say(help_text(ctx.t, ctx.role))

    async def _language(self, ctx: Ctx, args: str) -> None:
        ctx.say(ctx.t.gettext("Which language would you like?"), language_buttons())

    async def _privacy(self, ctx: Ctx, args: str) -> None:
        ctx.say(privacy_text(ctx.t, self.config.notice_version, full=True))

    async def _stop(self, ctx: Ctx, args: str) -> None:
        ctx.participant.opted_out = True
        ctx.say(
            ctx.t.gettext(
                "OK, you will get no more invitations or reminders. "
                "Send /start if you want them again."
            )
        )

    async def _mydata(self, ctx: Ctx, args: str) -> None:
        data = await privacy.personal_data(ctx.repo, ctx.participant.id)
        ctx.out.replies.append(
            SendDocument(
                ctx.chat_id,
                f"my-data-{ctx.participant.pseudonym}.json",
                privacy.personal_data_json(data),
                ctx.t.gettext("Everything we have stored about you."),
            )
        )

    async def _delete(self, ctx: Ctx, args: str) -> None:
        t = ctx.t
        yes = callbacks.button(callbacks.Delete(True))
        no = callbacks.button(callbacks.Delete(False))
        ctx.say(
            t.gettext(
                "Do you want us to delete your data — your answers, voice notes, photos "
                "and the link to your Telegram account? This cannot be undone."
            ),
            [[(t.gettext("🗑 Yes, delete my data"), yes)], [(t.gettext("No, keep it"), no)]],
        )

    async def _delete_answer(self, ctx: Ctx, answer: callbacks.Delete, tap: Tap) -> None:
        t = ctx.t
        if not answer.confirmed:
            ctx.ack(t.gettext("Nothing was deleted."))
            ctx.say(t.gettext("Nothing was deleted."))
            return
        await privacy.erase_participant(
            ctx.repo, ctx.participant.id, self.config.media_dir, self.config.delete_mode
        )
        ctx.ack(t.gettext("Deleted."))
        ctx.say(
            t.gettext(
                "Your data has been deleted and you will get no more messages from us. "
                "If you write again, we start from the beginning."
            )
        )

    async def _set_locale(self, ctx: Ctx, choice: callbacks.Language, tap: Tap) -> None:
        locale = choice.locale
        if locale not in available_locales():
            ctx.ack(ctx.t.gettext("This button does not work."), alert=True)
            return
        ctx.participant.locale = locale
        ctx.t = translator(locale, self.config.timezone)
        ctx.ack(LANGUAGE_NAMES.get(locale, locale))
        run = await ctx.repo.open_run(ctx.participant.id)
        if run is not None:
            run.locale = locale
        if ctx.participant.stage == Stage.LANGUAGE:
            set_stage(ctx.participant, Stage.CONSENT)
        if ctx.participant.stage != Stage.READY:
            await self.dispatcher.onboard(ctx)
            return
        ctx.say(ctx.t.gettext("OK, I will write in English from now on."))
        if run is not None and run.status == RunStatus.ACTIVE:
            self.interviews.show_prompt(ctx, run)
