"""`python -m app.demo`: demo data for clicking around in Swagger (app/cli/demo.py)."""

from app.cli.demo import main

if __name__ == "__main__":
    raise SystemExit(main())
