"""The PostgreSQL implementation of the stores (``database_url`` set): the same protocols
and records as SQLite's; only what SQL cannot say the same way on both lives here."""
