"""How heavy this run is. `make test` must fit CI's time budget; `--soak` (`make soak`) runs the
heavy variants: the tests marked `soak` and every property's full number of examples.

`tests/conftest.py` sets `SOAK` from the command line in `pytest_configure`, before any test
module is imported, so a module-level `@settings(max_examples=examples(N))` sees it.
"""

from __future__ import annotations

#: True under --soak.
SOAK = False


def examples(full: int) -> int:
    """Hypothesis examples for a property: `full` with --soak, a third of it (at least 10) in
    `make test`. Not for a test that must find a counterexample within `full` examples."""
    return full if SOAK else max(10, full // 3)
