"""The staff console's routes under /console, built from the settings of `backbone run`."""

from __future__ import annotations

from starlette.routing import Route

from bot.services.catalog import FlowCatalog
from bot.services.console import ConsoleAuth
from bot.services.small_cells import DEFAULT_MIN_CELL_SIZE
from bot.web.console_results import ConsoleResults
from storage.models import utcnow


class Console(ConsoleResults):
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
        # BACKBONE_MIN_CELL_SIZE, as /results and the CLI use it.
        self.min_cell_size = getattr(settings, "min_cell_size", DEFAULT_MIN_CELL_SIZE)

    def routes(self) -> list[Route]:
        """The console's routes: GET pages for staff, POST changes with CSRF."""
        return self._pages() + self._changes()

    def _pages(self) -> list[Route]:
        g = self.guarded
        pages = [
            ("/console/", self.dashboard, False),
            ("/console/live", self.dashboard_live, False),
            ("/console/campaigns", self.campaigns, False),
            ("/console/campaigns/new", self.campaign_new, True),
            ("/console/campaigns/{id}", self.campaign, False),
            ("/console/sessions", self.sessions, False),
            ("/console/sessions/{id}", self.session, False),
            ("/console/polls/{id}/chart.png", self.chart, False),
            ("/console/exports", self.exports, True),
            ("/console/exports/polls", self.exports, True),
            ("/console/groups", self.groups, True),
            ("/console/results", self.results, True),
            ("/console/flows", self.flows, False),
            ("/console/audit", self.audit, True),
        ]
        return [
            Route("/console/login/{token}", self.login_page, methods=["GET"]),
            *(Route(path, g(page, admin=admin), methods=["GET"]) for path, page, admin in pages),
        ]

    def _changes(self) -> list[Route]:
        g = self.guarded
        changes = [
            ("/console/logout", self.logout, False),
            ("/console/language", self.language, False),
            ("/console/campaigns/preview", self.campaign_preview, True),
            ("/console/campaigns/edit", self.campaign_edit, True),
            ("/console/campaigns/create", self.campaign_create, True),
            ("/console/campaigns/{id}/{action:str}", self.campaign_change, True),
            ("/console/questions/{id}/{to:str}", self.question_mark, False),
            ("/console/exports/flow", self.export_flow, True),
            ("/console/exports/session", self.export_session, True),
            ("/console/exports/panel", self.export_panel, True),
            ("/console/exports/person-level", self.export_person, True),
            ("/console/results/prepare", self.results_prepare, True),
            ("/console/results/confirm", self.results_confirm, True),
            ("/console/groups", self.group_create, True),
            ("/console/groups/{name}/invite", self.group_invite, True),
        ]
        return [
            Route("/console/login", self.login, methods=["POST"]),
            *(
                Route(path, g(change, admin=admin, post=True), methods=["POST"])
                for path, change, admin in changes
            ),
        ]


def console_routes(db, settings, bot_username: str) -> list[Route]:
    """The console's routes for the web app of `backbone run`."""
    return Console(db, settings, bot_username).routes()
