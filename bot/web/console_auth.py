"""The console's sign-in over HTTP: the login link, the session cookie, CSRF, logout, and
the guard every console page goes through (the role is looked up again on each request)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.i18n import Translator, translator
from bot.services.console import COOKIE, SESSION_VALID, ConsoleAuth, Staffer, csrf_ok
from bot.web import console_texts

# Like the projector's headers, but forms may post back to this server.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    # A login link's token must not travel on: addresses go to this server only.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
MAX_FORM = 64 * 1024
Page = Callable[[Request, Staffer], Awaitable[Response]]


def origin_of(url: str) -> str:
    """scheme://host[:port] of an address."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class ConsoleBase:
    """Templates, cookies and the request checks shared by every console page."""

    def __init__(self, auth: ConsoleAuth, public_url: str) -> None:
        self.auth = auth
        self.db = auth.db
        self.public_url = public_url.rstrip("/")
        self.secure = public_url.startswith("https://")
        self.env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=select_autoescape(("html",)),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # --- rendering ---------------------------------------------------------------------
    def t(self, locale: str) -> Translator:
        """The translator of a console page (dates in the bot's time zone)."""
        return translator(locale, self.auth.timezone)

    def render(self, name: str, locale: str, status: int = 200, **context) -> Response:
        """A console page in `locale`, with the console's security headers."""
        t = self.t(locale)
        html = self.env.get_template(name).render(
            lang=locale, text=console_texts.common(t), t=t, **context
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def refused(self, locale: str, message: str, status: int) -> Response:
        """A page that says no (and changes nothing)."""
        return self.render("console_message.html", locale, status=status, message=message)

    def to_login(self, request: Request) -> Response:
        """Not signed in (any more): say so, and drop the cookie."""
        t = self.t(self.auth.default_console_locale)
        answer = self.refused(t.locale, console_texts.signed_out(t), 401)
        answer.delete_cookie(COOKIE, path="/console")
        return answer

    # --- checks ------------------------------------------------------------------------
    def same_origin(self, request: Request) -> bool:
        """A state change must come from our own pages: the browser says so (Sec-Fetch-Site)
        and the Origin, where sent, is this server. ("null" is what a browser sends from a
        page whose referrer policy hides it; only with Sec-Fetch-Site: same-origin.)"""
        site = request.headers.get("sec-fetch-site")
        if site is not None and site != "same-origin":
            return False
        origin = request.headers.get("origin")
        if origin is None or (origin == "null" and site == "same-origin"):
            return True
        ours = {origin_of(self.public_url), origin_of(str(request.base_url))}
        return origin.lower() in ours

    async def form(self, request: Request) -> dict[str, str]:
        """An urlencoded form: the first value of each field (all of them in
        `request.state.multi`); empty when too large."""
        body = await request.body()
        fields = {}
        if len(body) <= MAX_FORM:
            fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        request.state.multi = fields
        return {key: values[0] for key, values in fields.items()}

    def guarded(self, page: Page, *, admin: bool = False, post: bool = False):
        """Wrap a page: signed in with a staff role (checked now), admins only where asked,
        and for a POST the session's CSRF token and our own origin."""

        async def handler(request: Request) -> Response:
            who = await self.auth.who(request.cookies.get(COOKIE))
            if who is None:
                return self.to_login(request)
            t = self.t(who.locale)
            if admin and not who.is_admin:
                return self.refused(who.locale, console_texts.admins_only(t), 403)
            if post:
                request.state.form = await self.form(request)
                token = request.state.form.get("csrf")
                if not self.same_origin(request) or not csrf_ok(who.token, token):
                    return self.refused(who.locale, console_texts.bad_csrf(t), 403)
            return await page(request, who)

        return handler

    # --- sign-in pages -----------------------------------------------------------------
    async def login_page(self, request: Request) -> Response:
        """GET of the link: a button that signs in. Opening the link spends nothing, so a
        link preview (Telegram fetches links) cannot use it up."""
        t = self.t(self.auth.default_console_locale)
        return self.render(
            "console_login.html",
            t.locale,
            token=request.path_params["token"],
            login=console_texts.login(t),
        )

    async def login(self, request: Request) -> Response:
        """POST: spend the link, set the cookie, go to the dashboard (the link's token does
        not stay in the address bar)."""
        t = self.t(self.auth.default_console_locale)
        if not self.same_origin(request):
            return self.refused(t.locale, console_texts.bad_csrf(t), 403)
        token = (await self.form(request)).get("token", "")
        session = await self.auth.redeem(token) if token else None
        if session is None:
            return self.refused(t.locale, console_texts.bad_link(t), 403)
        answer = RedirectResponse("/console/", status_code=303, headers=HEADERS)
        answer.set_cookie(
            COOKIE,
            session,
            max_age=int(SESSION_VALID.total_seconds()),
            path="/console",
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )
        return answer

    async def logout(self, request: Request, who: Staffer) -> Response:
        """POST: end the session, drop the cookie."""
        await self.auth.logout(who)
        t = self.t(who.locale)
        answer = self.refused(who.locale, console_texts.logged_out(t), 200)
        answer.delete_cookie(COOKIE, path="/console")
        return answer

    async def language(self, request: Request, who: Staffer) -> Response:
        """POST: switch between German and English; back to the page it came from."""
        await self.auth.set_locale(who, request.state.form.get("locale", ""))
        back = request.state.form.get("back", "/console/")
        if not back.startswith("/console/") or back.startswith("//"):
            back = "/console/"
        return RedirectResponse(back, status_code=303, headers=HEADERS)
