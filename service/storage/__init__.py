"""The node's PostgreSQL: pool, migrations and the repository (the SQL over the entity store)."""
