"""The console's export and group pages. Exports call the very functions `backbone export`
calls (so the files are the same bytes, audit-logged the same way, with the staff member's
pseudonym as actor); groups and invite links go through bot/services/groups.py."""

from __future__ import annotations

import asyncio
import base64
import io
import tempfile
import zipfile
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.services import console_views as views
from bot.services import groups as group_cases
from bot.services.console import Staffer
from bot.services.qrcodes import qr_png
from bot.services.staff import GROUP_NAME
from bot.web import console_texts
from bot.web.console_auth import HEADERS
from bot.web.console_campaigns import ConsoleCampaigns
from storage.export import ExportRefused, NoData, export_flow, export_flow_qdpx
from storage.export_polls import export_polls

MEDIA_TYPES = {
    "csv": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "qdpx": "application/zip",
}


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
        )

    def _nothing(self, who: Staffer, text: str) -> Response:
        return self.refused(who.locale, text, 404)

    async def export_flow(self, request: Request, who: Staffer) -> Response:
        """POST: a flow's answers, as `backbone export --flow … [--campaign …]` writes them."""
        form = request.state.form
        t = self.t(who.locale)
        x = console_texts.more(t)
        flow = form.get("flow", "")
        fmt = form.get("format", "csv")
        layout = form.get("layout", "wide")
        campaign = int(form["campaign"]) if form.get("campaign", "").isdigit() else None
        if (
            fmt not in MEDIA_TYPES
            or layout not in ("wide", "long")
            or self.catalog.get(flow) is None
        ):
            return self._nothing(who, console_texts.not_found(t))
        stem = f"{flow}{f'-campaign-{campaign}' if campaign else ''}-{layout}"
        with tempfile.TemporaryDirectory(prefix="console-export-") as tmp:
            output = Path(tmp) / f"{stem}.{fmt}"
            try:
                if fmt == "qdpx":
                    files = await export_flow_qdpx(
                        self.db,
                        flow,
                        output,
                        media_dir=self.media_dir,
                        actor=who.pseudonym,
                        campaign_id=campaign,
                        warn=lambda _text: None,
                    )
                else:
                    delimiter = ";" if form.get("excel") else ","
                    files = await export_flow(
                        self.db,
                        flow,
                        fmt,
                        layout,
                        output,
                        actor=who.pseudonym,
                        campaign_id=campaign,
                        delimiter=delimiter,
                    )
            except (NoData, LookupError):
                return self._nothing(who, x["nothing"])
            except ExportRefused:
                return self._nothing(who, console_texts.not_found(t))
            data = await asyncio.to_thread(_bundle, files)
        name = f"{stem}.{'zip' if fmt == 'csv' else fmt}"
        return _download(data, name, fmt)

    async def export_session(self, request: Request, who: Staffer) -> Response:
        """POST: a session's votes and summary, as `backbone export polls` writes them."""
        form = request.state.form
        t = self.t(who.locale)
        code = form.get("session", "").strip().upper()
        fmt = form.get("format", "csv")
        if fmt not in ("csv", "xlsx") or not code.isalnum():
            return self._nothing(who, console_texts.not_found(t))
        with tempfile.TemporaryDirectory(prefix="console-export-") as tmp:
            output = Path(tmp) / f"session-{code}.{fmt}"
            try:
                delimiter = ";" if form.get("excel") else ","
                files = await export_polls(
                    self.db, code, fmt, output, actor=who.pseudonym, delimiter=delimiter
                )
            except NoData:
                return self._nothing(who, console_texts.more(t)["nothing"])
            except (LookupError, ExportRefused):
                return self._nothing(who, console_texts.not_found(t))
            data = await asyncio.to_thread(_bundle, files)
        return _download(data, f"session-{code}.{'zip' if fmt == 'csv' else fmt}", fmt)

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
