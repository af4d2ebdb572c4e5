"""The importer's error budget and its reject log: what an import refused, and when to stop.

`RejectLog` counts every reject, keeps the first `KEPT_REJECTS` for the summary and writes each
(with its raw record) to the rejects file. `ErrorBudget` says when those rejects exceed
`max_errors` or `max_error_ratio` (rejects over documents read from files in this run, applied
once `RATIO_MIN_DOCUMENTS` were read); the run then stops (`BudgetSpent`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from migrator.defaults import RATIO_MIN_DOCUMENTS
from migrator.errors import DocumentError
from migrator.import_summary import PartitionResult
from migrator.rejects import Reject, RejectsFile

logger = logging.getLogger(__name__)

#: The parameters a budget's reason names, as a Python caller spells them (the CLI shows
#: them as its flags).
PARAMETERS = ("max_errors", "max_error_ratio")
#: Rejects kept in the summary (the rejects file has every one).
KEPT_REJECTS = 1000


class BudgetSpent(Exception):
    """The rejects exceed the error budget: the run stops (caught by the import's loop)."""


@dataclass(frozen=True)
class ErrorBudget:
    """How many rejects a run tolerates; None: no limit."""

    max_errors: int | None = None
    max_ratio: float | None = None

    def exceeded(self, rejected: int, read: int) -> str | None:
        """Why `rejected` rejects among `read` documents exceed the budget, or None."""
        rejects, exceed = (
            ("1 reject", "exceeds") if rejected == 1 else (f"{rejected:,} rejects", "exceed")
        )
        if self.max_errors is not None and rejected > self.max_errors:
            return f"{rejects} {exceed} max_errors={self.max_errors}"
        ratio = self.max_ratio
        if ratio is not None and read >= RATIO_MIN_DOCUMENTS and rejected > ratio * read:
            return (
                f"{rejects} in {read:,} documents read ({rejected / read:.1%}) "
                f"{exceed} max_error_ratio={ratio:g}"
            )
        return None


class RejectLog:
    """Every reject of one run: counted, the first ones kept, all written to `file` (None: a
    dry run, which writes nothing)."""

    def __init__(self, file: RejectsFile | None) -> None:
        self.file = file
        self.kept: list[Reject] = []
        self.count = 0

    def document(
        self, result: PartitionResult, index: int, record: Any, error: DocumentError
    ) -> None:
        """A record of `result`'s file refused (`record` as read, for the rejects file)."""
        result.rejected += 1
        self.keep(Reject.of_document(result.file, result.name, index, error), record)

    def keep(self, reject: Reject, record: Any) -> None:
        logger.debug("rejected: %s", reject)
        self.count += 1
        if len(self.kept) < KEPT_REJECTS:
            self.kept.append(reject)
        if self.file is not None:
            self.file.write(reject, record)
