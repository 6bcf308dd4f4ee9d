"""`python -m app.migrate`: wait for the database, then upgrade it to the latest revision.

Run it once per deploy, before the workers start (Render's pre-deploy command, Railway's
pre-deploy step); the app itself migrates only in local development.
"""

from app.core.config import settings
from app.db.migrations import SCHEMA_HEAD, upgrade_to_head, wait_for_database


def main() -> int:
    settings.refuse_unsafe_production()
    wait_for_database(settings.DATABASE_URL, settings.MIGRATE_WAIT_SECONDS)
    upgrade_to_head()
    print(f"database is at the latest revision ({SCHEMA_HEAD})")
    return 0
