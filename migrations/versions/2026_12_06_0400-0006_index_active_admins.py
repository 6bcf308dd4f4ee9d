"""index the enabled admins

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 04:00:00

Every change that could leave no enabled admin (demoting, disabling or deleting an account)
locks the enabled admins first; a partial index finds those few rows without scanning users.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE_ADMIN = "is_admin AND NOT disabled"


def upgrade() -> None:
    op.create_index(
        "ix_users_active_admins",
        "users",
        ["id"],
        postgresql_where=sa.text(_ACTIVE_ADMIN),
        sqlite_where=sa.text(_ACTIVE_ADMIN),
    )


def downgrade() -> None:
    op.drop_index("ix_users_active_admins", table_name="users")
