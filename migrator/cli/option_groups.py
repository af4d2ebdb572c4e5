"""Option groups: a set of options several commands share, declared once as a dataclass.

A command parameter annotated with an `OptionGroup` dataclass (`run: StoreArgs`) stands for
the dataclass's fields, each an option of the command as if written in its signature (same
name, `Annotated` type and default); the command receives one value of the dataclass. So
`--json-dir`, `--db` and `--schema` are declared once, not in every command, and a verb's
options reach it as one value (`verb(**arguments(run))`) instead of a keyword list written
out in both the command and the verb. A field is named as the option's config-file key (the
flag without dashes); where the verb's parameter is named otherwise, the field says so once:
`field(default=None, metadata=parameter("ignore_paths"))`. Typer has no such grouping, and
click's option groups are not reachable through it. `App` is the Typer app whose `command`
does this expansion.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import is_dataclass
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar, get_type_hints

import typer

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

F = TypeVar("F", bound=Callable[..., Any])


class OptionGroup:
    """The base of an option group; subclasses are dataclasses of `Annotated` options."""


class App(typer.Typer):
    """A Typer app whose commands may take option groups."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorate(func: F) -> F:
            register(expand_groups(func))
            return func

        return decorate


def expand_groups(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` as Typer must see it: each option-group parameter replaced by its fields (every
    parameter keyword-only, as Typer passes them), and the group's value built from them when
    the command runs. `func` itself when it takes no group."""
    hints = get_type_hints(func, include_extras=True)
    groups = {name: hint for name, hint in hints.items() if _is_group(hint)}
    if not groups:
        return func
    parameters: list[inspect.Parameter] = []
    for parameter in inspect.signature(func).parameters.values():
        group = groups.get(parameter.name)
        if group is None:
            parameters.append(_keyword(parameter.name, hints[parameter.name], parameter.default))
            continue
        types = get_type_hints(group, include_extras=True)
        for field in dataclasses.fields(group):
            given = field.default is not dataclasses.MISSING
            default = field.default if given else inspect.Parameter.empty
            parameters.append(_keyword(field.name, types[field.name], default))

    @functools.wraps(func)
    def command(**given: Any) -> Any:
        for name, group in groups.items():
            given[name] = group(**{f.name: given.pop(f.name) for f in dataclasses.fields(group)})
        return func(**given)

    signature = inspect.Signature(parameters)  # a field named twice is a ValueError here
    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command


def parameter(name: str) -> dict[str, str]:
    """A field's metadata: the verb's parameter it fills, when not named as the field."""
    return {"parameter": name}


def arguments(group: DataclassInstance) -> dict[str, Any]:
    """A group's values as keyword arguments of its verb."""
    return {
        field.metadata.get("parameter", field.name): getattr(group, field.name)
        for field in dataclasses.fields(group)
    }


def _is_group(hint: Any) -> TypeGuard[type[DataclassInstance]]:
    return isinstance(hint, type) and issubclass(hint, OptionGroup) and is_dataclass(hint)


def _keyword(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )
