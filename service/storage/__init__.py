"""The node's PostgreSQL: pool, migrations and every SQL statement (the repository over the
entity store, staff sessions, kiosk tables, import jobs)."""
