"""poll_sessions.projector_token: the unguessable address of a session's projector page

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INDEX = "ix_poll_sessions_projector_token"


def upgrade() -> None:
    # A plain nullable column plus a unique index: SQLite's ADD COLUMN takes no UNIQUE, and
    # this way no table is copied (see 0005 for why a copy would cascade).
    op.add_column("poll_sessions", sa.Column("projector_token", sa.String(64), nullable=True))
    op.create_index(_INDEX, "poll_sessions", ["projector_token"], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="poll_sessions")
    # SQLite (3.35+) drops a column without an index on it in place.
    op.drop_column("poll_sessions", "projector_token")
