"""What `doctor` asks a SQL store: the database's own checks, rows per table, orphan rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, inspect, select

from migrator.adapters.dialects import Check
from migrator.adapters.sql_database import SqlDatabase
from migrator.schemas.declaration import Schema


@dataclass(frozen=True)
class Orphans:
    """Rows of `table` whose `column` names no row of `parent`: how many, and a few values."""

    table: str
    column: str
    parent: str
    rows: int
    sample: tuple[Any, ...]


class HealthQueries:
    """Read-only questions about one database's consistency; none creates a table."""

    def __init__(self, db: SqlDatabase, schema: Schema) -> None:
        self.db = db
        self.schema = schema

    def health_checks(self) -> list[Check]:
        """The database's own consistency checks (the dialect knows which exist)."""
        with self.db.errors(), self.db.engine.connect() as conn:
            return self.db.dialect.health_checks(conn)

    def table_counts(self) -> dict[str, int]:
        """Rows per table of the schema (those that exist), parents first."""
        with self.db.errors(), self.db.engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in self.schema.tables
                if table.name in present
            }

    def orphans(self, *, sample: int = 5) -> list[Orphans]:
        """Rows whose foreign key names no parent row, for each foreign key the schema declares:
        a LEFT JOIN finds them even where the database did not enforce the key."""
        found = []
        with self.db.errors(), self.db.engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for table in self.schema.tables:
                for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
                    child, parent = fk.parent, fk.column
                    if table.name not in present or parent.table.name not in present:
                        continue
                    joined = table.outerjoin(parent.table, child == parent)
                    missing = parent.is_(None) & child.is_not(None)
                    rows = conn.execute(
                        select(func.count()).select_from(joined).where(missing)
                    ).scalar_one()
                    if rows:
                        keys = conn.execute(
                            select(child)
                            .select_from(joined)
                            .where(missing)
                            .distinct()
                            .limit(sample)
                        ).scalars()
                        found.append(
                            Orphans(table.name, child.name, parent.table.name, rows, tuple(keys))
                        )
        return found
