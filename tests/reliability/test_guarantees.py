"""The Guarantees page (docs/guarantees.md) names the test that proves each promise: every name
must be a test that exists, so the page cannot silently point at nothing."""

from __future__ import annotations

import re

from tests.conftest import FIXTURES

REPO = FIXTURES.parent
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _page() -> str:
    return (REPO / "docs" / "guarantees.md").read_text(encoding="utf-8")


def test_every_guarantee_names_a_test_that_exists() -> None:
    """Each `tests/...py::name` on the page is a test function or class in that file."""
    references = REFERENCE.findall(_page())
    assert len(references) >= 15
    for path, name in references:
        source = (REPO / path).read_text(encoding="utf-8")
        defined = re.search(rf"^(def {name}\(|class {name}\b|{name} = )", source, re.MULTILINE)
        assert defined, f"{path}::{name} is not defined"
