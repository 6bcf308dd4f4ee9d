"""Command-line entry points, run as `python -m app.serve`, `app.migrate`, `app.demo`."""
