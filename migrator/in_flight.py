"""Telling a write in flight from a difference, for validating a live system: how new a
document's version is, and the partition write lock to re-read a document under.

A document's version key (the schema's `version_key`, e.g. `updated_at`) holds an RFC 3339 /
ISO 8601 timestamp that every write refreshes; a document whose version is newer than the
cutoff may be half written, so `validate --min-age` leaves it out. A value that is not such a
timestamp never makes a document in flight: it is compared as usual.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from migrator.adapters.json_store import JsonStore
from migrator.errors import StoreError

logger = logging.getLogger(__name__)

#: How far ahead of this host's clock a version may be and still count as just written.
FUTURE_TOLERANCE = timedelta(seconds=1)


def version_time(value: Any) -> datetime | None:
    """A version key's value as an aware datetime (naive means UTC), or None when it is not
    an RFC 3339 / ISO 8601 timestamp."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().upper())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def cutoff(min_age: float | None) -> datetime | None:
    """`min_age` seconds before now (None without a `min_age`): newer versions are in flight."""
    if min_age is None:
        return None
    try:
        return datetime.now(UTC) - timedelta(seconds=min_age)
    except OverflowError:  # an age beyond the calendar: every timestamp is newer
        return datetime.min.replace(tzinfo=UTC)


def in_flight(doc: Any, version_key: str | None, since: datetime | None) -> bool:
    """Whether `doc`'s version is newer than `since`, and not from the future (`in_future`)."""
    if since is None or version_key is None or not isinstance(doc, dict):
        return False
    moment = version_time(doc.get(version_key))
    return moment is not None and moment > since and not _ahead(moment)


def in_future(doc: Any, version_key: str | None) -> bool:
    """Whether `doc`'s version is later than now (plus `FUTURE_TOLERANCE`): a skewed clock."""
    if version_key is None or not isinstance(doc, dict):
        return False
    moment = version_time(doc.get(version_key))
    return moment is not None and _ahead(moment)


def _ahead(moment: datetime) -> bool:
    try:
        return moment > datetime.now(UTC) + FUTURE_TOLERANCE
    except OverflowError:  # now + tolerance beyond the calendar: nothing is ahead of it
        return False


class InFlightFilter:
    """`validate --min-age`: which documents are in flight, judged against a cutoff taken anew
    (`restart`) before each read; ids whose version is in the future are noted, and compared."""

    def __init__(self, min_age: float | None, version_key: str | None, id_key: str) -> None:
        self.min_age = min_age
        self.version_key = version_key
        self.id_key = id_key
        self.since: datetime | None = None
        #: Ids whose version key is in the future (only looked for with `min_age`).
        self.future: set[str] = set()

    def restart(self) -> None:
        self.since = cutoff(self.min_age)

    def __call__(self, doc: Any) -> bool:
        if self.since is not None and in_future(doc, self.version_key):
            self.future.add(str(doc.get(self.id_key)))
            return False
        return in_flight(doc, self.version_key, self.since)


@contextlib.contextmanager
def write_locked(json_store: JsonStore, partition: str) -> Iterator[None]:
    """Hold a partition's write lock (a dual write holds it across both stores, so nothing read
    under it is half written), or go on without it when it cannot be had: a read-only store, a
    name that cannot be a file, a writer that holds it too long."""
    try:
        lock = json_store.lock(partition)
        lock.acquire()
    except (StoreError, OSError) as exc:
        logger.info("re-reading partition %s without its lock: %s", partition, exc)
        yield
        return
    try:
        yield
    finally:
        lock.release()
