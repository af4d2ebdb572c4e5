"""Every shell block of README.md and docs/**/*.md runs and succeeds (tests/shell_blocks.py
states the convention: `sh` blocks run, `console`/`text` blocks and blocks marked
`<!-- not run: REASON -->` do not). `make plain` runs README's quick start verbatim after a
plain `pip install` in a clean virtual environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import shell_blocks
from tests.shell_blocks import REPO, Block, blocks, documented, run

RUNNABLE = [block for block in documented() if block.runs]


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.name for block in RUNNABLE])
def test_documented_shell_block_runs(block: Block, tmp_path: Path) -> None:
    """Each line of the block exits 0, as a user pasting it would see."""
    result = run(block, tmp_path)
    assert result.returncode == 0, (
        f"{block.name} ({block.heading}) failed with exit {result.returncode}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )


def test_readme_quick_start_is_run() -> None:
    """The quick start is among the blocks run, and the not-run markers all give a reason."""
    assert any(b.path.name == "README.md" and b.heading == "Quick start" for b in RUNNABLE)
    for block in documented():
        if block.not_run is not None:
            assert block.not_run.strip(), block.name


def test_the_convention(tmp_path: Path) -> None:
    """sh runs, console/text do not, a marker skips a block, and a failing line fails it."""
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n```sh\necho one\n```\n\n```console\n$ false\n```\n\n```text\nx\n```\n\n"
        "<!-- not run: needs a server -->\n```sh\nfalse\n```\n\n## Failing\n\n"
        "```bash\ntrue\nfalse\necho never\n```\n",
        encoding="utf-8",
    )
    found = blocks(page)
    assert [(b.info, b.runs) for b in found] == [
        ("sh", True),
        ("console", False),
        ("text", False),
        ("sh", False),
        ("bash", True),
    ]
    assert found[3].not_run == "needs a server"
    assert found[4].heading == "Failing"
    assert run(found[0], tmp_path / "a").stdout == "one\n"
    failed = run(found[4], tmp_path / "b")
    assert failed.returncode == 1
    assert "never" not in failed.stdout


def test_pip_install_lines_are_skipped_unless_verbatim(tmp_path: Path) -> None:
    """The test suite must not reinstall the shared environment; `make plain` runs them."""
    block = Block(tmp_path, 1, "", "sh", "pip install --definitely-not-an-option .\n", None)
    assert run(block, tmp_path / "a").returncode == 0
    assert run(block, tmp_path / "b", verbatim=True).returncode != 0


def test_make_test_runs_the_quick_start_after_a_plain_install() -> None:
    """`make test` includes `plain`: a clean venv, no extras, README's quick start verbatim."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test:.*\bplain\b", makefile, re.MULTILINE)
    recipe = re.search(r"^plain:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "no plain target"
    steps = recipe.group(1)
    assert "-m venv" in steps
    assert "tests/shell_blocks.py README.md 'Quick start'" in steps
    assert "[dev]" not in steps and "[postgres]" not in steps
    assert shell_blocks.main(["README.md", "No such heading"]) == 2
