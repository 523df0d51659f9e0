"""Application shell: settings, database engine, app factory, runtime wiring and the CLI."""
