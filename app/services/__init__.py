"""Use cases: plain async functions, the session first, one explicit commit each."""
