"""SPSS/Stata export benchmark: `.sav` and `.dta` of N answers beside the CSV of the same rows.

    python -m bench.export_stats [--answers 20000,100000] [--repeat 3] [--keep]

The database is seeded like bench.export (one real run of the shipped `school-survey` flow,
copied by plain SQL until there are N answers). Then, taking turns --repeat times, each as a
user runs it (a new process, start-up included), wall time and peak memory (ru_maxrss):

- `backbone export --flow school-survey -o out.csv` (wide: one row per run), the anchor;
- the same to out.sav and out.dta (one row per run: the same rows);
- `backbone export panel` of the same flow to .csv, .sav and .dta (one row per person; here
  every person has one run, so the same rows again).

Targets: a statistics file within 3x its CSV, and flat memory: the rows are spooled on disk
and streamed into the file (storage/stats_*.py), so the peak memory of the larger size must
be that of the smaller one, within a few MB.
Exit status 0 unless the run itself broke.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from bench.common import run_in_workdir
from bench.export import FLOW, copy_run, real_run, sizes, timed
from storage.migrate import upgrade

TARGET = 3.0


def one_size(workdir: Path, answers: int, repeat: int) -> dict:
    """Seed `answers` answers, then time the CSV and statistics exports."""
    path = workdir / f"bench-{answers}.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    run_id = asyncio.run(real_run(url))
    started = time.perf_counter()
    copy_run(path, run_id, answers)
    seeded = time.perf_counter() - started
    env = {**os.environ, "BACKBONE_DATABASE_URL": url, "BACKBONE_DATA_DIR": str(workdir)}
    flow = [sys.executable, "-m", "bot", "export", "--flow", FLOW, "--force", "-o"]
    panel = [sys.executable, "-m", "bot", "export", "panel", "--flow", FLOW, "--force", "-o"]
    commands = {
        "csv": [*flow, str(workdir / "out.csv")],
        "sav": [*flow, str(workdir / "out.sav")],
        "dta": [*flow, str(workdir / "out.dta")],
        "panel csv": [*panel, str(workdir / "panel.csv")],
        "panel sav": [*panel, str(workdir / "panel.sav")],
        "panel dta": [*panel, str(workdir / "panel.dta")],
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            runs[name].append(timed(argv, None, env, 0))
    figures: dict = {"answers": answers, "seed": seeded}
    for name, measured in runs.items():
        figures[name] = (min(w for w, _ in measured), max(m for _, m in measured))
    return figures


def report(results: list[dict]) -> str:
    """The figures as a table, each statistics file against its CSV."""
    lines = ["answers    export       wall s  peak MB  vs CSV"]
    for r in results:
        for name in ("csv", "sav", "dta", "panel csv", "panel sav", "panel dta"):
            wall, peak = r[name]
            anchor = r["panel csv" if name.startswith("panel") else "csv"][0]
            ratio = "" if name.endswith("csv") else f"{wall / anchor:5.2f}×"
            lines.append(f"{r['answers']:>9,}  {name:<11} {wall:7.2f}  {peak:7.0f}  {ratio}")
    lines.append(
        f"(each `backbone export …` in a new process, the fastest of --repeat runs taking "
        f"turns; peak = its ru_maxrss; target ≤ {TARGET:g}× CSV)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every size, then print the table."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.export_stats", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--answers", type=sizes, default=[20_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each command; the fastest")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args(argv)

    def bench(workdir: Path) -> str:
        return report([one_size(workdir, n, args.repeat) for n in args.answers])

    return run_in_workdir("bench-export-stats-", args, bench)


if __name__ == "__main__":
    raise SystemExit(main())
