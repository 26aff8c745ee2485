"""The Starlette application: /healthz, /readyz, the projector page and its live stream."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.i18n import translator
from bot.services.projector import Projector, ProjectorView, qr_svg
from bot.web import texts
from bot.web.webhook_route import Webhook, webhook_route
from storage.db import DatabaseProblem
from storage.migrate import check_ready

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
# Nothing from outside: scripts, styles and images only from this server (the bars' widths
# are inline styles; the QR code is inline SVG).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    # The token in the address must not travel on to anyone.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class Pages:
    """The routes' handlers, sharing the projector use case and the templates."""

    def __init__(self, projector: Projector, database_url: str, poll_every: float) -> None:
        self.projector = projector
        self.database_url = database_url
        self.poll_every = poll_every
        self.stopping = asyncio.Event()
        self.env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=select_autoescape(("html",)),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    async def healthz(self, request: Request) -> Response:
        """Alive: the process answers."""
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        """Ready: the database answers and its schema is the one this version needs."""
        try:
            await check_ready(self.database_url, timeout=3)
        except DatabaseProblem as exc:
            log.warning("not ready: %s", exc)
            schema = "revision" in str(exc) or "no schema" in str(exc)
            reason = "schema not at head" if schema else "database unreachable"
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        return JSONResponse({"status": "ready"})

    def _render(self, name: str, **context) -> str:
        return self.env.get_template(name).render(**context)

    def _context(self, token: str, view: ProjectorView) -> dict:
        t = translator(view.locale)
        return {
            "token": token,
            "view": view,
            "lang": view.locale,
            "rtl": t.rtl,
            "text": texts.labels(t),
            "live": texts.counts(
                t, view.joined, view.poll, tuple(q.upvotes for q in view.questions)
            ),
            "percent": t.percent,
        }

    def not_found(self) -> Response:
        """The one page for an unknown token and a closed session (no difference shown)."""
        t = translator(self.projector.default_locale)
        html = self._render("not_found.html", text=texts.not_found(t), lang=t.locale, rtl=t.rtl)
        return HTMLResponse(html, status_code=404, headers=SECURITY_HEADERS)

    async def projector_page(self, request: Request) -> Response:
        """The projector page of an open session."""
        token = request.path_params["token"]
        view = await self.projector.view(token)
        if view is None:
            return self.not_found()
        html = self._render("projector.html", qr=qr_svg(view.link), **self._context(token, view))
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    async def projector_events(self, request: Request) -> Response:
        """Server-sent events: the live part of the page whenever it changed."""
        token = request.path_params["token"]
        if await self.projector.view(token) is None:
            return self.not_found()
        headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
        return StreamingResponse(
            self._stream(token), media_type="text/event-stream", headers=headers
        )

    async def _stream(self, token: str) -> AsyncIterator[str]:
        # Polling the database (cached per token, see Projector.view) instead of listening
        # for votes: it sees votes from any process, and a lost event cannot leave a stale
        # screen. The first event repeats the page as it is now (a reconnect catches up).
        yield "retry: 2000\n\n"
        last: ProjectorView | None = None
        idle = 0.0
        while not self.stopping.is_set():
            view = await self.projector.view(token)
            if view is None:
                yield "event: end\ndata: {}\n\n"
                return
            if view != last:
                html = self._render("live.html", **self._context(token, view))
                yield f"data: {json.dumps({'html': html})}\n\n"
                last, idle = view, 0.0
            elif idle >= 15:
                yield ": keep-alive\n\n"  # proxies close silent connections
                idle = 0.0
            with_stop = asyncio.ensure_future(self.stopping.wait())
            await asyncio.wait({with_stop}, timeout=self.poll_every)
            with_stop.cancel()
            idle += self.poll_every


def create_app(
    projector: Projector,
    database_url: str,
    poll_every: float = 0.5,
    webhook: Webhook | None = None,
    console: list | None = None,
) -> Starlette:
    """The web application; `app.state.pages.stopping` ends the live streams."""
    pages = Pages(projector, database_url, poll_every)
    app = Starlette(
        routes=[
            *([webhook_route(webhook)] if webhook is not None else []),
            Route("/healthz", pages.healthz),
            Route("/readyz", pages.readyz),
            Route("/p/{token}", pages.projector_page),
            Route("/p/{token}/events", pages.projector_events),
            *(console or []),  # the staff console (bot/web/console_app.py)
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        exception_handlers={404: lambda request, exc: pages.not_found()},
    )
    app.state.pages = pages
    return app
