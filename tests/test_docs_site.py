"""The documentation site builds strictly, exactly as `make docs` (and so `make test`) builds
it, and README stays a short page whose links all lead somewhere."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _make_docs_command() -> list[str]:
    """The Makefile's `docs` recipe, with the venv's mkdocs replaced by this interpreter's."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^docs:.*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe, "no docs target in the Makefile"
    assert re.search(r"^test:.*\bdocs\b", makefile, re.MULTILINE), "make test must build the docs"
    words = recipe.group(1).split()
    assert words[0] == "$(BIN)/mkdocs", words
    return [sys.executable, "-m", "mkdocs", *words[1:]]


def _build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_make_docs_command(), "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def _copy_site_sources(tmp_path: Path) -> Path:
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    return tmp_path


def test_docs_build_strictly(tmp_path: Path) -> None:
    """`make docs` on the checked-in pages: no warning (a broken link or anchor would be one)."""
    result = _build(REPO, tmp_path / "site")
    assert result.returncode == 0, result.stderr


def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path) -> None:
    """The build can fail: a link to a missing page, or to a missing anchor, stops it."""
    for number, broken in enumerate(("[gone](no-such-page.md)", "[gone](phases.md#no-such)")):
        (tmp_path / str(number)).mkdir()
        root = _copy_site_sources(tmp_path / str(number))
        page = root / "docs" / "exit-codes.md"
        page.write_text(page.read_text(encoding="utf-8") + f"\n{broken}\n", encoding="utf-8")
        result = _build(root, root / "site")
        assert result.returncode != 0, broken
        assert "no-such" in result.stderr


def test_a_page_left_out_of_the_nav_fails_the_build(tmp_path: Path) -> None:
    """A page added to docs/ must be in mkdocs.yml's nav, or the build stops."""
    root = _copy_site_sources(tmp_path)
    (root / "docs" / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    result = _build(root, root / "site")
    assert result.returncode != 0
    assert "orphan.md" in result.stderr


def test_readme_is_short_and_every_link_resolves() -> None:
    """README stays about 150 lines; each relative link names a file of the repository."""
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z]+://", t)]
    assert len(targets) >= 15
    for target in targets:
        assert (REPO / target.split("#")[0]).is_file(), target


def test_readmes_documentation_list_names_each_page_once() -> None:
    """README's Documentation list is the site's index: every page of mkdocs.yml's nav (the
    home page aside), each once; the home page's table too. Found from outside: Querying,
    Recovery and Rehearsing were listed twice, the state directory page not at all, and the
    home page listed Recovery twice."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Documentation\n", 1)[1].split("\n## ", 1)[0]
    listed = [t.removeprefix("docs/") for t in LINK.findall(section) if t.startswith("docs/")]
    nav = re.findall(r"^\s+- [^:]+: (\S+\.md)$", (REPO / "mkdocs.yml").read_text("utf-8"), re.M)
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(page for page in nav if page != "index.md")
    index = (REPO / "docs" / "index.md").read_text(encoding="utf-8")
    table = [t for t in LINK.findall(index.split("\n## Where to read what\n", 1)[1])]
    assert len(table) == len(set(table)), "the home page's table lists a page twice"
