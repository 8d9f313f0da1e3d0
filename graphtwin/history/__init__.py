"""Value history behind a small port; SQLite (WAL) is the embedded default."""
