"""finer statistics on posts.title, for search plans

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:30:00

PostgreSQL estimates how many titles contain a word from a sample of titles; with the default
sample a common word can look rare, and the planner then reads every matching row through the
trigram index instead of walking the feed index until a page is full. A larger sample (1000
histogram entries instead of 100) keeps the estimates right. Nothing changes on SQLite.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE posts ALTER COLUMN title SET STATISTICS 1000")
        op.execute("ANALYZE posts")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE posts ALTER COLUMN title SET STATISTICS -1")
