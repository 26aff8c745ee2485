"""Persistence: SQLAlchemy models, unit of work, read queries and Alembic migrations."""
