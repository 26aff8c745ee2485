"""retention periods: identity links and media of finished runs deleted after a time (issue 11)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain nullable column: SQLite adds it in place, no table is copied (see 0005).
    op.add_column("campaigns", sa.Column("retain_identity_months", sa.Integer(), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) drops a column without an index on it in place.
    op.drop_column("campaigns", "retain_identity_months")
