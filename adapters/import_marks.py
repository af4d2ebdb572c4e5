"""Import marks: each partition file's content hash and document count as of its last import,
what lets a re-import skip a file that did not change. A mark is written in the transaction of
the rows it vouches for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, select

from migrator.adapters.sql_schema import StoreSchema, import_state_table


@dataclass(frozen=True)
class ImportMark:
    """A partition file's content hash and document count, as of its last import."""

    partition: str
    sha256: str
    documents: int
    #: When it was recorded (ISO 8601, UTC); None for a mark not yet written.
    imported_at: str | None = field(default=None, compare=False)


class ImportMarks:
    """The marks of one store's database."""

    def __init__(self, tables: StoreSchema) -> None:
        self.tables = tables

    def all(self) -> dict[str, ImportMark]:
        """partition -> its mark."""
        table = import_state_table
        db = self.tables.db
        with db.errors(), db.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.partition, table.c.sha256, table.c.documents, table.c.imported_at)
            )
            return {p: ImportMark(p, sha, n, at) for p, sha, n, at in rows}

    def forget_all(self) -> None:
        """Forget every import mark: the next import reads every file again."""
        with self.tables.db.errors(), self.tables.write() as conn:
            conn.execute(delete(import_state_table))

    @staticmethod
    def forget(conn: Connection, partition: str) -> None:
        """Forget `partition`'s mark, inside the caller's transaction."""
        conn.execute(delete(import_state_table).where(import_state_table.c.partition == partition))

    @staticmethod
    def record(conn: Connection, mark: ImportMark) -> None:
        """Replace `mark.partition`'s mark, stamped now, inside the caller's transaction."""
        table = import_state_table
        conn.execute(delete(table).where(table.c.partition == mark.partition))
        conn.execute(
            table.insert().values(
                partition=mark.partition,
                sha256=mark.sha256,
                documents=mark.documents,
                imported_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )
