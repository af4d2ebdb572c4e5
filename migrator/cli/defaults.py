"""Turn a project config file into Typer's `default_map`, checking every key and type.

The known keys are the options of the commands themselves, so a new option is configurable
the day it is added, and a misspelt key is caught instead of silently ignored.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterator
from typing import Any

import typer

from migrator.config import ConfigFile
from migrator.errors import UsageError

_EXCLUDED = frozenset(
    {"help", "version", "debug", "config", "install_completion", "show_completion"}
)


def default_map(group: Any, config: ConfigFile) -> dict[str, Any]:
    """`{command: {option: value}}` (nested for sub-groups) from `config`, validated."""
    commands = dict(_walk(group, ()))
    options = {name: param for params in commands.values() for name, param in params.items()}
    for key, value in config.shared.items():
        param = options.get(key)
        if param is None:
            raise _unknown(config, key, sorted(options))
        _check(config, key, param, value)
    by_name = {path[-1]: path for path in commands}
    for command, values in config.commands.items():
        path = by_name.get(command)
        if path is None:
            raise UsageError(f"config file {config.path}: [{command}] is not a migrator command")
        for key, value in values.items():
            param = commands[path].get(key)
            if param is None:
                raise _unknown(config, f"{command}.{key}", sorted(commands[path]))
            _check(config, f"{command}.{key}", param, value)
    result: dict[str, Any] = {}
    for path, params in commands.items():
        chosen = {k: v for k, v in config.values_for(path[-1]).items() if k in params}
        if not chosen:
            continue
        node = result
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = chosen
    return result


def _walk(group: Any, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    for name, command in getattr(group, "commands", {}).items():
        path = (*prefix, name)
        if getattr(command, "commands", None):
            yield from _walk(command, path)
            continue
        params = {
            p.name: p
            for p in command.params
            if p.param_type_name == "option" and p.name and p.name not in _EXCLUDED
        }
        yield path, params


def _unknown(config: ConfigFile, key: str, known: list[str]) -> UsageError:
    return UsageError(
        f"config file {config.path}: unknown key {key!r} (known keys: {', '.join(known)})"
    )


def _check(config: ConfigFile, key: str, param: Any, value: Any) -> None:
    annotation = _unwrap_optional(param.type_descriptor.annotation)
    if typing.get_origin(annotation) is list:
        (item_type,) = typing.get_args(annotation) or (str,)
        if not isinstance(value, list) or not all(_fits(item, item_type) for item in value):
            raise _wrong(config, key, f"a list of {_expected(item_type)}", value)
        return
    if not _fits(value, annotation):
        raise _wrong(config, key, _expected(annotation), value)


def _unwrap_optional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return args[0] if is_union and len(args) == 1 else annotation


def _fits(value: Any, annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return value in [member.value for member in annotation]
    if annotation is bool:
        return type(value) is bool
    if annotation is int:
        return type(value) is int
    if annotation is float:
        return type(value) in (int, float)
    return isinstance(value, str)


def _expected(annotation: Any) -> str:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(str(member.value) for member in annotation)
    names = {bool: "true or false", int: "an integer", float: "a number"}
    return names.get(annotation, "a string")


def _wrong(config: ConfigFile, key: str, expected: str, value: Any) -> UsageError:
    return UsageError(f"config file {config.path}: key {key!r} must be {expected}, got {value!r}")


def source_of(ctx: typer.Context, name: str) -> str:
    """Where a parameter's value came from: flag, environment, config file or default."""
    source = ctx.get_parameter_source(name)
    label = getattr(source, "name", "DEFAULT")
    return {
        "COMMANDLINE": "flag",
        "ENVIRONMENT": "environment",
        "DEFAULT_MAP": "config file",
        "PROMPT": "prompt",
    }.get(label, "default")
