"""questions from the room (issue 10): question_rooms, room_questions, question_upvotes

Hide-results-until-close needs no column: like `show_results` and `timer` it is part of the
poll's stored spec (polls.spec, JSON).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_rooms",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["poll_sessions.id"],
            name=op.f("fk_question_rooms_session_id_poll_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_question_rooms")),
    )
    op.create_table(
        "room_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("author_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["poll_sessions.id"],
            name=op.f("fk_room_questions_session_id_poll_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_questions")),
    )
    for column in ("session_id", "author_key", "status"):
        op.create_index(f"ix_room_questions_{column}", "room_questions", [column], unique=False)
    op.create_table(
        "question_upvotes",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("voter_key", sa.String(length=64), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["room_questions.id"],
            name=op.f("fk_question_upvotes_question_id_room_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", "voter_key", name=op.f("pk_question_upvotes")),
    )


def downgrade() -> None:
    op.drop_table("question_upvotes")
    for column in ("session_id", "author_key", "status"):
        op.drop_index(f"ix_room_questions_{column}", table_name="room_questions")
    op.drop_table("room_questions")
    op.drop_table("question_rooms")
