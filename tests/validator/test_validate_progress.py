"""Issue 16 point 10: `validate` reports its progress, partitions N/M, instead of silence."""

from __future__ import annotations

from tests.validator.conftest import Stores


def test_validate_reports_each_partition_with_the_total(stores: Stores) -> None:
    calls: list[tuple[int, int]] = []
    report = stores.validate(progress=lambda done, total: calls.append((done, total)))
    assert report.ok
    total = len(list(stores.json_dir.glob("*.json")))
    assert total > 1
    assert calls == [(done, total) for done in range(1, total + 1)]


def test_no_progress_drawn_when_output_is_not_a_terminal(stores: Stores) -> None:
    result = stores.cli()
    assert result.exit_code == 0
    assert "validating" not in result.output
