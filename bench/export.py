"""Export benchmark: `backbone export` of N answers against `sqlite3 -csv` of the same rows.

    python -m bench.export [--answers 100000,300000,1000000] [--xlsx-answers 100000,...]
                           [--repeat 3] [--keep]

For each size: a fresh SQLite database (migrated with storage.migrate.upgrade) gets one real
run of the shipped `school-survey` flow through the bot's own repository calls (the flow
version, a participant, a run, its seven answers with the wording shown), which plain SQL
then copies as fast as SQLite can (recursive CTEs, INSERT … SELECT) into runs of other
participants until there are N answers; free-text answers get the run id appended so no two
are alike. Then, one after the other in this run:

- the anchor: `sqlite3 -csv -header` of the same answer rows (the same joins, the raw
  columns) into a file;
- `backbone export --flow school-survey --layout long -o out.csv` as a user runs it (a new
  process: start-up included), its wall time and peak memory (the child's ru_maxrss);
- the same as XLSX (sizes in --xlsx-answers), against that CSV.
The commands take turns --repeat times; each figure is the fastest of its runs (the one the
rest of the machine disturbed least), peak memory the highest.

SQLite only: PostgreSQL streams the same query with a server-side cursor, untimed here.
Exit status 0 unless the run itself broke (a command failed, row counts differ).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.common import BenchError, run_in_workdir
from flows.loader import load_flow
from storage.migrate import upgrade
from storage.repo import Database

FLOW_FILE = Path(__file__).resolve().parent.parent / "flows" / "shipped" / "school-survey.yaml"
FLOW = "school-survey"
ANSWERS = (
    ("grade", 9),
    ("strengths", "Zeichnen; und Mathe"),
    ("self_confidence", 4),
    ("career_plan", "training"),
    ("career_field", "Gestaltung"),
    ("support_needs", ["internship", "applications"]),
    ("talked_to_counsellor", True),
)
FREE_TEXT = ("strengths", "career_field")
ANCHOR_SQL = """
SELECT p.pseudonym AS pseudonym, r.id AS run_id, v.flow_id, v.version AS flow_version,
       substr(v.content_hash, 1, 12) AS version_hash, r.locale AS language, r.status,
       r.started_at, r.finished_at, a.step_id, a.value, a.skipped, a.shown_text,
       a.answered_at, a.updated_at, a.revision
FROM runs r JOIN participants p ON p.id = r.participant_id
JOIN flow_versions v ON v.id = r.flow_version_id
JOIN answers a ON a.run_id = r.id
WHERE v.flow_id = 'school-survey' ORDER BY r.id, a.id
"""


async def real_run(url: str) -> int:
    """One run of the shipped flow, stored the way the bot stores it; returns its id."""
    flow = load_flow(FLOW_FILE)
    db = Database(url)
    try:
        async with db.transaction() as repo:
            version = await repo.flow_version(
                flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
            )
            identity = await repo.add_participant(730155501, 730155501, "Jana", "jana_k", "de")
            run = await repo.add_run(identity.participant_id, version.id, "de", {})
            for step_id, value in ANSWERS:
                shown = flow.text(f"{step_id}.text", "de")
                await repo.save_answer(run.id, step_id, value, False, shown, "de")
            run.status = "complete"
            run.finished_at = run.updated_at
            return run.id
    finally:
        await db.dispose()


def copy_run(path: Path, run_id: int, answers: int) -> None:
    """Copy the real run with plain SQL until the database holds `answers` answers."""
    runs = -(-answers // len(ANSWERS)) - 1
    text = ", ".join(f"'{s}'" for s in FREE_TEXT)
    con = sqlite3.connect(path)
    try:
        con.executescript(
            f"""
            PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY; BEGIN;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {runs})
            INSERT INTO participants (pseudonym, locale, stage, role, opted_out, unreachable,
                                      created_at)
            SELECT printf('P-B%07d', i), 'de', 'ready', 'participant', 0, 0, p.created_at
            FROM n, participants p WHERE p.id = (SELECT participant_id FROM runs
                                                 WHERE id = {run_id});
            INSERT INTO runs (participant_id, flow_version_id, locale, status, state,
                              started_at, updated_at, finished_at)
            SELECT p.id, r.flow_version_id, CASE p.id % 3 WHEN 0 THEN 'en' ELSE 'de' END,
                   r.status, r.state, r.started_at, r.updated_at, r.finished_at
            FROM participants p, runs r
            WHERE r.id = {run_id} AND p.pseudonym LIKE 'P-B%' ORDER BY p.id;
            INSERT INTO answers (run_id, step_id, value, skipped, shown_text, locale, revision,
                                 answered_at, updated_at)
            SELECT r.id, a.step_id,
                   CASE WHEN a.step_id IN ({text})
                        THEN json_quote(json_extract(a.value, '$') || ' ' || r.id)
                        ELSE a.value END,
                   a.skipped, a.shown_text, a.locale, a.revision, a.answered_at, a.updated_at
            FROM runs r, answers a WHERE a.run_id = {run_id} AND r.id != {run_id}
            ORDER BY r.id, a.id LIMIT {answers - len(ANSWERS)};
            COMMIT;
            """
        )
        (count,) = con.execute("SELECT count(*) FROM answers").fetchone()
    finally:
        con.close()
    if count != answers:
        raise BenchError(f"seeded {count} answers, wanted {answers}")


def timed(
    argv: list[str], stdout: Path | None = None, env: dict | None = None, status: int = 0
) -> tuple:
    """Run a command that must exit with `status`; (wall seconds, peak resident MB)."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, env=env)
        _, waited, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(waited)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    finally:
        if stdout:
            out.close()
    if proc.returncode != status:
        raise BenchError(f"{argv[0]} … exited {proc.returncode}: {err.strip()[-500:]}")
    return wall, usage.ru_maxrss / 1024


def data_lines(path: Path) -> int:
    """Lines of a CSV file minus its header (no answer here spans lines)."""
    with path.open("rb") as fh:
        return sum(1 for _ in fh) - 1


def one_size(workdir: Path, answers: int, xlsx: bool, repeat: int) -> dict:
    """Seed a database with `answers` answers, then time the anchor and the exports."""
    path = workdir / f"bench-{answers}.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    run_id = asyncio.run(real_run(url))
    started = time.perf_counter()
    copy_run(path, run_id, answers)
    seeded = time.perf_counter() - started
    env = {**os.environ, "BACKBONE_DATABASE_URL": url, "BACKBONE_DATA_DIR": str(workdir)}
    anchor_csv, out_csv = workdir / f"anchor-{answers}.csv", workdir / f"out-{answers}.csv"
    out_xlsx = workdir / f"out-{answers}.xlsx"
    export = [sys.executable, "-m", "bot", "export", "--flow", FLOW, "--layout", "long", "--force"]
    commands = {
        "anchor": (["sqlite3", "-csv", "-header", str(path), ANCHOR_SQL], anchor_csv, None, 0),
        "csv": ([*export, "-o", str(out_csv)], None, env, 0),
        # The fixed cost in that: start-up, imports, the database check (unknown flow, exit 1).
        "start": ([*export[:5], "nope", "-o", str(workdir / "nope.csv")], None, env, 1),
    }
    if xlsx:
        commands["xlsx"] = ([*export, "-o", str(out_xlsx)], None, env, 0)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    # Taking turns, `repeat` times: a busy moment of the machine hits all of them alike.
    for _ in range(repeat):
        for name, (argv, stdout, environ, status) in commands.items():
            runs[name].append(timed(argv, stdout, environ, status))
    if data_lines(out_csv) != answers or data_lines(anchor_csv) != answers:
        raise BenchError(f"row counts differ: {data_lines(out_csv)}, {data_lines(anchor_csv)}")
    # The fastest of each (the least disturbed), and the highest peak memory.
    figures: dict = {"answers": answers, "seed": seeded}
    for name, measured in runs.items():
        figures[name] = (min(w for w, _ in measured), max(m for _, m in measured))
    for name in (anchor_csv, out_csv, out_xlsx, path):
        name.unlink(missing_ok=True)
    return figures


def report(results: list[dict]) -> str:
    """The figures as a table, ratios against the anchor measured in the same run."""
    lines = [
        "answers    seed s  sqlite3 -csv s  export csv s  ratio  peak MB  start s"
        "   xlsx s  xlsx/csv",
    ]
    for r in results:
        (anchor, _), (csv, peak) = r["anchor"], r["csv"]
        xlsx = r.get("xlsx")
        tail = f"{xlsx[0]:8.1f}  {xlsx[0] / csv:7.1f}×" if xlsx else f"{'-':>8}  {'-':>8}"
        lines.append(
            f"{r['answers']:>9,}  {r['seed']:6.1f}  {anchor:14.2f}  {csv:12.2f}  "
            f"{csv / anchor:4.1f}×  {peak:7.0f}  {r['start'][0]:7.2f}  {tail}"
        )
    lines.append(
        "(export: `backbone export --layout long` in a new process, peak = its ru_maxrss; "
        "start = that command's fixed cost, an export of an unknown flow; "
        "each the fastest of --repeat runs taking turns)"
    )
    return "\n".join(lines)


def sizes(text: str) -> list[int]:
    """A comma-separated list of answer counts."""
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__.split("\n")[0])
    ap.add_argument("--answers", type=sizes, default=[100_000, 300_000, 1_000_000])
    ap.add_argument(
        "--xlsx-answers", type=sizes, default=None, help="sizes also as XLSX (default: all)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs of each command; the fastest")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run every size in order, then print the table."""
    args = parse_args(argv)
    xlsx = set(args.answers if args.xlsx_answers is None else args.xlsx_answers)

    def bench(workdir: Path) -> str:
        results = []
        for n in args.answers:
            results.append(one_size(workdir, n, n in xlsx, args.repeat))
            print(report(results[-1:]).splitlines()[1], file=sys.stderr, flush=True)
        return report(results)

    return run_in_workdir("bench-export-", args, bench)


if __name__ == "__main__":
    raise SystemExit(main())
