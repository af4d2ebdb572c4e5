"""PostgresDialect against the test server: consistent reads, COPY, locks between processes."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    select,
)
from sqlalchemy import exc as sa_exc

from migrator.adapters.dialect_base import Fetch
from migrator.adapters.dialects import (
    CONNECT_TIMEOUT_SECONDS,
    PostgresDialect,
    database_url,
    dialect_for,
)
from migrator.adapters.sql_store import SqlStore
from migrator.schemas.sessions import SESSIONS
from tests.postgres.test_store_pg import session

pytestmark = pytest.mark.postgres

WRITERS = 4
ROUNDS = 15


def test_plain_urls_mean_psycopg() -> None:
    """postgresql:// and postgres:// URLs are given the psycopg 3 driver; others are kept."""
    assert database_url("postgresql://u@h:5/db") == "postgresql+psycopg://u@h:5/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert isinstance(dialect_for(database_url("postgres://u@h/db")), PostgresDialect)


# --------------------------------------------------------------------------- consistent reads


def _after_each_read(monkeypatch: pytest.MonkeyPatch, after: Callable[[Any, str], None]) -> None:
    """Call `after(driver_connection, statement)` once each statement of the read hot path
    (`PostgresDialect.raw_snapshot`) has run, inside its transaction."""
    real = PostgresDialect.raw_snapshot

    @contextlib.contextmanager
    def probed(self: PostgresDialect, driver: Any) -> Iterator[Fetch]:
        with real(self, driver) as fetch:

            def probe(statement: str, parameters: Any) -> list[tuple[Any, ...]]:
                rows = fetch(statement, parameters)
                after(driver, statement)
                return rows

            yield probe

    monkeypatch.setattr(PostgresDialect, "raw_snapshot", probed)


def test_read_partition_is_one_repeatable_read_read_only_transaction(
    pg_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every statement of read_partition runs in REPEATABLE READ, read only, one transaction."""
    pg_store.put("p1", session("s-1"))
    seen: list[tuple[Any, ...]] = []

    def probe(driver: Any, statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "sessions" in statement:
            with driver.cursor() as inner:
                isolation = inner.execute("SHOW transaction_isolation").fetchone()[0]
                read_only = inner.execute("SHOW transaction_read_only").fetchone()[0]
                started = inner.execute("SELECT pg_backend_pid(), transaction_timestamp()")
                seen.append((isolation, read_only, started.fetchone()))

    _after_each_read(monkeypatch, probe)
    assert pg_store.read_partition("p1") == [session("s-1")]
    assert len(seen) == 1 + len(SESSIONS.children)
    assert {(isolation, read_only) for isolation, read_only, _ in seen} == {
        ("repeatable read", "on")
    }
    assert len({transaction for _, _, transaction in seen}) == 1  # one connection, one transaction


def test_read_partition_sees_one_snapshot(
    pg_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document deleted between read_partition's statements still comes back whole."""
    pg_store.put("p1", session("s-1"))
    pg_store.put("p1", session("s-2"))
    other = SqlStore(pg_store.url, pg_store.schema)
    deleted: list[bool] = []

    def delete_after_roots(_driver: Any, statement: str) -> None:
        if not deleted and "FROM sessions" in statement and "JOIN" not in statement:
            deleted.append(other.delete("s-1"))  # another connection, committed at once

    _after_each_read(monkeypatch, delete_after_roots)
    try:
        found = pg_store.read_partition("p1")
    finally:
        other.close()
    assert deleted == [True]
    assert found == [session("s-1"), session("s-2")]  # children too, though deleted meanwhile
    assert pg_store.read_partition("p1") == [session("s-2")]


def test_connection_is_writable_again_after_a_read(pg_store: SqlStore) -> None:
    """The read-only REPEATABLE READ setting does not stick to the pooled connection."""
    pg_store.put("p1", session("s-1"))
    assert pg_store.read_partition("p1") == [session("s-1")]
    pg_store.put("p1", session("s-2"))
    assert pg_store.engine.pool.checkedin() == 1  # so that write used the connection that read
    with pg_store.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
        assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "off"


# --------------------------------------------------------------------------- COPY


def _probe_table() -> Table:
    return Table(
        "copy_probe",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("body", Text),
        Column("note", Text),
        Column("flag", Boolean),
        Column("count", BigInteger),
    )


AWKWARD = [
    "",
    "\\N",
    "\\.",
    "tab\there",
    "new\nline\r\n",
    "back\\slash\\",
    "comma, \"quote\" 'single'",
    "\U0001f600 \u2028 é \ufeff \x7f \x01",
    "x" * 3_000_000 + "\U0010ffff",
]


def test_bulk_insert_copy_keeps_nulls_big_text_and_unicode(pg_db_url: str) -> None:
    """COPY loads NULLs, empty and escape-like text, megabytes and astral unicode unchanged."""
    table = _probe_table()
    engine = PostgresDialect().engine(pg_db_url)
    table.create(engine)
    rows = [
        {
            "id": i,
            "body": body,
            "note": None,
            "flag": i % 2 == 0,
            "count": 2**63 - i if i % 2 else i - 2**63,
        }
        for i, body in enumerate(AWKWARD, start=1)
    ]
    rows[0]["count"] = None
    rows[1]["flag"] = None
    with engine.begin() as conn:
        PostgresDialect().bulk_insert(conn, table, rows)
    with engine.connect() as conn:
        back = [dict(row) for row in conn.execute(select(table).order_by(table.c.id)).mappings()]
    engine.dispose()
    assert back == rows


def test_bulk_insert_is_part_of_the_transaction(pg_db_url: str) -> None:
    """Rows COPYed in a transaction that then fails are rolled back with it."""
    table = _probe_table()
    engine = PostgresDialect().engine(pg_db_url)
    table.create(engine)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        PostgresDialect().bulk_insert(conn, table, [{"id": 1, "body": "kept?"}])
        assert conn.execute(select(table.c.body)).scalar_one() == "kept?"
        raise RuntimeError("fail after the COPY")
    with engine.connect() as conn:
        assert conn.execute(select(table)).all() == []
    engine.dispose()


def test_bulk_insert_errors_are_sqlalchemy_errors(pg_db_url: str) -> None:
    """A COPY the server refuses raises SQLAlchemy's IntegrityError, as an INSERT would."""
    table = _probe_table()
    engine = PostgresDialect().engine(pg_db_url)
    table.create(engine)
    with pytest.raises(sa_exc.IntegrityError), engine.begin() as conn:
        PostgresDialect().bulk_insert(conn, table, [{"id": 1}, {"id": 1}])
    with engine.begin() as conn:  # the pooled connection is usable again
        PostgresDialect().bulk_insert(conn, table, [{"id": 1}])
        conn.execute(PostgresDialect().insert_ignore(table).values(id=1, body="ignored"))
        assert conn.execute(select(table.c.id, table.c.body)).all() == [(1, None)]
    engine.dispose()


# --------------------------------------------------------------------------- locks


def _writer(url: str, number: int, barrier: Any, errors: Any) -> None:
    """One process: puts its own documents and, each round, the shared one."""
    try:
        store = SqlStore(url, SESSIONS)
        barrier.wait(timeout=60)
        for round_ in range(ROUNDS):
            store.put("shared", session("same", task=f"w{number}-{round_}"))
            store.put(f"w{number}", session(f"own-{number}-{round_}"))
        store.close()
    except BaseException as exc:
        errors.put(f"writer {number}: {type(exc).__name__}: {exc}")


def _initializer(url: str, barrier: Any, errors: Any) -> None:
    try:
        store = SqlStore(url, SESSIONS)
        barrier.wait(timeout=60)
        store.init_schema()
        store.close()
    except BaseException as exc:
        errors.put(f"{type(exc).__name__}: {exc}")


def _run_together(target: Any, arguments: Callable[[int], tuple[Any, ...]]) -> list[str]:
    """Run `target(*arguments(n), barrier, errors)` in WRITERS forked processes at once."""
    context = multiprocessing.get_context("fork")
    barrier, errors = context.Barrier(WRITERS), context.Queue()
    processes = [
        context.Process(target=target, args=(*arguments(n), barrier, errors))
        for n in range(WRITERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert [process.exitcode for process in processes] == [0] * WRITERS, found
    return found


def test_concurrent_init_schema_from_four_processes(pg_db_url: str) -> None:
    """Four processes creating the schema at once on an empty database all succeed."""
    assert _run_together(_initializer, lambda n: (pg_db_url,)) == []
    store = SqlStore(pg_db_url, SESSIONS)
    assert store.is_initialized()
    assert store.recorded_schema() == ("sessions", SESSIONS.version)
    store.close()


def test_concurrent_puts_of_one_id_lose_nothing(pg_store: SqlStore) -> None:
    """Four processes putting the same id (and their own) at once: no error, nothing lost."""
    url = pg_store.url
    pg_store.close()
    assert _run_together(_writer, lambda n: (url, n)) == []
    store = SqlStore(url, SESSIONS)
    assert store.partitions() == sorted(["shared", *(f"w{n}" for n in range(WRITERS))])
    for n in range(WRITERS):
        own = [doc["id"] for doc in store.list(f"w{n}")]
        assert own == [f"own-{n}-{r}" for r in range(ROUNDS)]
    (shared,) = store.list("shared")
    assert shared["task"] in {f"w{n}-{ROUNDS - 1}" for n in range(WRITERS)}
    assert shared == session("same", task=shared["task"])
    with store.engine.connect() as conn:
        messages = conn.exec_driver_sql(
            "SELECT count(*) FROM chat_messages WHERE session_id = 'same'"
        ).scalar_one()
    assert messages == 1
    store.close()


def test_engine_sets_a_connect_timeout(pg_url: str) -> None:
    """Connections carry a connect timeout (an unanswering host cannot hang a command forever)
    and name themselves `migrator` in pg_stat_activity."""
    engine = PostgresDialect().engine(pg_url)
    with engine.connect() as conn:
        name = conn.exec_driver_sql("SHOW application_name").scalar()
        parameters = conn.connection.driver_connection.info.get_parameters()  # type: ignore[union-attr]
    engine.dispose()
    assert name == "migrator"
    assert parameters["connect_timeout"] == str(CONNECT_TIMEOUT_SECONDS)
