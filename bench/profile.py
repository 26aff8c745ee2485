"""Sample a running bot with py-spy and say where its CPU went (for bench.interview --profile).

py-spy is not a dependency of the project: `pip install py-spy` where you want a profile. It
attaches to the process from outside (no change to the bot, `--nonblocking` so the bot is
never paused) and records collapsed stacks of the thread holding the GIL only (`--gil`),
i.e. Python's CPU, not waiting. SQLAlchemy's async work runs in greenlets, whose stacks
py-spy shows without the frames that called them (rooted at `Session.execute` and the like).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

from bench.common import BenchError

RATE = 200  # samples per second
FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^():]+)(?::\d+)?\)$")
OWN = ("bot", "storage", "flows")  # the project's code, as opposed to libraries
REPO = Path(__file__).resolve().parents[1]
# Packages by what the time went on; a sample counts for the first kind its stack touches.
KINDS = (
    ("database (SQLAlchemy, drivers, storage/)", {"sqlalchemy", "aiosqlite", "asyncpg", "storage"}),
    ("Bot API (PTB, httpx)", {"telegram", "httpx", "httpcore", "h11", "anyio"}),
)


class Sampler:
    """py-spy record on `pid` from start() until stop(); the raw stacks go to `out`."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid, self.out = pid, out
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Attach py-spy to the process (BenchError when py-spy is not installed)."""
        exe = shutil.which("py-spy")
        if exe is None:
            raise BenchError("--profile needs py-spy on PATH (pip install py-spy)")
        self.proc = subprocess.Popen(
            [exe, "record", "--pid", str(self.pid), "--rate", str(RATE), "--format", "raw"]
            + ["--gil", "--nonblocking", "--output", str(self.out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        """Detach; py-spy writes the stacks it collected."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for frame in stack.split(";"):
        m = FRAME.match(frame.strip())
        if m:
            out.append((m["func"], m["file"]))
    return out


def _own_files() -> dict[str, str]:
    """py-spy shortens some of the project's paths to the bare file name: name -> path."""
    found: dict[str, list[str]] = {}
    for package in OWN:
        for path in (REPO / package).rglob("*.py"):
            found.setdefault(path.name, []).append(path.relative_to(REPO).as_posix())
    return {name: paths[0] for name, paths in found.items() if len(paths) == 1}


def _path(file: str, own: dict[str, str]) -> str:
    return own.get(file, file) if "/" not in file else file


def _short(func: str, file: str) -> str:
    return f"{func} ({file})"


def _package(file: str) -> str:
    """The top-level package or module a (shortened) path belongs to."""
    if file.startswith(("/", "<")):  # an absolute path outside sys.path, or <frozen ...>
        return file
    return file.split("/", 1)[0].removesuffix(".py")


def summary(raw: Path, top: int = 15) -> str:
    """Where the samples fall: by package (inclusive), the largest self-time frames, and the
    project's own functions by inclusive time (each counted once per sample)."""
    leaf: Counter[str] = Counter()
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    total = 0
    mine = _own_files()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [(f, _path(p, mine)) for f, p in _frames(stack)]
        if frames:
            leaf[_short(*frames[-1])] += n
        for name in {_short(f, p) for f, p in frames if _package(p) in OWN}:
            own[name] += n
        names = {_package(p) for _f, p in frames}
        for name in names:
            packages[name] += n
        kinds[next((k for k, members in KINDS if names & members), "everything else")] += n
    if not total:
        return "profile: no samples"
    lines = [f"profile: {total} samples at {RATE}/s of the thread holding the bot's GIL"]
    lines.append("  by kind: " + " · ".join(f"{k} {n / total:.0%}" for k, n in kinds.most_common()))
    lines.append("  by package, inclusive (a sample counts for every package on its stack):")
    lines += [f"    {n / total:5.1%}  {name}" for name, n in packages.most_common(top)]
    lines.append("  self time (where the CPU was when sampled):")
    lines += [f"    {n / total:5.1%}  {name}" for name, n in leaf.most_common(top)]
    lines.append("  the project's functions, inclusive:")
    lines += [f"    {n / total:5.1%}  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)
