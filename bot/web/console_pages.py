"""The console's reading pages: the overview (live), sessions and polls with their charts,
flows with their check results, and the audit log. Pseudonyms only, like every export."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.services import console_views as views
from bot.services.campaigns import status_name
from bot.services.catalog import FlowCatalog
from bot.services.charts import results_png
from bot.services.console import Staffer
from bot.services.privacy import audit_entries
from bot.web import console_texts
from bot.web.console_auth import HEADERS, ConsoleBase

AUDIT_SHOWN = 500  # the newest entries; `backbone audit` prints them all


class ConsolePages(ConsoleBase):
    """Overview, sessions, flows, audit."""

    catalog: FlowCatalog
    flows_dir: Path

    def page(self, name: str, who: Staffer, request: Request, **context) -> Response:
        """A signed-in page: the frame knows who, which page, and where the switch goes."""
        t = self.t(who.locale)
        return self.render(
            f"console_{name}.html",
            who.locale,
            who=who,
            page=name.split("_")[0],
            back=request.url.path,
            f=console_texts.figures(t),
            x=console_texts.more(t),
            status_name=lambda s: status_name(s, t),
            state=lambda s: console_texts.state(t, s),
            **context,
        )

    def missing(self, who: Staffer) -> Response:
        """An unknown campaign, session or poll."""
        return self.refused(who.locale, console_texts.not_found(self.t(who.locale)), 404)

    # --- overview ----------------------------------------------------------------------
    async def _overview(self, who: Staffer) -> dict:
        campaigns = await views.campaign_rows(self.db, self.catalog, who.locale, active_only=True)
        sessions = await views.sessions(self.db, open_only=True)
        return {"campaigns": campaigns, "sessions": sessions}

    async def dashboard(self, request: Request, who: Staffer) -> Response:
        """Running campaigns with their response rates, and the open sessions."""
        return self.page("dashboard", who, request, **await self._overview(who))

    async def dashboard_live(self, request: Request, who: Staffer) -> Response:
        """The overview's live part, fetched again every few seconds by console.js."""
        return self.page("dashboard_live", who, request, **await self._overview(who))

    # --- sessions and polls ------------------------------------------------------------
    async def sessions(self, request: Request, who: Staffer) -> Response:
        """Every poll session, newest first."""
        return self.page("sessions", who, request, sessions=await views.sessions(self.db))

    async def session(self, request: Request, who: Staffer) -> Response:
        """One session: each poll's results as a table and a chart."""
        found = await views.session_detail(self.db, _int(request.path_params["id"]))
        if found is None:
            return self.missing(who)
        card, polls = found
        questions = await views.session_questions(self.db, card.row.id)
        return self.page(
            "sessions_detail", who, request, card=card, polls=polls, questions=questions
        )

    async def question_mark(self, request: Request, who: Staffer) -> Response:
        """POST: a question from the room answered or hidden (its facilitator or an admin)."""
        to = request.path_params["to"]
        session_id = _int(request.state.form.get("session", ""))
        if to not in ("answered", "hidden"):
            return self.missing(who)
        done = await views.mark_question(
            self.db,
            _int(request.path_params["id"]),
            to,
            who.pseudonym,
            who.is_admin,
            self.auth.clock,
        )
        if done == "not_yours":
            return self.refused(who.locale, console_texts.admins_only(self.t(who.locale)), 403)
        if done != "done":
            return self.missing(who)
        return RedirectResponse(f"/console/sessions/{session_id}", status_code=303, headers=HEADERS)

    async def chart(self, request: Request, who: Staffer) -> Response:
        """A poll's results as the PNG chart the bot sends to the facilitator."""
        poll = await views.poll_result(self.db, _int(request.path_params["id"]))
        if poll is None:
            return self.missing(who)
        png = results_png(poll.question, poll.results.rows, poll.results.voters)
        return Response(png, media_type="image/png", headers=HEADERS)

    # --- flows ---------------------------------------------------------------------------
    async def flows(self, request: Request, who: Staffer) -> Response:
        """Flows, `flows check`'s problems, and the translations still missing."""
        flows, problems = views.flows_overview(self.flows_dir, who.locale)
        return self.page("flows", who, request, flows=flows, problems=problems)

    # --- audit ---------------------------------------------------------------------------
    async def audit(self, request: Request, who: Staffer) -> Response:
        """The newest staff actions (admins)."""
        days = _int(request.query_params.get("days", "30")) or 30
        since = self.auth.clock() - timedelta(days=min(days, 3660))
        entries = list(reversed(await audit_entries(self.db, since)))[:AUDIT_SHOWN]
        for entry in entries:
            entry["shown"] = json.dumps(entry["details"], ensure_ascii=False, sort_keys=True)
        return self.page("audit", who, request, entries=entries, days=days)


def _int(value: str) -> int:
    """A number from the address; 0 for anything else (then nothing is found)."""
    try:
        return int(value)
    except ValueError:
        return 0
