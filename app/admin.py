"""`python -m app.admin promote|demote EMAIL`: make or unmake an admin (app/cli/admin.py)."""

from app.cli.admin import main

if __name__ == "__main__":
    raise SystemExit(main())
