"""Project configuration: the defaults a team would otherwise repeat as flags.

Read from `migrator.toml` (top level) or the `[tool.migrator]` table of `pyproject.toml` in the
working directory (or the file `--config` / `MIGRATOR_CONFIG` names). Flat keys apply to every
command that has an option of that name; a sub-table (`[tool.migrator.validate]`) applies to
one command only. Precedence is flag, then environment variable, then this file, then the
built-in default: the CLI hands these values to Typer as its `default_map`, which sits exactly
there in that order.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.errors import UsageError

CONFIG_ENV = "MIGRATOR_CONFIG"
#: Options whose relative values are paths, resolved against the config file's directory.
PATH_KEYS = frozenset({"json_dir", "db", "out", "output", "rejects", "summary_file", "migrations"})


@dataclass(frozen=True)
class ConfigFile:
    """Values read from one config file: shared ones, and per-command tables."""

    path: Path | None
    shared: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)

    def values_for(self, command: str) -> dict[str, Any]:
        """What this file sets for `command`: the shared keys, overridden by its own table."""
        return {**self.shared, **self.commands.get(command, {})}


def find_config(cwd: Path, explicit: str | None = None) -> ConfigFile:
    """The config that applies in `cwd`: an explicit file, migrator.toml, or pyproject.toml."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise UsageError(f"config file {path} does not exist")
        return _load(path, table_path=_table_path(path))
    for name in ("migrator.toml", "pyproject.toml"):
        path = cwd / name
        if path.is_file():
            loaded = _load(path, table_path=_table_path(path))
            if loaded.shared or loaded.commands or name == "migrator.toml":
                return loaded
    return ConfigFile(path=None)


def _table_path(path: Path) -> tuple[str, ...]:
    return ("tool", "migrator") if path.name == "pyproject.toml" else ()


def _load(path: Path, *, table_path: tuple[str, ...]) -> ConfigFile:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"config file {path}: cannot read: {exc.strerror or exc}") from None
    table: Any = document
    for key in table_path:
        table = table.get(key, {}) if isinstance(table, dict) else {}
    if not isinstance(table, dict):
        raise UsageError(f"config file {path}: [{'.'.join(table_path)}] must be a table")
    shared = {k: _resolve(path, k, v) for k, v in table.items() if not isinstance(v, dict)}
    commands = {
        command: {k: _resolve(path, k, v) for k, v in values.items()}
        for command, values in table.items()
        if isinstance(values, dict)
    }
    return ConfigFile(path=path, shared=shared, commands=commands)


def _resolve(path: Path, key: str, value: Any) -> Any:
    if key in PATH_KEYS and isinstance(value, str) and value and "://" not in value:
        candidate = Path(value).expanduser()
        if not candidate.is_absolute():
            return str(path.parent / candidate)
    return value
