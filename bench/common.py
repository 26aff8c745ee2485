"""Pieces both benchmarks need."""

from __future__ import annotations


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
