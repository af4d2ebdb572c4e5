"""Alembic's environment script: migrator keeps the logic in `migrator.schema_migrations`."""

from migrator.schema_migrations.environment import run_environment

run_environment()
