"""The webhook route: Telegram's POST of one update, checked before anything is read.

No telegram import here (bot/telegram/webhook.py does the handling): the route checks the
secret header in constant time (wrong or missing: 403, nothing read or stored) and the body
size (413), then awaits the intake, whose status is the answer — 200 only once committed.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes; a message is at most 4096 characters.
MAX_UPDATE_BYTES = 1024 * 1024
# A refused request is logged at most this often (a proxy dropping the header shows up;
# someone probing the address cannot fill the log).
REFUSAL_LOG_EVERY = 60.0


class Webhook(Protocol):
    """What the route needs from the intake."""

    path: str

    def secret_ok(self, given: str | None) -> bool: ...

    async def receive(self, body: bytes) -> int: ...


def webhook_route(hook: Webhook) -> Route:
    """POST <the webhook URL's path>: one update from Telegram."""

    last_logged = [float("-inf")]

    async def endpoint(request: Request) -> Response:
        if not hook.secret_ok(request.headers.get(SECRET_HEADER)):
            now = time.monotonic()
            if now - last_logged[0] >= REFUSAL_LOG_EVERY:
                last_logged[0] = now
                missing = SECRET_HEADER not in request.headers
                log.warning(
                    "webhook: refused an update request %s the secret token (403)",
                    "without" if missing else "with a wrong",
                )
            return Response(status_code=403)
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_UPDATE_BYTES:
            return Response(status_code=413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPDATE_BYTES:
                return Response(status_code=413)
        return Response(status_code=await hook.receive(bytes(body)))

    return Route(hook.path, endpoint, methods=["POST"])
