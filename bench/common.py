"""Pieces both benchmarks need."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class BenchError(Exception):
    """The run itself broke; the benchmark has no figures to show."""


async def pg_admin(url: str, sql: str) -> None:
    """Run one administrative statement (CREATE/DROP DATABASE) on a PostgreSQL server."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_in_workdir(prefix: str, args: argparse.Namespace, bench: Callable[[Path], str]) -> int:
    """Run `bench` in a fresh temp dir and print its figures; exit status 0, or 1 when the run
    itself broke. The dir is kept (for the bot's log) then, with --keep, or when the run set
    `args.keep` because the bot logged a traceback."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        print(bench(workdir))
        return 0
    except BenchError as exc:
        args.keep = True
        print(f"benchmark broke: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def anchor_process(module: str, api: str, token: str, log: Path) -> Iterator[subprocess.Popen]:
    """`python -m <module> --api API --token TOKEN` (an anchor bot), its output in `log`;
    stopped (SIGTERM, then SIGKILL after 15 s) on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--api", api, "--token", token],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
