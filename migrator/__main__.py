"""`python -m migrator` is the `migrator` command."""

from migrator.cli import run

run()
