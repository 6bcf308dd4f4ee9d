"""one account per canonical address: users.email_key

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 02:00:00

An account was identified by `lower(email)`; now by `email_key(email)` (app/models/users.py:
NFC, one IDNA form of the domain, full case folding), stored and unique. Existing accounts keep
their address and get its key. Two accounts whose addresses become one under the new form are
reported and the migration stops, changing nothing: merging or renaming accounts is a decision
for a person, never a migration's.
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# The app's own rule: the keys must be the ones the code computes at sign-up and login.
from app.models.users import email_key

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class EmailCollision(Exception):
    """Accounts whose addresses are one canonical address: see the message."""


def _keys(users: Sequence[sa.Row[tuple[int, str]]]) -> dict[str, list[tuple[int, str]]]:
    by_key: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for user_id, email in users:
        by_key[email_key(email)].append((user_id, email))
    return by_key


def _collisions_message(collisions: list[list[tuple[int, str]]]) -> str:
    lines = [
        f"{len(collisions)} group(s) of accounts have addresses that are one address under the "
        "canonical form (docs/accounts.md, 'One address, one account'); nothing was changed:"
    ]
    for accounts in collisions:
        lines.append("  " + ", ".join(f"user {user_id} <{email}>" for user_id, email in accounts))
    lines.append(
        "Decide for each group which account keeps the address, change the others' emails "
        "(or delete them), then run the migration again."
    )
    return "\n".join(lines)


def upgrade() -> None:
    users = op.get_bind().execute(sa.text("SELECT id, email FROM users ORDER BY id")).all()
    by_key = _keys(users)
    collisions = [accounts for accounts in by_key.values() if len(accounts) > 1]
    if collisions:
        raise EmailCollision(_collisions_message(collisions))

    op.add_column(
        "users", sa.Column("email_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
    )
    users_table = sa.table("users", sa.column("id", sa.Integer), sa.column("email_key"))
    if by_key:
        op.get_bind().execute(
            users_table.update()
            .where(users_table.c.id == sa.bindparam("user_id"))
            .values(email_key=sa.bindparam("key")),
            [{"user_id": accounts[0][0], "key": key} for key, accounts in by_key.items()],
        )
    op.drop_index("uq_users_email_lower", table_name="users")
    # SQLite recreates the table for this (the migrations' own connection does not enforce
    # foreign keys, so no cascade runs); it must keep AUTOINCREMENT.
    with op.batch_alter_table("users", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column(
            "email_key", existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=False
        )
        batch.create_unique_constraint(op.f("uq_users_email_key"), ["email_key"])


def downgrade() -> None:
    with op.batch_alter_table("users", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("uq_users_email_key"), type_="unique")
        batch.drop_column("email_key")
    op.create_index(
        "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True
    )
