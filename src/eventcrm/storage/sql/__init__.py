"""The SQL storage adapter: SQLAlchemy 2 Core over SQLite (aiosqlite) or PostgreSQL (asyncpg)."""
