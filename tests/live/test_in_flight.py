"""`validate --min-age`: documents written too recently, on either side, are in flight: counted,
never reported; older differences still are; a version key that does not parse is not recent."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from migrator.adapters.sql_store import SqlStore
from migrator.errors import UsageError
from migrator.in_flight import version_time
from tests.live.conftest import P1, P2, P3, Live, sid, stamp


def test_a_write_half_done_either_way_is_in_flight_not_a_difference(live: Live) -> None:
    """A recent version on the JSON side only, or on the SQL side only: in flight, not reported."""
    live.put_json(P1, live.doc(sid(0, 1)) | {"updated_at": stamp(), "task": "new in json"})
    live.put_sql(P2, live.doc(sid(1, 2)) | {"updated_at": stamp(), "task": "new in sql"})
    plain = live.validate()
    assert plain.counts["mismatched"] == 2
    report = live.validate(min_age=60)
    assert report.ok, report.to_dict()
    assert report.counts["in_flight"] == 2
    assert report.counts["matched"] == 34
    assert report.by_partition[P1]["in_flight"] == 1
    assert report.by_partition[P2]["in_flight"] == 1


def test_an_old_difference_is_still_reported(live: Live) -> None:
    """A difference whose version keys are old on both sides is a finding, min-age or not."""
    live.put_sql(P3, live.doc(sid(2, 3)) | {"task": "changed long ago"})
    report = live.validate(min_age=60)
    assert not report.ok
    assert [m.id for m in report.mismatched] == [sid(2, 3)]
    assert report.counts["in_flight"] == 0


def test_a_version_older_than_min_age_is_compared(live: Live) -> None:
    """`min_age` is a threshold: a version 120 s old is compared when min-age is 60 s."""
    live.put_sql(P1, live.doc(sid(0, 4)) | {"updated_at": stamp(120), "task": "two minutes"})
    assert live.validate(min_age=600).ok
    report = live.validate(min_age=60)
    assert [m.id for m in report.mismatched] == [sid(0, 4)]


def test_a_new_document_on_one_side_is_in_flight_until_it_is_old(live: Live) -> None:
    """A document only JSON has, written just now, is in flight; one written long ago is missing."""
    fresh = live.doc(sid(0, 0)) | {"id": "fresh-0", "updated_at": stamp()}
    stale = live.doc(sid(0, 0)) | {"id": "stale-0"}
    live.put_json(P1, fresh)
    live.put_json(P1, stale)
    report = live.validate(min_age=60)
    assert [ref.id for ref in report.missing_in_sqlite] == ["stale-0"]
    assert report.counts["in_flight"] == 1
    sql_only = live.doc(sid(1, 0)) | {"id": "sql-fresh", "updated_at": stamp()}
    live.put_sql(P2, sql_only)
    report = live.validate(min_age=60)
    assert report.counts["missing_in_json"] == 0
    assert report.counts["in_flight"] == 2


def test_a_moved_document_written_just_now_is_in_flight(live: Live) -> None:
    """A document whose partition differs between the stores, with a recent version, is left out."""
    doc = live.doc(sid(1, 6)) | {"updated_at": stamp()}
    sql = SqlStore(live.db, live.schema)
    try:
        sql.delete(doc["id"])
        sql.put(P3, doc)
    finally:
        sql.close()
    assert [m.id for m in live.validate().mismatched] == [doc["id"]]
    report = live.validate(min_age=60)
    assert report.ok and report.counts["in_flight"] == 1


@pytest.mark.parametrize("value", ["yesterday", "1736762400", "", "2025-13-45T99:00:00Z"])
def test_a_version_key_that_does_not_parse_is_not_in_flight(live: Live, value: object) -> None:
    """Only a timestamp can make a document in flight; anything else is compared as usual."""
    live.put_sql(P1, live.doc(sid(0, 7)) | {"updated_at": value, "task": "differs"})
    report = live.validate(min_age=60)
    assert [m.id for m in report.mismatched] == [sid(0, 7)]
    assert report.counts["in_flight"] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-13T10:00:00Z", datetime(2025, 1, 13, 10, tzinfo=UTC)),
        ("2025-01-13t10:00:00z", datetime(2025, 1, 13, 10, tzinfo=UTC)),
        ("2025-01-13T12:00:00+02:00", datetime(2025, 1, 13, 10, tzinfo=UTC)),
        ("2025-01-13 10:00:00.250Z", datetime(2025, 1, 13, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2025-01-13T10:00:00", datetime(2025, 1, 13, 10, tzinfo=UTC)),
        ("2025-01-13T10:00:00.123456789Z", datetime(2025, 1, 13, 10, 0, 0, 123456, tzinfo=UTC)),
        ("not a time", None),
        (17, None),
        (None, None),
    ],
)
def test_version_times_are_rfc3339_or_iso8601(text: object, expected: datetime | None) -> None:
    """RFC 3339 and ISO 8601 forms parse (a naive time is UTC); anything else is None."""
    assert version_time(text) == expected


def test_min_age_needs_a_schema_with_a_version_key(live: Live) -> None:
    """Without a version key there is no telling a document's age: a usage error."""
    keyless = dataclasses.replace(live.schema, version_key=None)
    with pytest.raises(UsageError, match="declares no version key"):
        Live(live.json_dir, live.db, keyless).validate(min_age=5)
    with pytest.raises(UsageError, match="min_age"):
        live.validate(min_age=-1)


def test_cli_min_age_counts_in_flight_in_every_format(live: Live) -> None:
    """`validate --min-age`: exit 0, the summary line and JSON count what was left out."""
    live.put_sql(P2, live.doc(sid(1, 9)) | {"updated_at": stamp(), "task": "in flight"})
    assert live.cli("validate").exit_code == 1
    text = live.cli("validate", "--min-age", "30")
    assert text.exit_code == 0, text.output
    assert text.stdout == "OK: 35 documents match (1 in flight, left out)\n"
    as_json = live.cli("validate", "--min-age", "30", "--format", "json")
    assert json.loads(as_json.stdout)["counts"]["in_flight"] == 1


def test_an_age_beyond_the_calendar_leaves_out_every_timestamped_document(live: Live) -> None:
    """A huge --min-age is not an error: every document with a timestamp is in flight."""
    report = live.validate(min_age=float("inf"))
    assert report.ok and report.counts["in_flight"] == 36
