"""live polls

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "poll_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("facilitator_id", sa.Integer(), nullable=True),
        sa.Column("facilitator_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agenda", sa.JSON(), nullable=True),
        sa.Column("agenda_position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["facilitator_id"],
            ["participants.id"],
            name=op.f("fk_poll_sessions_facilitator_id_participants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_sessions")),
        sa.UniqueConstraint("code", name=op.f("uq_poll_sessions_code")),
    )
    with op.batch_alter_table("poll_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_poll_sessions_facilitator_id"), ["facilitator_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_poll_sessions_status"), ["status"], unique=False)

    op.create_table(
        "polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=True),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("results_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("results_message_id", sa.BigInteger(), nullable=True),
        sa.Column("group_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("native_poll_id", sa.String(length=64), nullable=True),
        sa.Column("native_message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["poll_sessions.id"],
            name=op.f("fk_polls_session_id_poll_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
        sa.UniqueConstraint("native_poll_id", name=op.f("uq_polls_native_poll_id")),
    )
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_polls_closes_at"), ["closes_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_polls_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_polls_status"), ["status"], unique=False)

    op.create_table(
        "session_members",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_session_members_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["poll_sessions.id"],
            name=op.f("fk_session_members_session_id_poll_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "participant_id", name=op.f("pk_session_members")),
    )
    with op.batch_alter_table("session_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_members_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("voter_key", sa.String(length=64), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_votes_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["polls.id"], name=op.f("fk_votes_poll_id_polls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_votes")),
        sa.UniqueConstraint("poll_id", "voter_key", name=op.f("uq_votes_poll_id")),
    )
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_votes_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_votes_poll_id"), ["poll_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_votes_poll_id"))
        batch_op.drop_index(batch_op.f("ix_votes_participant_id"))

    op.drop_table("votes")
    with op.batch_alter_table("session_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_members_participant_id"))

    op.drop_table("session_members")
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_polls_status"))
        batch_op.drop_index(batch_op.f("ix_polls_session_id"))
        batch_op.drop_index(batch_op.f("ix_polls_closes_at"))

    op.drop_table("polls")
    with op.batch_alter_table("poll_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poll_sessions_status"))
        batch_op.drop_index(batch_op.f("ix_poll_sessions_facilitator_id"))

    op.drop_table("poll_sessions")
