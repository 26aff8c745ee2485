"""Run a flow in the terminal with the real engine: what staff use to try a flow file."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import IO

from flows import engine
from flows.engine import (
    Accepted,
    ButtonInput,
    Context,
    Input,
    PhotoInput,
    Prompt,
    Rejected,
    RunState,
    TextInput,
    Turn,
    VoiceInput,
)
from flows.model import Flow

BACK = "/back"
QUIT = "/quit"
SKIP = "/skip"
HELP = "/help"
PAUSE = "/pause"
# What the preview knows of the chat's commands: none of them is ever taken as an answer.
HELP_TEXT = (
    f"   {BACK} = the previous question, {SKIP} = skip an optional one, {PAUSE} = pause "
    f"(in Telegram the person carries on later), {QUIT} = stop, 'voice' / 'photo' = send one"
)


def run_preview(
    flow: Flow,
    locale: str,
    hint: Callable[[Rejected, str], str],
    stdin: IO[str] = sys.stdin,
    stdout: IO[str] = sys.stdout,
    first_name: str = "Alex",
) -> RunState:
    """Run `flow` on stdin/stdout; prints the answers as JSON at the end and returns the state.

    Type a number to press that button (on a scale, the number itself), any other text to
    answer, `voice` / `photo` to simulate a voice note / photo, `/skip`, `/back`, `/quit`.
    """
    ctx = Context(locale=locale, first_name=first_name)

    def say(text: str = "") -> None:
        print(text, file=stdout)

    say(f"== {flow.text('title', locale)} ({flow.id}, version {flow.version}, {locale}) ==")
    say(HELP_TEXT)
    say()
    turn = engine.start(flow, ctx)
    state = turn.state
    _show_turn(turn, say)
    while not state.finished and state.current is not None:
        stdout.write("> ")
        stdout.flush()
        line = stdin.readline()
        if not line:  # end of piped input
            say()
            break
        line = line.strip()
        if line == QUIT:
            break
        current = engine.prompt(flow, state, ctx)
        if current is None:  # pragma: no cover - loop condition guards this
            break
        if line.startswith("/") and line != SKIP:
            state = _command(flow, state, line, current, ctx, say)
            continue
        result = engine.accept(flow, state, _to_input(line, current), ctx)
        if isinstance(result, Rejected):
            say(_explain(result, locale, hint))
            _show_prompt(current, say)
            continue
        state = _apply(flow, state, line, current, result, ctx, say)
    say("-- answers --")
    say(json.dumps(state.answers, ensure_ascii=False, indent=2, sort_keys=False))
    return state


def _command(
    flow: Flow,
    state: RunState,
    line: str,
    current: Prompt,
    ctx: Context,
    say: Callable[[str], None],
) -> RunState:
    """/back, /help, /pause or an unknown command: never an answer; shows where one is."""
    command = line.split()[0].lower()
    if command == BACK:
        if not state.history:
            say("(this is the first question: there is nothing to go back to)")
            _show_prompt(current, say)
            return state
        turn = engine.back(flow, state, ctx)
        _show_turn(turn, say)
        return turn.state
    if command == HELP:
        say(HELP_TEXT)
    elif command == PAUSE:
        say("(paused: in Telegram the person carries on later with /resume or any message)")
    else:
        say(f"(unknown command {command}; {HELP} lists the ones the preview knows)")
    say()
    _show_prompt(current, say)
    return state


def _apply(
    flow: Flow,
    state: RunState,
    line: str,
    current: Prompt,
    result: Accepted,
    ctx: Context,
    say: Callable[[str], None],
) -> RunState:
    """Store a toggle or submit an answer; returns the new state after showing it."""
    inp = _to_input(line, current)
    if isinstance(inp, ButtonInput) and inp.action.startswith(engine.TOG):
        state = engine.toggle(flow, state, inp.action.removeprefix(engine.TOG))
        new_prompt = engine.prompt(flow, state, ctx)
        if new_prompt is not None:
            _show_prompt(new_prompt, say)
        return state
    turn = engine.submit(flow, state, result.value, ctx)
    _show_turn(turn, say)
    return turn.state


def _explain(rejected: Rejected, locale: str, hint: Callable[[Rejected, str], str]) -> str:
    # The flow's own reprompt says it best, except for length problems it does not know of.
    reprompt = rejected.params.get("reprompt")
    if reprompt and rejected.reason != engine.TOO_LONG:
        return f"! {reprompt}"
    return f"! {hint(rejected, locale)}"


def _to_input(line: str, current: Prompt) -> Input:
    buttons = _numbered(current)
    if line == SKIP:
        return ButtonInput(engine.SKIP)
    if current.expects == "voice" and line.lower() == "voice":
        return VoiceInput("preview-voice", "preview-voice", duration=5, mime_type="audio/ogg")
    if current.expects == "photo" and line.lower() == "photo":
        return PhotoInput("preview-photo", "preview-photo", width=1280, height=960)
    if line.isdigit() and current.expects != "scale" and 1 <= int(line) <= len(buttons):
        return ButtonInput(buttons[int(line) - 1].action)
    return TextInput(line)


def _numbered(current: Prompt) -> list[engine.Button]:
    return [button for row in current.buttons for button in row]


def _show_turn(turn: Turn, say: Callable[[str], None]) -> None:
    for message in turn.messages:
        say(message)
        say()
    if turn.prompt is not None:
        _show_prompt(turn.prompt, say)


def _show_prompt(current: Prompt, say: Callable[[str], None]) -> None:
    say(current.text)
    buttons = _numbered(current)
    if current.expects == "scale":
        # a scale's numbers are typed as themselves; only the skip button needs a command
        points = [b.label for b in buttons if b.action != engine.SKIP]
        say("   " + "  ".join(f"[{p}]" for p in points))
        if any(b.action == engine.SKIP for b in buttons):
            say(f"   {SKIP}")
    else:
        for number, button in enumerate(buttons, start=1):
            say(f"   [{number}] {button.label}")
        if current.expects in ("voice", "photo"):
            say(f"   (type '{current.expects}' to send one)")
    say()
