"""Project config: precedence, discovery, and clear errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.config import find_config
from migrator.errors import UsageError

runner = CliRunner()


def _settings(args: list[str], env: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    result = runner.invoke(app, ["config", "--format", "json", *args], env=env or {})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["settings"]  # type: ignore[no-any-return]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MIGRATOR_DB", raising=False)
    monkeypatch.delenv("MIGRATOR_JSON_DIR", raising=False)
    monkeypatch.delenv("MIGRATOR_CONFIG", raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.migrator]\ndb = "from-file.db"\njson_dir = "store"\n', encoding="utf-8"
    )
    return tmp_path


def test_flag_beats_env_beats_file_beats_default(project: Path) -> None:
    """Each setting comes from the strongest source present: flag, env, file, default."""
    from_file = _settings([])
    assert from_file["db"] == {"value": str(project / "from-file.db"), "source": "config file"}
    assert from_file["schema"] == {"value": "sessions", "source": "default"}
    from_env = _settings([], env={"MIGRATOR_DB": "env.db"})
    assert from_env["db"] == {"value": "env.db", "source": "environment"}
    from_flag = _settings(["--db", "flag.db"], env={"MIGRATOR_DB": "env.db"})
    assert from_flag["db"] == {"value": "flag.db", "source": "flag"}


def test_relative_paths_resolve_against_the_config_file(project: Path) -> None:
    """A relative json_dir in the file means relative to the file, not to the caller."""
    assert _settings([])["json_dir"]["value"] == str(project / "store")


def test_config_values_reach_real_commands(project: Path) -> None:
    """`init` with no --db uses the file's database."""
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (project / "from-file.db").exists()


def test_unknown_key_is_a_usage_error_naming_file_and_key(project: Path) -> None:
    """A misspelt key exits 2 with one line naming the file and the key."""
    (project / "pyproject.toml").write_text('[tool.migrator]\njsondir = "x"\n', encoding="utf-8")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    assert "pyproject.toml" in result.stderr
    assert "unknown key 'jsondir'" in result.stderr
    assert "Traceback" not in result.output


def test_wrong_type_is_a_usage_error_saying_what_was_expected(project: Path) -> None:
    """A number where a string belongs exits 2 and says what was expected."""
    (project / "pyproject.toml").write_text("[tool.migrator]\ndb = 3\n", encoding="utf-8")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 2
    assert "key 'db' must be a string, got 3" in result.stderr


def test_per_command_table_applies_to_that_command_only(project: Path) -> None:
    """[tool.migrator.config] sets an option of `config` alone; unknown commands are refused."""
    (project / "pyproject.toml").write_text(
        '[tool.migrator.config]\noutput_format = "json"\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["config_file"].endswith("pyproject.toml")
    (project / "pyproject.toml").write_text("[tool.migrator.nope]\nx = 1\n", encoding="utf-8")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    assert "[nope] is not a migrator command" in result.stderr


def test_migrator_toml_wins_over_pyproject(project: Path) -> None:
    """migrator.toml in the working directory is read before pyproject.toml."""
    (project / "migrator.toml").write_text('db = "toml.db"\n', encoding="utf-8")
    config = find_config(project)
    assert config.path == project / "migrator.toml"
    assert config.shared["db"] == str(project / "toml.db")


def test_invalid_toml_and_missing_explicit_file_are_usage_errors(project: Path) -> None:
    """Broken TOML or a --config that does not exist are usage errors, not crashes."""
    (project / "migrator.toml").write_text("db = \n", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid TOML"):
        find_config(project)
    with pytest.raises(UsageError, match="does not exist"):
        find_config(project, str(project / "absent.toml"))


def test_a_config_file_that_is_not_utf8_is_a_usage_error(project: Path) -> None:
    """Found from outside (issue 20 point 5): bytes that are not UTF-8 (a file saved in
    another encoding) were a UnicodeDecodeError traceback, exit 1, for every command."""
    (project / "migrator.toml").write_bytes(b"db = '\xe9t\xe9.db'\n")
    with pytest.raises(UsageError, match="not valid TOML: 'utf-8' codec can't decode"):
        find_config(project)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: config file {project / 'migrator.toml'}: not valid")


def test_database_urls_in_the_file_are_not_taken_for_paths(project: Path) -> None:
    """`db = "postgres://..."` stays a URL; only plain relative paths are resolved."""
    (project / "migrator.toml").write_text('db = "postgres://u@h/db"\n', encoding="utf-8")
    assert find_config(project).shared["db"] == "postgres://u@h/db"


def test_config_never_prints_a_database_password(project: Path) -> None:
    """`migrator config` shows a URL's password as ***, from a flag, a variable or the file
    (flat or in a command's table), in text and in JSON."""
    (project / "migrator.toml").write_text(
        'db = "postgresql://app:s3cret@db/app"\n[validate]\ndb = "postgresql://v:s3cret@db/v"\n',
        encoding="utf-8",
    )
    for args, env in (
        ([], None),
        (["--db", "postgresql://flag:s3cret@db/x"], None),
        ([], {"MIGRATOR_DB": "postgresql://env:s3cret@db/x"}),
    ):
        for output in ("json", "text"):
            result = runner.invoke(app, ["config", "--format", output, *args], env=env or {})
            assert result.exit_code == 0, result.output
            assert "s3cret" not in result.output
            assert "***" in result.output
    assert _settings([])["validate.db"]["value"] == "postgresql://v:***@db/v"
