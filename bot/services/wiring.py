"""The composition of the chat side: one dispatcher, one router per area."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from bot.services.campaign_chat import CampaignChat
from bot.services.catalog import FlowCatalog
from bot.services.context import NOTICE_VERSION, Config
from bot.services.dispatch import Dispatcher
from bot.services.polls import PollDesk
from bot.services.routers.account import Account
from bot.services.routers.campaigns import Campaigns
from bot.services.routers.console import Console
from bot.services.routers.interviews import Interviews, MediaStore
from bot.services.routers.onboarding import Onboarding
from bot.services.routers.polls import Polls
from bot.services.routers.questions import Questions
from bot.services.routers.results import Results
from bot.services.routers.staff import Staff
from storage.models import utcnow
from storage.repo import Database

__all__ = ["NOTICE_VERSION", "build_dispatcher", "make_config", "register_routers"]


def build_dispatcher(
    db: Database, catalog: FlowCatalog, *, media: MediaStore | None = None, **settings
) -> Dispatcher:
    """The dispatcher with every router registered; `settings` as `make_config` takes them."""
    dispatcher = Dispatcher(db, make_config(**settings))
    register_routers(dispatcher, catalog, media)
    return dispatcher


def make_config(
    *,
    default_locale: str = "de",
    timezone: str = "Europe/Berlin",
    text_merge_seconds: float = 3.0,
    clock: Callable[[], datetime] = utcnow,
    admin_ids: frozenset[int] = frozenset(),
    notice_version: str = NOTICE_VERSION,
    media_dir: Path = Path("data/media"),
    delete_mode: str = "erase",
    min_cell_size: int = 5,
) -> Config:
    """The shared settings of the dispatcher and its routers."""
    return Config(
        default_locale=default_locale,
        timezone=timezone,
        merge_window=timedelta(seconds=text_merge_seconds),
        clock=clock,
        admin_ids=frozenset(admin_ids),
        notice_version=notice_version,
        media_dir=Path(media_dir),
        delete_mode=delete_mode,
        min_cell_size=min_cell_size,
    )


def register_routers(dispatcher: Dispatcher, catalog: FlowCatalog, media: MediaStore | None):
    """Register the routers of every area with `dispatcher`."""
    config = dispatcher.config
    interviews = Interviews(dispatcher, catalog, media)
    routers = (
        interviews,
        Onboarding(dispatcher, interviews),
        Account(dispatcher, interviews),
        Staff(dispatcher),
        Console(dispatcher),
        Polls(dispatcher, PollDesk(catalog.directory, config.clock, config.min_cell_size)),
        Results(dispatcher, catalog),
        Questions(dispatcher),
        Campaigns(dispatcher, CampaignChat(catalog, config.timezone, config.clock), interviews),
    )
    for router in routers:
        router.register()
