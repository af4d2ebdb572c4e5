"""README's "Guarantees" section names the test that proves each promise: every name must be a
test that exists, so the section cannot silently point at nothing."""

from __future__ import annotations

import re

from tests.conftest import FIXTURES

REPO = FIXTURES.parent
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Guarantees\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_every_guarantee_names_a_test_that_exists() -> None:
    """Each `tests/...py::name` in the section is a test function or class in that file."""
    references = REFERENCE.findall(_section())
    assert len(references) >= 15
    for path, name in references:
        source = (REPO / path).read_text(encoding="utf-8")
        defined = re.search(rf"^(def {name}\(|class {name}\b|{name} = )", source, re.MULTILINE)
        assert defined, f"{path}::{name} is not defined"
