"""The default numbers a verb and its command-line option share.

Kept apart from the verbs so the CLI can show them in `--help` without importing the verbs
(and SQLAlchemy with them) at start-up.
"""

from __future__ import annotations

#: Documents per import transaction: large enough that commits cost little, small enough for
#: memory (pending rows keep their documents' text: 1,000 cost ~24 MB more at the peak, issue 19).
DEFAULT_BATCH_SIZE = 500
#: `max_error_ratio` applies once this many documents were read: a bad record among the
#: first few says little about the rest.
RATIO_MIN_DOCUMENTS = 100
#: Backups of each kind (manual, automatic snapshots) that retention keeps.
DEFAULT_KEEP = 10
