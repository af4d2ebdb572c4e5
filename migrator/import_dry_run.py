"""The dry run's proof: each partition written to an in-memory database is read back and
compared with its file by canonical bytes, then dropped to keep memory to one batch."""

from __future__ import annotations

from typing import Any

from migrator.adapters.sql_store import PartitionWrite, SqlStore
from migrator.errors import DocumentError
from migrator.import_reader import digest


class DryRunCheck:
    """Per partition: id -> (index in the file, digest of the document as read)."""

    def __init__(self, target: SqlStore) -> None:
        self.target = target
        self._digests: dict[str, dict[str, tuple[int, bytes]]] = {}

    def expect(self, partition: str, doc_id: str, index: int, wanted: bytes) -> None:
        self._digests.setdefault(partition, {})[doc_id] = (index, wanted)

    def forget(self, partition: str, doc_id: str) -> None:
        """The database refused `doc_id`: it is rejected, not expected back."""
        self._digests.get(partition, {}).pop(doc_id, None)

    def verify(self, partition: str) -> list[tuple[int, Any, DocumentError]]:
        """Read `partition` back and drop it: (index, document read back or None, why) of each
        document that did not come back as its file has it."""
        expected = self._digests.pop(partition, {})
        stored = self.target.read_partition(partition)
        id_key = self.target.schema.id_key
        lost: list[tuple[int, Any, DocumentError]] = []
        for doc in stored:
            index, wanted = expected.pop(doc[id_key], (-1, b""))
            if index >= 0 and digest(doc) != wanted:
                reason = "differs once read back from the database (the mapping lost something)"
                lost.append((index, doc, DocumentError(reason, doc_id=doc[id_key])))
        for doc_id, (index, _) in expected.items():
            error = DocumentError("missing once written to the database", doc_id=doc_id)
            lost.append((index, None, error))
        ids = [doc[id_key] for doc in stored]
        self.target.write_partitions([PartitionWrite(partition, [], delete_ids=ids)])
        return lost
