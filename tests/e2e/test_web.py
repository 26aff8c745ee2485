"""The web server inside the real `backbone run`: health checks, the projector link from
/session, the projector page after votes, and the live stream delivering a vote."""

from __future__ import annotations

import json
import queue
import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import BotProcess
from tests.e2e.helpers import act
from tests.e2e.test_polls import join, open_session

pytestmark = pytest.mark.e2e


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web_bot(fake_api, bot_env, tmp_path) -> Iterator[tuple[BotProcess, str]]:
    """A running bot with its web server on a free port, and the server's base URL."""
    port = free_port()
    # These pages count single votes; small cells are hidden in test_results_back.py.
    env = {**bot_env, "BACKBONE_WEB_PORT": str(port), "BACKBONE_MIN_CELL_SIZE": "1"}
    process = BotProcess(fake_api, env, tmp_path)
    process.start()
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.stop()
        assert "Traceback" not in process.log(), process.log()


def projector_url(message_text: str, base: str) -> str:
    """The projector link in the /session reply."""
    found = re.search(re.escape(base) + r"/p/[A-Za-z0-9_-]{32,}", message_text)
    assert found, message_text
    return found.group(0)


class Stream:
    """Reads a server-sent event stream in a thread; `next()` gives the next data event."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue = queue.Queue()
        self.client = httpx.Client(timeout=httpx.Timeout(10, read=30))
        self.thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self.thread.start()

    def _read(self, url: str) -> None:
        try:
            with self.client.stream("GET", url) as answer:
                self.events.put(("status", answer.status_code, time.monotonic()))
                kind = "message"
                for line in answer.iter_lines():
                    if line.startswith("event: "):
                        kind = line[len("event: ") :]
                    elif line.startswith("data: "):
                        self.events.put((kind, json.loads(line[6:]), time.monotonic()))
                        kind = "message"
        except httpx.HTTPError as exc:
            self.events.put(("error", str(exc), time.monotonic()))
        self.events.put(("closed", None, time.monotonic()))

    def next(self, timeout: float = 10) -> tuple[str, object, float]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self.client.close()


def counts(html: str) -> dict[str, int]:
    rows = re.findall(r'<th scope="row" class="label">(.*?)</th>\s*<td class="count">(\d+)', html)
    return {label: int(n) for label, n in rows}


def test_health_projector_link_page_and_live_votes(web_bot, fake_api) -> None:
    bot, base = web_bot
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}

    admin, code = open_session(fake_api)
    reply = next(
        m for m in reversed(admin.messages()) if m.kind != "photo" and "?start=" in m.content
    )
    url = projector_url(reply.content, base)
    assert "Projektor:" in reply.content
    page = httpx.get(url)
    assert page.status_code == 200 and code in page.text and "Runder Tisch" in page.text
    assert "Gleich kommt die nächste Frage." in page.text  # no poll yet, in German
    # Asking again while the session is open gives the same link (a lost link is found again).
    again = act(admin, lambda: admin.send("/session Noch eine"), "/session end")
    assert projector_url(again.content, base) == url

    anna = join(fake_api, 601, code)
    ben = join(fake_api, 602, code)
    # A participant cannot open a session, so gets no projector link either.
    refusal = act(anna, lambda: anna.send("/session Meins"), lambda m: True)
    assert "/p/" not in refusal.content and "Projektor" not in refusal.content
    act(admin, lambda: admin.send("/poll Was zuerst? | Praktika | Mentoring"), "Was zuerst?")
    anna.wait_for("Was zuerst?")
    ben.wait_for("Was zuerst?")
    anna.wait_callback_answer(anna.press("Praktika"))
    page = httpx.get(url).text
    assert counts(page) == {"Praktika": 1, "Mentoring": 0}
    assert "2 Personen dabei" in page and "1 Stimme" in page

    stream = Stream(f"{url}/events")
    try:
        assert stream.next()[:2] == ("status", 200)
        kind, first, _ = stream.next()
        assert kind == "message" and counts(first["html"]) == {"Praktika": 1, "Mentoring": 0}
        voted = time.monotonic()
        ben.wait_callback_answer(ben.press("Mentoring"))
        kind, second, arrived = stream.next()
        assert counts(second["html"]) == {"Praktika": 1, "Mentoring": 1}
        # Pushed within a second of the vote (the stream looks every 0.5 s).
        assert arrived - voted < 1.0
        act(admin, lambda: admin.send("/session end"), "Runder Tisch")
        kinds = [stream.next()[0]]
        while kinds[-1] not in ("end", "closed"):
            kinds.append(stream.next()[0])
        # Perhaps one more view (the poll closed first), then the end; the page reloads.
        assert kinds[-1] == "end", kinds
    finally:
        stream.close()
    # Closed session: the link is gone, and the page says nothing about it.
    gone = httpx.get(url)
    assert gone.status_code == 404 and "Runder Tisch" not in gone.text
    assert httpx.get(f"{url}x").status_code == 404


def test_sigterm_with_a_stream_open_stops_cleanly(web_bot, fake_api) -> None:
    bot, base = web_bot
    admin, _ = open_session(fake_api)
    reply = next(
        m for m in reversed(admin.messages()) if m.kind != "photo" and "?start=" in m.content
    )
    stream = Stream(projector_url(reply.content, base) + "/events")
    try:
        assert stream.next()[:2] == ("status", 200)
        started = time.monotonic()
        bot.stop()
        assert bot.proc.returncode == 0, bot.log()
        assert time.monotonic() - started < 10
    finally:
        stream.close()


def test_web_port_off_means_no_server_and_no_link(bot, fake_api) -> None:
    admin, _ = open_session(fake_api)
    reply = next(
        m for m in reversed(admin.messages()) if m.kind != "photo" and "?start=" in m.content
    )
    assert "/p/" not in reply.content and "Projektor" not in reply.content


def test_a_taken_port_is_a_clear_startup_error(fake_api, bot_env, tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        process = BotProcess(fake_api, {**bot_env, "BACKBONE_WEB_PORT": str(port)}, tmp_path)
        with pytest.raises(AssertionError, match="exited early"):
            process.start()
        process.proc.wait(10)
        assert process.proc.returncode != 0
        assert f"cannot listen on 127.0.0.1:{port}" in process.log()
        assert "Traceback" not in process.log()
