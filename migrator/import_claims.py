"""Which partition keeps an id that two partition files hold (see `migrator.importer`).

The partition the database already holds an id in keeps it while its file still has it;
otherwise the first file in name order that this run reads keeps it. Settling the first case
may need a file this run has not examined yet: it is read (ids and validity only) once.
"""

from __future__ import annotations

from collections.abc import Mapping

from migrator.adapters.json_store import JsonStore
from migrator.errors import DocumentError, StoreError
from migrator.schemas.codec import validate


class IdClaims:
    """id -> the partition whose file supplied it in this run, and the files examined."""

    def __init__(self, json_store: JsonStore) -> None:
        self.json_store = json_store
        self.id_key = json_store.schema.id_key
        self.claims: dict[str, str] = {}
        #: Partitions whose records this run has examined (their valid ids are in `claims`).
        self.examined: set[str] = set()
        #: Valid ids of partition files read only to settle a conflict.
        self._kept_ids: dict[str, frozenset[str]] = {}

    def claim(self, doc_id: str, partition: str) -> None:
        self.claims[doc_id] = partition

    def get(self, doc_id: str, default: str | None = None) -> str | None:
        return self.claims.get(doc_id, default)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.claims

    def conflict(
        self, partition: str, doc_id: str, owners: Mapping[str, str]
    ) -> DocumentError | None:
        """Why another partition keeps `doc_id`, or None when this one may have it (`owners`:
        the partition the database holds each new id of this file in)."""
        claimant = self.claims.get(doc_id)
        if claimant is not None and claimant != partition:
            return DocumentError(
                f"already in partition {claimant!r} (file {claimant}.json)",
                field=self.id_key,
                doc_id=doc_id,
            )
        owner = owners.get(doc_id)
        if claimant is None and owner not in (None, partition) and self._file_keeps(owner, doc_id):
            return DocumentError(
                f"already in partition {owner!r}, whose file still has it",
                field=self.id_key,
                doc_id=doc_id,
            )
        return None

    def _file_keeps(self, partition: str, doc_id: str) -> bool:
        """Whether `partition`'s file holds a valid record `doc_id` (it keeps the id then)."""
        if partition in self.examined:
            return False  # its valid records are claimed already, and this id is not
        if partition not in self._kept_ids:
            self._kept_ids[partition] = self._valid_ids(partition)
        return doc_id in self._kept_ids[partition]

    def _valid_ids(self, partition: str) -> frozenset[str]:
        try:
            records = self.json_store.read_partition(partition)
        except StoreError:  # not a JSON array, unreadable, or a name no file can have
            return frozenset()
        schema, seen, valid = self.json_store.schema, set(), set()
        for record in records:
            doc_id = record.get(self.id_key) if isinstance(record, dict) else None
            if not isinstance(doc_id, str) or doc_id in seen:
                continue
            seen.add(doc_id)
            try:
                validate(schema, record)
            except DocumentError:
                continue
            valid.add(doc_id)
        return frozenset(valid)
