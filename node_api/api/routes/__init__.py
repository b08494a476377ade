"""Route modules of the REST API (plain `def` routes: chain, database and store calls block)."""
