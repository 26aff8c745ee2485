"""The staff console's sign-in: one-time login links from /console, browser sessions, CSRF.

Links and cookies carry no authority of their own: only SHA-256 hashes of them are stored,
and every request looks the person's role up again (a revoked staff member is signed out at
their next click). Shared by the chat (/console) and the web pages (bot/web/console_*.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services import staff
from bot.services.context import STAFF_ROLES, Ctx
from storage import console as store
from storage.repo import Database

LOGIN_VALID = timedelta(minutes=10)
SESSION_VALID = timedelta(hours=8)
CONSOLE_LOCALES = ("de", "en")
COOKIE = "backbone_console"


def new_token() -> str:
    """An unguessable token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The session's CSRF token, derived from the cookie (never stored, not in the hash)."""
    return hmac.new(session_token.encode(), b"console-csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, given: str | None) -> bool:
    """Whether a form's CSRF token is this session's (compared in constant time)."""
    return bool(given) and hmac.compare_digest(csrf_token(session_token), given)


def login_url(base_url: str, token: str) -> str:
    """The login link's address."""
    return f"{base_url.rstrip('/')}/console/login/{token}"


def console_locale(locale: str | None, default: str) -> str:
    """The console speaks German and English: the person's language if it is one of them."""
    for choice in (locale, default):
        if choice in CONSOLE_LOCALES:
            return choice
    return "en"


async def console_command(ctx: Ctx, base_url: str | None, now: datetime) -> None:
    """/console — a staff member's one-time login link (10 minutes, works once)."""
    if staff.refuse(ctx):
        return
    t = ctx.t
    if base_url is None:
        ctx.say(t.gettext("The staff console is switched off (BACKBONE_WEB_PORT is 0)."))
        return
    token = new_token()
    await store.add_login(ctx.repo, ctx.participant.id, token_hash(token), now + LOGIN_VALID)
    await ctx.repo.audit(ctx.participant.pseudonym, "console_link_created", {"valid_minutes": 10})
    ctx.say(
        t.gettext(
            "Your login link for the staff console. It works once, within 10 minutes; do not "
            "forward it:\n{link}"
        ).format(link=login_url(base_url, token))
    )


@dataclass(frozen=True)
class Staffer:
    """The signed-in staff member of one request, with the role as of this request."""

    session_id: int
    pseudonym: str
    role: str
    locale: str
    token: str  # the cookie, for the CSRF check

    @property
    def is_admin(self) -> bool:
        """Admins may change things and export; facilitators look."""
        return self.role == "admin"

    @property
    def csrf(self) -> str:
        """This session's CSRF token for the forms."""
        return csrf_token(self.token)


class ConsoleAuth:
    """Login links become browser sessions; each request finds its staff member anew."""

    def __init__(
        self,
        db: Database,
        admin_ids: frozenset[int],
        clock: Callable[[], datetime],
        default_locale: str,
        timezone: str = "Europe/Berlin",
    ) -> None:
        self.db = db
        self.admin_ids = frozenset(admin_ids)
        self.clock = clock
        self.default_locale = default_locale
        self.timezone = timezone
        # Pages shown before anyone is signed in (the login button, refusals).
        self.default_console_locale = console_locale(None, default_locale)

    def _role(self, role: str, telegram_user_id: int | None) -> str:
        return "admin" if telegram_user_id in self.admin_ids else role

    async def redeem(self, token: str) -> str | None:
        """Spend a login link for a new session; the session's cookie, or None (unknown,
        used, expired, or its owner is no longer staff)."""
        now = self.clock()
        async with self.db.transaction() as repo:
            participant_id = await store.use_login(repo, token_hash(token), now)
            if participant_id is None:
                return None
            person = await repo.participant(participant_id)
            role = await repo.current_role(person.pseudonym, self.admin_ids)
            if role not in STAFF_ROLES:
                await repo.audit(person.pseudonym, "console_login_refused", {"reason": "role"})
                return None
            session = new_token()
            locale = console_locale(person.locale, self.default_locale)
            await store.add_session(
                repo, participant_id, token_hash(session), locale, now + SESSION_VALID
            )
            await repo.audit(person.pseudonym, "console_login", {"role": role})
        return session

    async def who(self, session_token: str | None) -> Staffer | None:
        """The staff member behind a cookie right now; None signs the browser out."""
        if not session_token:
            return None
        now = self.clock()
        async with self.db.transaction() as repo:
            signed = await store.signed_in(repo, token_hash(session_token), now)
            if signed is None:
                return None
            role = self._role(signed.role, signed.telegram_user_id)
            if role not in STAFF_ROLES:
                # The role went since the login: this session ends for good.
                await store.end_session(repo, signed.session_id, now)
                await repo.audit(signed.pseudonym, "console_logout", {"reason": "role"})
                return None
        return Staffer(signed.session_id, signed.pseudonym, role, signed.locale, session_token)

    async def logout(self, who: Staffer) -> None:
        """End the browser session."""
        async with self.db.transaction() as repo:
            await store.end_session(repo, who.session_id, self.clock())
            await repo.audit(who.pseudonym, "console_logout", {"reason": "logout"})

    async def set_locale(self, who: Staffer, locale: str) -> bool:
        """Switch the console's language (de or en); False for any other."""
        if locale not in CONSOLE_LOCALES:
            return False
        async with self.db.transaction() as repo:
            await store.set_locale(repo, who.session_id, locale)
        return True
