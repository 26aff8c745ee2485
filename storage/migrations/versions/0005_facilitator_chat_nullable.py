"""poll_sessions.facilitator_chat_id may be empty (cleared when the facilitator is deleted)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMN = "facilitator_chat_id"


def _sqlite_set_not_null(not_null: bool) -> None:
    """Change the NOT NULL of the column in place, keeping every row of every table.

    Alembic's batch mode would copy poll_sessions into a new table and drop the old one; with
    foreign keys on (they are, on every connection, and the pragma cannot change inside the
    migration's transaction) that drop cascades and deletes every session's polls, votes and
    members. SQLite documents editing the stored CREATE TABLE for adding or removing NOT NULL
    constraints instead (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of
    Table Schema Changes").
    """
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'poll_sessions'"
    ).scalar_one()
    pattern = rf"(\b{_COLUMN} BIGINT)( NOT NULL)?(?=\s*,)"
    new_sql, count = re.subn(pattern, r"\1 NOT NULL" if not_null else r"\1", sql)
    if count != 1:
        raise RuntimeError(f"unexpected definition of poll_sessions.{_COLUMN}: {sql}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'poll_sessions'",
        (new_sql,),
    )
    # A new schema version makes every connection read the changed definition.
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_set_not_null(False)
    else:
        op.alter_column("poll_sessions", _COLUMN, existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    # A session whose facilitator was deleted has nobody to send results to: 0 says so.
    op.execute(sa.text(f"UPDATE poll_sessions SET {_COLUMN} = 0 WHERE {_COLUMN} IS NULL"))
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_set_not_null(True)
    else:
        op.alter_column("poll_sessions", _COLUMN, existing_type=sa.BigInteger(), nullable=False)
