"""Every store declares the one small interface it implements (issue 20 point 3)."""

from __future__ import annotations

import pytest

from migrator.adapters.base import DocumentStore
from migrator.adapters.dual_write import DualWriteStore
from migrator.adapters.json_store import JsonStore
from migrator.adapters.sql_store import SqlStore

STORES = [JsonStore, SqlStore, DualWriteStore]


@pytest.mark.parametrize("store", STORES, ids=lambda s: s.__name__)
def test_each_store_declares_document_store(store: type) -> None:
    """The protocol is named among the store's bases, so a checker holds it to every method."""
    assert DocumentStore in store.__mro__


@pytest.mark.parametrize("store", STORES, ids=lambda s: s.__name__)
def test_each_store_implements_every_method_itself(store: type) -> None:
    """No method falls back to the protocol's empty body."""
    methods = {"get", "put", "delete", "list", "partitions", "iter_documents", "close"}
    assert {m for m in methods if getattr(store, m) is getattr(DocumentStore, m)} == set()
