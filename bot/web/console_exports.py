"""The console's export and group pages. Exports call the very functions `backbone export`
calls (so the files are the same bytes, audit-logged the same way, with the staff member's
pseudonym as actor); groups and invite links go through bot/services/groups.py."""

from __future__ import annotations

import asyncio
import base64
import io
import tempfile
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.services import console_views as views
from bot.services import groups as group_cases
from bot.services.console import Staffer
from bot.services.qrcodes import qr_png
from bot.services.staff import GROUP_NAME
from bot.web import console_results_texts as more_texts
from bot.web import console_texts
from bot.web.console_auth import HEADERS
from bot.web.console_campaigns import ConsoleCampaigns
from storage.export import ExportRefused, NoData, export_flow, export_flow_qdpx
from storage.export_flow_stats import export_flow_stats, export_polls_stats
from storage.export_panel import export_panel
from storage.export_person import export_person_level
from storage.export_polls import export_polls

MEDIA_TYPES = {
    "csv": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "qdpx": "application/zip",
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
    "zip": "application/zip",
}
STATS = ("sav", "dta")
FLOW_FORMATS = ("csv", "xlsx", "json", "qdpx", *STATS)
POLL_FORMATS = ("csv", "xlsx", *STATS)
PANEL_FORMATS = ("csv", "xlsx", "json", *STATS)
PERIODS = ("half-years", "months")
Writer = Callable[[Path], Awaitable[list[Path]]]


def _bundle(files: list[Path]) -> bytes:
    """The files as they were written; several (a CSV and its codebook) as one ZIP."""
    if len(files) == 1:
        return files[0].read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.name)
    return out.getvalue()


def _download(data: bytes, name: str, fmt: str) -> Response:
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type=MEDIA_TYPES.get(fmt, "text/csv"), headers=headers)


class ConsoleExports(ConsoleCampaigns):
    """Exports and groups (admins)."""

    media_dir: Path
    bot_username: str

    def _export_page(self, who: Staffer, request: Request, **context) -> Response:
        return self.page("exports", who, request, **context)

    async def exports(self, request: Request, who: Staffer) -> Response:
        """Pick a flow (and campaign) or a session, a format and a layout."""
        campaigns = await views.campaign_rows(self.db, self.catalog, who.locale)
        sessions = await views.sessions(self.db)
        problem = request.query_params.get("problem")
        return self._export_page(
            who,
            request,
            flows=self.catalog.all(),
            campaigns=campaigns,
            sessions=sessions,
            problem=problem,
            chosen=request.query_params.get("session", ""),
            e=more_texts.exports(self.t(who.locale)),
        )

    def _nothing(self, who: Staffer, text: str) -> Response:
        return self.refused(who.locale, text, 404)

    async def _files(
        self, who: Staffer, stem: str, fmt: str, write: Writer, unknown: str = "nothing"
    ) -> Response:
        """Run an export into a temporary directory and send its files: one as it is,
        several (data and codebook or summary) as a ZIP. `unknown`: what a LookupError
        means here (a flow without data: nothing to export; a session: not found)."""
        t = self.t(who.locale)
        nothing, missing = console_texts.more(t)["nothing"], console_texts.not_found(t)
        with tempfile.TemporaryDirectory(prefix="console-export-") as tmp:
            try:
                files = await write(Path(tmp) / f"{stem}.{fmt}")
            except NoData:
                return self._nothing(who, nothing)
            except LookupError:
                return self._nothing(who, nothing if unknown == "nothing" else missing)
            except ExportRefused:
                return self._nothing(who, missing)
            data = await asyncio.to_thread(_bundle, files)
        if len(files) > 1:
            return _download(data, f"{stem}.zip", "zip")
        return _download(data, f"{stem}.{fmt}", fmt)

    async def export_flow(self, request: Request, who: Staffer) -> Response:
        """POST: a flow's answers, as `backbone export --flow … [--campaign …]` writes them."""
        form = request.state.form
        t = self.t(who.locale)
        flow = form.get("flow", "")
        fmt = form.get("format", "csv")
        layout = form.get("layout", "wide")
        campaign = int(form["campaign"]) if form.get("campaign", "").isdigit() else None
        if (
            fmt not in FLOW_FORMATS
            or layout not in ("wide", "long")
            or self.catalog.get(flow) is None
        ):
            return self._nothing(who, console_texts.not_found(t))
        if fmt in STATS and layout == "long":
            return self.refused(who.locale, more_texts.exports(t)["stats_long"], 422)
        stem = f"{flow}{f'-campaign-{campaign}' if campaign else ''}-{layout}"
        actor = {"actor": who.pseudonym, "campaign_id": campaign}
        delimiter = ";" if form.get("excel") else ","

        async def write(output: Path) -> list[Path]:
            if fmt == "qdpx":
                return await export_flow_qdpx(
                    self.db, flow, output, media_dir=self.media_dir, warn=lambda _: None, **actor
                )
            if fmt in STATS:
                return await export_flow_stats(self.db, flow, fmt, output, **actor)
            return await export_flow(
                self.db, flow, fmt, layout, output, delimiter=delimiter, **actor
            )

        return await self._files(who, stem, fmt, write)

    async def export_session(self, request: Request, who: Staffer) -> Response:
        """POST: a session's votes and summary, as `backbone export polls` writes them."""
        form = request.state.form
        t = self.t(who.locale)
        code = form.get("session", "").strip().upper()
        fmt = form.get("format", "csv")
        if fmt not in POLL_FORMATS or not code.isalnum():
            return self._nothing(who, console_texts.not_found(t))
        delimiter = ";" if form.get("excel") else ","

        async def write(output: Path) -> list[Path]:
            if fmt in STATS:
                return await export_polls_stats(self.db, code, fmt, output, actor=who.pseudonym)
            return await export_polls(
                self.db, code, fmt, output, actor=who.pseudonym, delimiter=delimiter
            )

        return await self._files(who, f"session-{code}", fmt, write, unknown="missing")

    async def export_panel(self, request: Request, who: Staffer) -> Response:
        """POST: a flow's panel, as `backbone export panel` writes it."""
        form = request.state.form
        t = self.t(who.locale)
        flow = form.get("flow", "")
        fmt = form.get("format", "csv")
        layout = form.get("layout", "wide")
        period = form.get("period", "half-years")
        if (
            fmt not in PANEL_FORMATS
            or layout not in ("wide", "long")
            or period not in PERIODS
            or self.catalog.get(flow) is None
        ):
            return self._nothing(who, console_texts.not_found(t))
        options = {"actor": who.pseudonym, "period": period}
        options["delimiter"] = ";" if form.get("excel") and fmt == "csv" else ","

        async def write(output: Path) -> list[Path]:
            return await export_panel(self.db, flow, fmt, layout, output, **options)

        return await self._files(who, f"{flow}-panel-{layout}", fmt, write)

    async def export_person(self, request: Request, who: Staffer) -> Response:
        """POST: the person-level workbook, as `backbone export person-level` writes it."""

        async def write(output: Path) -> list[Path]:
            return await export_person_level(self.db, output, actor=who.pseudonym)

        return await self._files(who, "person-level", "xlsx", write)

    # --- groups ------------------------------------------------------------------------
    async def groups(self, request: Request, who: Staffer) -> Response:
        """Every group with its members (pseudonyms)."""
        rows = await views.groups_with_members(self.db)
        note = request.query_params.get("made")
        return self.page("groups", who, request, rows=rows, note=note, link=None, problem=None)

    async def group_create(self, request: Request, who: Staffer) -> Response:
        """POST: a new empty group."""
        t = self.t(who.locale)
        x = console_texts.more(t)
        name = request.state.form.get("name", "").strip().lower()
        if not GROUP_NAME.match(name):
            return self.refused(who.locale, x["bad_group"], 422)
        try:
            await views.create_group(self.db, name, who.pseudonym)
        except group_cases.GroupExists:
            return self.refused(who.locale, x["group_exists"].format(group=name), 409)
        return RedirectResponse(f"/console/groups?made={name}", status_code=303, headers=HEADERS)

    async def group_invite(self, request: Request, who: Staffer) -> Response:
        """POST: an invite link for a group, shown with its QR code."""
        name = request.path_params["name"]
        parental = bool(request.state.form.get("parental"))
        link = await views.group_invite(
            self.db, name, who.pseudonym, self.bot_username, self.auth.clock(), parental
        )
        if link is None:
            return self.missing(who)
        rows = await views.groups_with_members(self.db)
        qr = "data:image/png;base64," + base64.b64encode(qr_png(link, scale=6)).decode()
        return self.page(
            "groups",
            who,
            request,
            rows=rows,
            note=None,
            link=(name, link, parental, qr),
            problem=None,
        )
