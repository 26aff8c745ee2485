"""The fake Bot API's webhook: setWebhook checked like Telegram, deliveries with the secret
header, retries until a 2XX, per-chat order, 409 for getUpdates while a webhook is set."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.fakebot import FakeBotAPI

TOKEN = "123456:TEST-token"


class Receiver:
    """A tiny webhook endpoint: records each POST; answers an update listed in `refuse`
    with its statuses in turn, then (and everything else) with 200."""

    def __init__(self, refuse: dict[int, list[int]] | None = None, delay: float = 0.0) -> None:
        self.refuse = {uid: list(codes) for uid, codes in (refuse or {}).items()}
        self.delay = delay
        self.posts: list[tuple[float, dict, dict]] = []  # (time, headers, update)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                with lock:
                    update = json.loads(body)
                    receiver.posts.append((time.monotonic(), dict(self.headers), update))
                    codes = receiver.refuse.get(update["update_id"])
                    status = codes.pop(0) if codes else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        lock = threading.Lock()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()


@pytest.fixture
def server():
    srv = FakeBotAPI(token=TOKEN).start()
    srv.webhook.retry_delay = 0.05
    try:
        yield srv
    finally:
        srv.stop()
    assert srv.spec_violations == []


def call(server: FakeBotAPI, method: str, **params) -> dict:
    return httpx.post(f"{server.url}/bot{TOKEN}/{method}", json=params, timeout=10).json()


def wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"url": "http://bot.example.org/hook"}, "HTTPS URL must be provided"),
        ({"url": "https://bot.example.org:9999/hook"}, "ports 80, 88, 443 or 8443"),
        ({"url": "https://bot.example.org/h", "secret_token": "has space"}, "unallowed"),
        ({"url": "https://bot.example.org/h", "secret_token": "x" * 257}, "unallowed"),
        ({"url": "https://bot.example.org/h", "max_connections": 0}, "max_connections"),
        ({"url": "https://bot.example.org/h", "max_connections": 101}, "max_connections"),
        ({"url": "https://bot.example.org/h", "drop_pending_updates": "yes"}, "Boolean"),
    ],
)
def test_set_webhook_is_checked_like_telegram(server, params, says):
    answer = call(server, "setWebhook", **params)
    assert answer["ok"] is False and says in answer["description"]
    assert server.errors and server.errors[-1].method == "setWebhook"
    assert call(server, "getWebhookInfo")["result"]["url"] == ""


def test_delivery_with_secret_retries_in_order_and_409_for_get_updates(server):
    lea, ali = server.user(1, "Lea"), server.user(2, "Ali")
    first = lea.send("eins")
    second = lea.send("zwei")
    other = ali.send("hallo")
    receiver = Receiver(refuse={first: [500, 403]})
    try:
        ok = call(server, "setWebhook", url=receiver.url, secret_token="s3cr-t_", max_connections=5)
        assert ok == {"ok": True, "result": True}
        wait(lambda: server.updates_pending() == 0 and not server.webhook.in_flight())
        wait(lambda: all(server.update_confirmed(u) for u in (first, second, other)))

        ids = [u["update_id"] for _t, _h, u in receiver.posts]
        assert all(
            h["X-Telegram-Bot-Api-Secret-Token"] == "s3cr-t_" for _t, h, _u in receiver.posts
        )
        # Lea's first update was refused twice and sent again; hers stay in order, and Ali's
        # did not wait for hers.
        lea_ids = [i for i in ids if i in (first, second)]
        assert lea_ids == [first, first, first, second]
        assert ids.index(other) < ids.index(second)
        assert server.times_delivered(first) == 3
        info = call(server, "getWebhookInfo")["result"]
        assert info["url"] == receiver.url and info["pending_update_count"] == 0
        assert info["max_connections"] == 5
        assert "403" in info["last_error_message"]

        conflict = call(server, "getUpdates", timeout=0)
        assert conflict["error_code"] == 409 and "webhook is active" in conflict["description"]
        assert server.errors[-1].method == "getUpdates"
        server.clear_records()

        # Deleted: what comes now waits for getUpdates.
        assert call(server, "deleteWebhook")["result"] is True
        later = lea.send("drei")
        time.sleep(0.3)
        assert len(receiver.posts) == 5
        got = call(server, "getUpdates", timeout=0)["result"]
        assert [u["update_id"] for u in got] == [later]
        assert server.errors == []
    finally:
        receiver.close()


def test_a_dead_endpoint_loses_nothing(server):
    dead = Receiver()
    url = dead.url
    dead.close()
    dead.http.server_close()
    lea = server.user(1, "Lea")
    update = lea.send("eins")
    call(server, "setWebhook", url=url)
    wait(lambda: len(server.webhook.attempts) >= 2)  # connection refused, and again
    assert not server.update_confirmed(update)
    assert all(a.status is None for a in server.webhook.attempts)
    assert call(server, "getWebhookInfo")["result"]["pending_update_count"] == 1

    alive = Receiver()
    try:
        call(server, "setWebhook", url=alive.url)
        wait(lambda: server.update_confirmed(update))
        assert [u["update_id"] for _t, _h, u in alive.posts] == [update]
        assert "X-Telegram-Bot-Api-Secret-Token" not in alive.posts[0][1]  # none was set
    finally:
        alive.close()
