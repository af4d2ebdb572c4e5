"""Which JSON store a database mirrors: one random id, written once into the JSON store's state
directory (`store-id`) and into the database's `migrator_meta` (`store_id`, beside `store_dir`,
the folder it was recorded from, to name it in a refusal).

Without it, importing a second JSON store into a database reports the first store's documents
as gone and invites `--prune` to delete them. A pair from before identities (neither side has
one) adopts one silently; either side alone carries its id over to the other only when the
other side is new, so a database that already mirrors a store refuses another one unless forced.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from migrator.adapters.fs import read_nofollow, write_atomically
from migrator.adapters.sql_store import SqlStore
from migrator.adapters.state_dir import STORE_ID, StateDir
from migrator.errors import StateFileError, StoreError

ID_KEY = "store_id"
DIR_KEY = "store_dir"
_ID = re.compile(r"[0-9a-f]{32}")


def json_store_id(json_dir: Path) -> str | None:
    """The id recorded in the JSON store's state directory, None if none yet."""
    path = StateDir(json_dir).file(STORE_ID)
    data = read_nofollow(path)
    if data is None:
        return None
    text = data.decode("ascii", "replace").strip()
    if not _ID.fullmatch(text):
        raise StateFileError(path, "not a store id (32 hexadecimal digits)")
    return text


def check_identity(json_dir: Path, sql_store: SqlStore, *, force: bool = False) -> None:
    """Refuse (StoreError) a database that mirrors another JSON store than `json_dir`, unless
    `force`. Reads only: call before anything is written."""
    other = None if force else mirrored_store(json_dir, sql_store)
    if other is not None:
        raise StoreError(
            f"database {sql_store.location} mirrors the JSON store {other}, not {json_dir}: "
            "pass force=True to make it mirror this one (its other documents would be gone)",
            parameters=["force=True"],
        )


def mirrored_store(json_dir: Path, sql_store: SqlStore) -> str | None:
    """The other JSON store the database mirrors (its folder, or its id), None when it mirrors
    `json_dir` or may adopt it."""
    theirs = sql_store.meta_value(ID_KEY)
    if theirs is None:
        return None  # a new database, or one from before identities: it adopts this store
    ours = json_store_id(json_dir)
    if (ours is None and not _has_data(sql_store)) or ours == theirs:
        return None
    return sql_store.meta_value(DIR_KEY) or f"store id {theirs}"


def record_identity(json_dir: Path, sql_store: SqlStore) -> str:
    """Make both sides carry the same id (after `check_identity` and `init_schema`): the JSON
    store's if it has one, else a new one. Returns it."""
    store_id = json_store_id(json_dir)
    if store_id is None:
        store_id = secrets.token_hex(16)
        state = StateDir(json_dir)
        state.ensure()
        write_atomically(state.file(STORE_ID), f"{store_id}\n".encode())
    if sql_store.meta_value(ID_KEY) != store_id:
        sql_store.set_meta_value(ID_KEY, store_id)
    here = str(Path(json_dir).resolve())
    if sql_store.meta_value(DIR_KEY) != here:
        sql_store.set_meta_value(DIR_KEY, here)
    return store_id


def _has_data(sql_store: SqlStore) -> bool:
    try:
        return sql_store.is_initialized() and sql_store.count() > 0
    except StoreError:
        return True
