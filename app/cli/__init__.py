"""Command-line entry points: `python -m app.serve`, `app.migrate`, `app.demo`, `app.admin`."""
