"""results sent back to the people who took part (issue 11)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Two new tables only: nothing existing is altered (no SQLite table copy).
    op.create_table(
        "result_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("quiet_start", sa.String(length=5), nullable=False),
        sa.Column("quiet_end", sa.String(length=5), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_result_sends_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["poll_sessions.id"],
            name=op.f("fk_result_sends_session_id_poll_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_sends")),
    )
    op.create_index(op.f("ix_result_sends_campaign_id"), "result_sends", ["campaign_id"])
    op.create_index(op.f("ix_result_sends_session_id"), "result_sends", ["session_id"])
    op.create_table(
        "result_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("send_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["result_sends.id"],
            name=op.f("fk_result_deliveries_send_id_result_sends"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_result_deliveries_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_deliveries")),
        sa.UniqueConstraint("send_id", "participant_id", name=op.f("uq_result_deliveries_send_id")),
    )
    for column in ("send_id", "participant_id", "due_at", "status"):
        op.create_index(
            op.f(f"ix_result_deliveries_{column}"), "result_deliveries", [column], unique=False
        )


def downgrade() -> None:
    op.drop_table("result_deliveries")
    op.drop_table("result_sends")
