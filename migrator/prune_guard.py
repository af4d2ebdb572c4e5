"""Which gone documents `import --prune` may delete on its own, and which it holds back.

A document in the database that its partition file no longer has is `gone`. `--prune` is for
one story: the application deleted it from JSON while SQL was not kept in step (in `json-only`,
after an earlier import). Any other story loses data if the document is deleted: the JSON store
lost it (a restore of an older or emptier JSON backup, a file removed by hand) or never had it
(a document SQL received first). So a gone document is held back, and deleted only with the
separate `--prune-all`, when the evidence does not fit the first story:

- its partition file is missing altogether (a whole store's worth of files is not how an
  application deletes documents, and it is how a JSON restore from `sqlite-only` looks);
- SQL's version of it (the schema's version key) is newer than every version in its file, or
  the file holds no version at all: the file is older than SQL's copy;
- SQL's version is newer than the last move from `json-only` into `dual-write`: from then on
  every delete the application makes reaches SQL too (or the journal, which `repair` replays),
  so its absence from JSON is not such a delete.

A schema without a version key is judged by the first rule only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from migrator.adapters.phase_state import Phase, PhaseState, parse_time
from migrator.in_flight import version_time
from migrator.schemas.declaration import Schema


@dataclass(frozen=True)
class PruneGuard:
    """What a prune may delete without `--prune-all` (see the module docstring)."""

    id_key: str
    version_key: str | None
    #: The last move from json-only into dual-write, when the store has left json-only.
    dual_since: datetime | None = None

    @classmethod
    def for_store(cls, json_dir: Path, schema: Schema) -> PruneGuard:
        record = PhaseState(json_dir).read()
        since = None
        if record.phase is not Phase.JSON_ONLY:
            for move in reversed(record.history):
                if move.from_phase is Phase.JSON_ONLY and move.to_phase is Phase.DUAL_WRITE:
                    since = parse_time(move.time)
                    break
        return cls(schema.id_key, schema.version_key, since)

    def held(self, sql_docs: Iterable[dict[str, Any]], newest: datetime | None) -> set[str]:
        """The ids of `sql_docs` (gone from a file that exists) a prune must not delete on its
        own; `newest` is the newest version key in the file. (A missing file holds back every
        document: the caller knows that without reading them.)"""
        if self.version_key is None:
            return set()
        kept = set()
        for doc in sql_docs:
            moment = version_time(doc.get(self.version_key))
            if moment is None:
                continue
            older_file = newest is None or moment > newest
            since_dual = self.dual_since is not None and moment > self.dual_since
            if older_file or since_dual:
                kept.add(doc[self.id_key])
        return kept


def newest_version(records: Iterable[Any], version_key: str | None) -> datetime | None:
    """The newest version key among a file's records (None: none holds one)."""
    if version_key is None:
        return None
    moments = (version_time(r.get(version_key)) for r in records if isinstance(r, dict))
    return max((m for m in moments if m is not None), default=None)
