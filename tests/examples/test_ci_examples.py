"""The CI examples in examples/ci/ run as written: each file is parsed as YAML, and every
`migrator` command line in it is executed against a copy of the fixture store (imported first),
with the stores named by MIGRATOR_JSON_DIR / MIGRATOR_DB as the examples expect. So the
examples cannot rot: a renamed flag, a changed exit code or an artifact path that the command
no longer writes fails here."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrator.adapters.sql_store import SqlStore
from migrator.phases import set_phase
from tests.live.conftest import FIXTURE_STORE, MIGRATOR_ENV, P1, import_fixture_store, sid

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ci"
CHECK_LINE = "migrator check --format junit --output report.xml --summary-file summary.json"


@dataclass(frozen=True)
class Example:
    """What a CI file asks for: the shell lines it runs and the artifacts it publishes."""

    lines: list[str]
    artifacts: set[str]
    junit: str | None


def shell_lines(script: str) -> list[str]:
    """A script's command lines: continuations joined, comments and blank lines left out."""
    joined = script.replace("\\\n", " ")
    stripped = (line.strip() for line in joined.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


def github_example(doc: dict[Any, Any]) -> Example:
    """Every `run:` of every job; the paths of upload-artifact steps that run even on failure."""
    lines: list[str] = []
    artifacts: set[str] = set()
    for job in doc["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                lines += shell_lines(step["run"])
            if str(step.get("uses", "")).startswith("actions/upload-artifact@"):
                assert step.get("if") == "always()", "artifacts must be published on failure too"
                artifacts |= set(shell_lines(step["with"]["path"]))
    return Example(lines, artifacts, None)


def gitlab_example(doc: dict[Any, Any]) -> Example:
    """Every script line of every job; the artifact paths of jobs that keep them on failure."""
    lines: list[str] = []
    artifacts: set[str] = set()
    junit = None
    for job in doc.values():
        if not isinstance(job, dict) or "script" not in job:
            continue
        for key in ("before_script", "script", "after_script"):
            for script in job.get(key, []):
                lines += shell_lines(script)
        kept = job.get("artifacts", {})
        assert kept.get("when") == "always", "artifacts must be kept on failure too"
        artifacts |= set(kept.get("paths", []))
        junit = kept.get("reports", {}).get("junit", junit)
    return Example(lines, artifacts, junit)


PARSERS: dict[str, Callable[[dict[Any, Any]], Example]] = {
    "github-actions.yml": github_example,
    "gitlab-ci.yml": gitlab_example,
}


def load(name: str) -> Example:
    doc = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict), name
    return PARSERS[name](doc)


@pytest.fixture
def stores(tmp_path: Path, sessions_schema: Any) -> dict[str, str]:
    """The fixture store, imported, named by the variables the examples read."""
    json_dir = tmp_path / "json"
    shutil.copytree(FIXTURE_STORE, json_dir)
    db = tmp_path / "sessions.db"
    import_fixture_store(json_dir, db, sessions_schema)
    return {"MIGRATOR_JSON_DIR": str(json_dir), "MIGRATOR_DB": str(db)}


def run_migrator_lines(example: Example, stores: dict[str, str], workdir: Path) -> list[int]:
    """Run each `migrator` line of the example in `workdir`, as the CI shell would; exit codes."""
    env = {k: v for k, v in os.environ.items() if k not in MIGRATOR_ENV} | stores
    codes = []
    for line in example.lines:
        argv = shlex.split(line)
        if argv[0] != "migrator":
            continue
        done = subprocess.run(
            [sys.executable, "-m", "migrator", *argv[1:]],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode in (0, 1), f"{line}: {done.stderr}"
        codes.append(done.returncode)
    return codes


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_example_installs_and_runs_the_check(name: str) -> None:
    """Each example installs the toolkit with pip and runs the check docs/ci.md documents."""
    example = load(name)
    assert any(line.startswith("python -m pip install") for line in example.lines)
    assert CHECK_LINE in example.lines
    assert example.artifacts == {"report.xml", "summary.json"}
    if name == "gitlab-ci.yml":
        assert example.junit == "report.xml"


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_example_passes_on_ready_stores_and_leaves_its_artifacts(
    name: str, stores: dict[str, str], tmp_path: Path
) -> None:
    """Imported fixture stores: every migrator line exits 0; the artifacts are there and valid."""
    example = load(name)
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    assert run_migrator_lines(example, stores, workdir) == [0, 0]
    for artifact in example.artifacts:
        assert (workdir / artifact).is_file(), artifact
    suite = ET.parse(workdir / "report.xml").getroot()
    assert (suite.tag, suite.get("name"), suite.get("failures")) == (
        "testsuite",
        "migrator check",
        "0",
    )
    summary = json.loads((workdir / "summary.json").read_text(encoding="utf-8"))
    assert summary["ready"] is True
    assert (summary["phase"], summary["next_phase"]) == ("json-only", "dual-write")


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_example_fails_for_the_right_reason_and_still_leaves_its_artifacts(
    name: str, stores: dict[str, str], tmp_path: Path, sessions_schema: Any
) -> None:
    """A lost update in SQL during dual-write: the check line exits 1 (the job fails), and the
    report and the summary say why. (In json-only a check validates nothing: the import runs
    after the move, issue 16 point 3.)"""
    json_dir = Path(stores["MIGRATOR_JSON_DIR"])
    set_phase(json_dir, stores["MIGRATOR_DB"], sessions_schema, "dual-write")
    docs = json.loads((json_dir / f"{P1}.json").read_text(encoding="utf-8"))
    lost = next(doc for doc in docs if doc["id"] == sid(0, 3))
    sql = SqlStore(stores["MIGRATOR_DB"], sessions_schema)
    try:
        sql.put(P1, lost | {"task": "an update JSON never got"})
    finally:
        sql.close()
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    assert run_migrator_lines(load(name), stores, workdir) == [0, 1]
    suite = ET.parse(workdir / "report.xml").getroot()
    cases = suite.iter("testcase")
    assert [case.get("name") for case in cases if case.find("failure") is not None] == [
        "validation",
        "guard: validation clean",
    ]
    summary = json.loads((workdir / "summary.json").read_text(encoding="utf-8"))
    assert summary["ready"] is False
    assert [m["id"] for m in summary["validation"]["mismatched"]] == [sid(0, 3)]
