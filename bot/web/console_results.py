"""The console's results page: closed campaigns and sessions with their sendings, a preview
of the message as a person gets it, and the confirmation — the use case of /results and
`backbone results send` (bot.services.results_back), for admins, audited with the pseudonym."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.services import console_results as cases
from bot.services.console import Staffer
from bot.services.results_back import MAX_INTRO, Refused
from bot.web import console_results_texts as texts
from bot.web.console_auth import HEADERS
from bot.web.console_exports import ConsoleExports
from bot.web.console_pages import _int

# Refusals and their status: unknown sources 404, the state of things 409, the form 422.
STATUS = {"no_campaign": 404, "no_session": 404, "intro_too_long": 422, "nobody": 422}


class ConsoleResults(ConsoleExports):
    """Results back to the people (admins, like the CLI)."""

    min_cell_size: int

    def _results_page(self, name: str, who: Staffer, request: Request, **context) -> Response:
        t = self.t(who.locale)
        r = texts.results(t)
        return self.page(
            name,
            who,
            request,
            r=r,
            max_intro=MAX_INTRO,
            times=lambda n: texts.times(t, n),
            sent_before=lambda n: texts.sent_before(t, n),
            **context,
        )

    def _said_no(self, who: Staffer, error: Refused) -> Response:
        text = texts.refusal(self.t(who.locale), error)
        return self.refused(who.locale, text, STATUS.get(error.reason, 409))

    async def results(self, request: Request, who: Staffer) -> Response:
        """Closed campaigns and sessions, whether and when their results were sent."""
        rows = await cases.overview(self.db, self.catalog, who.locale)
        planned = request.query_params.get("planned", "")
        note = None
        r = texts.results(self.t(who.locale))
        if planned.isdigit():
            note = texts.planned(self.t(who.locale), int(planned))
        elif request.query_params.get("cancelled"):
            note = r["cancelled"]
        return self._results_page("results", who, request, rows=rows, note=note)

    async def results_prepare(self, request: Request, who: Staffer) -> Response:
        """POST a source and an intro: a draft and its preview; nothing is sent yet."""
        form = request.state.form
        source = cases.parse_source(form.get("source", ""))
        t = self.t(who.locale)
        if source is None:
            return self.refused(who.locale, texts.results(t)["bad_source"], 404)
        try:
            preview = await cases.prepare(
                self.db,
                self.catalog,
                source,
                actor=who.pseudonym,
                t=t,
                k=self.min_cell_size,
                message=form.get("intro", ""),
            )
        except Refused as error:
            return self._said_no(who, error)
        return self._results_page("results_preview", who, request, preview=preview)

    async def results_confirm(self, request: Request, who: Staffer) -> Response:
        """POST the preview's confirmation (own drafts only): the messages are planned."""
        form = request.state.form
        send_id = _int(form.get("send", ""))
        if form.get("cancel"):
            await cases.discard(self.db, send_id, who.pseudonym)
            back = "/console/results?cancelled=1"
            return RedirectResponse(back, status_code=303, headers=HEADERS)
        try:
            planned = await cases.confirm(
                self.db, send_id, who.pseudonym, self.auth.clock(), bool(form.get("again"))
            )
        except Refused as error:
            return self._said_no(who, error)
        return RedirectResponse(
            f"/console/results?planned={planned}", status_code=303, headers=HEADERS
        )
