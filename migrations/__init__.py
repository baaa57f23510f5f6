"""Alembic migrations for the metrics store (shipped inside the wheel)."""
