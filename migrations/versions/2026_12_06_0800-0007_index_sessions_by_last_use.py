"""index an account's sessions by their last use

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:00:00

A login deletes its account's expired sessions, and the list of devices shows the live ones
newest first: both read an account's sessions by `last_used_at`. With the index on `user_id`
alone, both read every session the account has (a login got slower with each one); this
index, which also serves the foreign key's cascade, replaces it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_sessions_user_id_last_used_at", "sessions", ["user_id", "last_used_at", "id"]
    )
    op.drop_index("ix_sessions_user_id", table_name="sessions")


def downgrade() -> None:
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.drop_index("ix_sessions_user_id_last_used_at", table_name="sessions")
