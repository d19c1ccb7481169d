"""Running sweeps: grid points as worker processes, results in a SQLite store."""
