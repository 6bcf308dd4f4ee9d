"""The database: the engine and its one pool, sessions, the read path, SQL helpers, migrations."""
