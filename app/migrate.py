"""`python -m app.migrate`: upgrade the database to the latest revision (app/cli/migrate.py)."""

from app.cli.migrate import main

if __name__ == "__main__":
    raise SystemExit(main())
