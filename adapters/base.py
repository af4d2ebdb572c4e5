"""The one small interface every store offers, whatever holds the documents."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from migrator.schemas.declaration import Schema

Document = dict[str, Any]


@runtime_checkable
class DocumentStore(Protocol):
    """Documents keyed by id, grouped in partitions (a JSON file, a workspace hash)."""

    schema: Schema

    def get(self, doc_id: str) -> Document | None:
        """The document with this id, or None."""

    def put(self, partition: str, doc: Document) -> None:
        """Create or replace the document (by id) in `partition`, atomically."""

    def delete(self, doc_id: str) -> bool:
        """Remove the document; False when there was none."""

    def list(self, partition: str) -> builtins.list[Document]:
        """The partition's documents in stored order ([] for an unknown partition)."""

    def partitions(self) -> builtins.list[str]:
        """Partition names, sorted."""

    def iter_documents(self) -> Iterator[tuple[str, Document]]:
        """Every (partition, document), one partition in memory at a time."""

    def close(self) -> None:
        """Release connections and handles."""
