"""Load benchmark of the posts API on PostgreSQL: `uv run python -m bench.run`
(see bench/README.md)."""
