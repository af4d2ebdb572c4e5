"""generate_store: a realistic synthetic session store, the same bytes for the same seed."""

from __future__ import annotations

import re
from pathlib import Path

from migrator.adapters.json_store import JsonStore
from migrator.generate import generate_store
from migrator.schemas.codec import validate
from migrator.schemas.declaration import Schema
from tests.importer.conftest import tree_digest


def test_same_seed_same_bytes_other_seed_other_bytes(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """Generation is deterministic in its seed."""
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_store(tmp_path / name, sessions=250, seed=seed, schema=sessions_schema)

    def digests(name: str) -> list[str]:
        return sorted(tree_digest(tmp_path / name).values())

    assert digests("a") == digests("b")
    assert digests("a") != digests("c")


def test_generated_store_is_valid_and_realistic(
    generated_dir: Path, sessions_schema: Schema
) -> None:
    """Every document validates; files are 16-hex-digit workspace hashes of ~100 sessions;
    sessions have 1-10 instances and about a dozen messages; optional fields are sometimes
    absent and sometimes null; text is not all ASCII; some outputs are large."""
    store = JsonStore(generated_dir, sessions_schema)
    partitions = store.partitions()
    assert all(re.fullmatch(r"[0-9a-f]{16}", p) for p in partitions)
    sizes = [len(store.list(p)) for p in partitions]
    assert sum(sizes) == 400 and all(50 <= n <= 150 for n in sizes[:-1])
    docs = [doc for p in partitions for doc in store.list(p)]
    for doc in docs:
        validate(sessions_schema, doc)
    assert len({doc["id"] for doc in docs}) == 400
    assert {len(doc["instances"]) for doc in docs} <= set(range(1, 11))
    messages = sum(len(doc["chat_history"]) for doc in docs) / len(docs)
    assert 9 <= messages <= 15
    assert any("model" not in doc for doc in docs)
    assert any("model" in doc and doc["model"] is None for doc in docs)
    outputs = [i.get("output") or "" for doc in docs for i in doc["instances"]]
    assert max(len(o) for o in outputs) > 30_000
    assert 200 < sorted(len(o) for o in outputs)[len(outputs) // 2] < 5_000
    assert any(not doc["task"].isascii() for doc in docs)


def test_zero_sessions_writes_an_empty_store(tmp_path: Path, sessions_schema: Schema) -> None:
    """Zero sessions: a directory with no files."""
    summary = generate_store(tmp_path / "empty", sessions=0, schema=sessions_schema)
    assert (summary.files, summary.sessions) == (0, 0)
    assert list((tmp_path / "empty").iterdir()) == []


def test_python_callers_name_the_schema_as_every_verb_takes_it(
    tmp_path: Path, sessions_schema: Schema
) -> None:
    """`migrator.generate_store` takes a schema reference or value, `sessions` by default, as
    the other verbs do (found from outside: it alone required a resolved `Schema`)."""
    import migrator

    migrator.generate_store(tmp_path / "default", sessions=20, seed=2)
    migrator.generate_store(tmp_path / "named", sessions=20, seed=2, schema="sessions")
    migrator.generate_store(tmp_path / "value", sessions=20, seed=2, schema=sessions_schema)
    digests = [sorted(tree_digest(tmp_path / name).values()) for name in ("named", "value")]
    assert sorted(tree_digest(tmp_path / "default").values()) == digests[0] == digests[1]
