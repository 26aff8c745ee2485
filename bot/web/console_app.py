"""The staff console's routes under /console, built from the settings of `backbone run`."""

from __future__ import annotations

from starlette.routing import Route

from bot.services.catalog import FlowCatalog
from bot.services.console import ConsoleAuth
from bot.web.console_exports import ConsoleExports
from storage.models import utcnow


class Console(ConsoleExports):
    """Every console page, sharing the bot's database handle."""

    def __init__(self, db, settings, bot_username: str, clock=utcnow) -> None:
        auth = ConsoleAuth(
            db,
            frozenset(settings.admin_ids),
            clock,
            settings.default_locale,
            settings.timezone,
        )
        super().__init__(auth, settings.web_url)
        self.catalog = FlowCatalog(settings.flows_dir)
        self.flows_dir = settings.flows_dir
        self.zone = settings.zone
        self.media_dir = settings.media_dir
        self.bot_username = bot_username

    def routes(self) -> list[Route]:
        """The console's routes: GET pages for staff, POST changes with CSRF."""
        g = self.guarded
        get, post = ["GET"], ["POST"]
        return [
            Route("/console/login/{token}", self.login_page, methods=get),
            Route("/console/login", self.login, methods=post),
            Route("/console/logout", g(self.logout, post=True), methods=post),
            Route("/console/language", g(self.language, post=True), methods=post),
            Route("/console/", g(self.dashboard), methods=get),
            Route("/console/live", g(self.dashboard_live), methods=get),
            Route("/console/campaigns", g(self.campaigns), methods=get),
            Route("/console/campaigns/new", g(self.campaign_new, admin=True), methods=get),
            Route(
                "/console/campaigns/preview",
                g(self.campaign_preview, admin=True, post=True),
                methods=post,
            ),
            Route(
                "/console/campaigns/edit",
                g(self.campaign_edit, admin=True, post=True),
                methods=post,
            ),
            Route(
                "/console/campaigns/create",
                g(self.campaign_create, admin=True, post=True),
                methods=post,
            ),
            Route("/console/campaigns/{id}", g(self.campaign), methods=get),
            Route(
                "/console/campaigns/{id}/{action:str}",
                g(self.campaign_change, admin=True, post=True),
                methods=post,
            ),
            Route("/console/sessions", g(self.sessions), methods=get),
            Route("/console/sessions/{id}", g(self.session), methods=get),
            Route("/console/polls/{id}/chart.png", g(self.chart), methods=get),
            Route(
                "/console/questions/{id}/{to:str}",
                g(self.question_mark, post=True),
                methods=post,
            ),
            Route("/console/exports", g(self.exports, admin=True), methods=get),
            Route("/console/exports/polls", g(self.exports, admin=True), methods=get),
            Route(
                "/console/exports/flow", g(self.export_flow, admin=True, post=True), methods=post
            ),
            Route(
                "/console/exports/session",
                g(self.export_session, admin=True, post=True),
                methods=post,
            ),
            Route("/console/groups", g(self.groups, admin=True), methods=get),
            Route("/console/groups", g(self.group_create, admin=True, post=True), methods=post),
            Route(
                "/console/groups/{name}/invite",
                g(self.group_invite, admin=True, post=True),
                methods=post,
            ),
            Route("/console/flows", g(self.flows), methods=get),
            Route("/console/audit", g(self.audit, admin=True), methods=get),
        ]


def console_routes(db, settings, bot_username: str) -> list[Route]:
    """The console's routes for the web app of `backbone run`."""
    return Console(db, settings, bot_username).routes()
