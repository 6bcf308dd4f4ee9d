"""`python -m app.migrate`: wait for the database, then upgrade it to the latest revision.

Run it once per deploy, before the workers start (Render's pre-deploy command, Railway's
pre-deploy step); the app itself migrates only a new, empty database in local development.
It needs only DATABASE_URL: migrating signs and sends nothing, so no SECRET_KEY nor SMTP.
Every failure ends in a few lines naming the problem and the fix, with exit status 1.
"""

from app.core.config import settings
from app.db.migrations import (
    migration_error_message,
    upgrade_report,
    upgrade_to_head,
    wait_for_database,
)


def main() -> int:
    settings.refuse_unsafe_production(serving=False)
    wait_for_database(settings.DATABASE_URL, settings.MIGRATE_WAIT_SECONDS)
    try:
        applied = upgrade_to_head()
    except Exception as error:  # every failure, in a few lines
        raise SystemExit(f"app.migrate: {migration_error_message(error)}") from None
    print(upgrade_report(applied))
    return 0
