"""Tidy every command's `--help` once all commands are registered: an Examples section for each,
and docstring paragraphs joined into one line each so the help rewraps them to the terminal
instead of keeping the source's line breaks (Typer's Rich mode keeps them, which renders ragged).
"""

from __future__ import annotations

import inspect

import typer

_J = "--json-dir store --db app.db"

#: Command path -> example command lines (no Rich markup: square brackets would vanish).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": ("migrator --version", "migrator import --help"),
    "archive": ("migrator archive --json-dir store --out archived",),
    "backup": (f"migrator backup {_J}", f"migrator backup {_J} --keep 5"),
    "backups": ("migrator backups --json-dir store",),
    "check": (f"migrator check {_J} --format junit --output check.xml",),
    "config": ("migrator config",),
    "db": ("migrator db upgrade --db app.db",),
    "db check": ("migrator db check --db app.db",),
    "db current": ("migrator db current --db app.db",),
    "db downgrade": ("migrator db downgrade -1 --db app.db",),
    "db history": ("migrator db history",),
    "db init": ("migrator db init",),
    "db revision": ("migrator db revision --db app.db -m 'add title' --autogenerate",),
    "db upgrade": ("migrator db upgrade --db app.db", "migrator db upgrade head --db app.db"),
    "doctor": (f"migrator doctor {_J}",),
    "export": ("migrator export --db app.db --out exported",),
    "generate": ("migrator generate --sessions 1000 --out store --seed 7",),
    "history": ("migrator history --json-dir store --limit 5",),
    "import": (f"migrator import {_J}", f"migrator import {_J} --dry-run"),
    "init": ("migrator init --db app.db",),
    "phase": (f"migrator phase show {_J}",),
    "phase configure": (f"migrator phase configure {_J} --shadow-rate 0.1",),
    "phase recover": (f"migrator phase recover {_J}",),
    "phase set": (f"migrator phase set dual-write {_J}",),
    "phase show": (f"migrator phase show {_J} --format json",),
    "query": (
        f"migrator query {_J} --where status=failed --order -created_at --limit 5",
        f"migrator query {_J} --where 'created_at>=2025-01-01' --limit 20",
    ),
    "reindex": ("migrator reindex --db app.db",),
    "repair": (f"migrator repair {_J} --dry-run",),
    "restore": ("migrator restore .migrator/backups/BACKUP --json-dir store --db app.db",),
    "search": (f"migrator search 'refactor store' {_J} --limit 3",),
    "status": (f"migrator status {_J}",),
    "validate": (f"migrator validate {_J}", f"migrator validate {_J} --sample 500"),
}


def unwrap(text: str) -> str:
    """Each paragraph of a docstring on one line (paragraphs stay apart)."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _epilog(path: str) -> str:
    lines = EXAMPLES.get(path)
    if not lines:
        raise KeyError(f"migrator {path}: add an example to migrator/cli/help_text.py")
    return "Examples:\n\n" + "\n".join(f"  $ {line}" for line in lines)


def tidy(app: typer.Typer, path: str = "") -> None:
    """Give every command and group of `app` (in place) its examples and one-line paragraphs."""
    info = app.info
    if isinstance(info.help, str):
        info.help = unwrap(info.help)
    info.epilog = _epilog(path)
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        doc = command.help if command.help is not None else inspect.getdoc(command.callback)
        command.help = unwrap(doc) if doc else doc
        command.epilog = _epilog(f"{path} {name}".strip())
    for group in app.registered_groups:
        if group.typer_instance is not None:
            tidy(group.typer_instance, f"{path} {group.name}".strip())
