"""Run the fake Bot API server standalone, for demos:

    python -m tests.fakebot --port 8081 --token 123456:TEST-token [--chat 1001]

Point the bot at it with BACKBONE_TELEGRAM_API_URL=http://127.0.0.1:8081. With --chat, stdin
lines are sent as messages of a simulated person and the bot's messages are printed;
`!press LABEL`, `!voice`, `!photo`, `!doc NAME`, `!quit` do what they say.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from .server import FakeBotAPI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fakebot", description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--token", default="123456:TEST-token")
    ap.add_argument("--username", default="backbone_test_bot")
    ap.add_argument(
        "--spec", default=None, help="path of api.json (default: tests/fakebot/botapi/api.json)"
    )
    ap.add_argument("--chat", type=int, default=None, help="chat interactively as this user id")
    ap.add_argument("--name", default="Lea", help="first name of the interactive user")
    ap.add_argument("--lang", default="de", help="language_code of the interactive user")
    args = ap.parse_args(argv)

    server = FakeBotAPI(
        token=args.token,
        bot_username=args.username,
        spec_path=args.spec,
        host=args.host,
        port=args.port,
    ).start()
    print(f"fake Bot API on {server.url}  (token {args.token})", flush=True)
    print(f"  BACKBONE_TELEGRAM_API_URL={server.url}", flush=True)
    try:
        if args.chat is None:
            _log_forever(server)
        else:
            _interactive(server, args.chat, args.name, args.lang)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _log_forever(server: FakeBotAPI) -> None:
    seen_calls = seen_errors = 0
    while True:
        time.sleep(0.5)
        calls, errors = server.calls, server.errors
        for c in calls[seen_calls:]:
            if c.method != "getUpdates":
                print(f"call  {c.method} {c.params}", flush=True)
        for e in errors[seen_errors:]:
            print(f"REJECTED {e.method}: {e.description}  {e.params}", flush=True)
        seen_calls, seen_errors = len(calls), len(errors)


def _interactive(server: FakeBotAPI, user_id: int, name: str, lang: str) -> None:
    user = server.user(user_id, first_name=name, language_code=lang)
    stop = threading.Event()

    def printer() -> None:
        shown = 0
        seen_errors = 0
        while not stop.is_set():
            lines = user.transcript().splitlines()[1:]
            for line in lines[shown:]:
                if "] bot:" in line or line.startswith(("[toast]", "[alert]")):
                    print(line, flush=True)
            shown = len(lines)
            errors = server.errors
            for e in errors[seen_errors:]:
                print(f"REJECTED {e.method}: {e.description}", flush=True)
            seen_errors = len(errors)
            time.sleep(0.2)

    threading.Thread(target=printer, daemon=True).start()
    try:
        for line in sys.stdin:
            line = line.rstrip("\n")
            if not line:
                continue
            try:
                if line == "!quit":
                    break
                if line.startswith("!press "):
                    user.press(line[len("!press ") :])
                elif line == "!voice":
                    user.send_voice()
                elif line == "!photo":
                    user.send_photo()
                elif line.startswith("!doc "):
                    user.send_document(line[len("!doc ") :], b"demo file\n")
                else:
                    user.send(line)
            except AssertionError as exc:
                print(exc, flush=True)
    finally:
        stop.set()


if __name__ == "__main__":
    sys.exit(main())
