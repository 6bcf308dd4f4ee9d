"""`python -m app.serve`: the production server (app/cli/serve.py)."""

from app.cli.serve import main

if __name__ == "__main__":
    raise SystemExit(main())
