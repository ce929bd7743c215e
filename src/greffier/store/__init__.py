"""Storage. SQLite by default; every SQL statement of the project lives in this package."""
