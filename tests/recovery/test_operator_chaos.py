"""The seeded operator-chaos test: random sequences of the CLI's commands and the fixes they
print (phase moves forward and back, validate, check and its fixes, repair, import --prune,
export, backup, restore, a state file removed or damaged, the phase file removed, cut short or
overwritten with garbage and then the `migrator phase recover` line that `status` prints pasted)
run beside a live writer process (`tests.writers rewrite`, which retries a write refused while
the phase is unknown), and afterwards every acknowledged write's newest version is in the
primary store. One sequence in `make test`; `--soak` runs twelve, longer."""
# Each writer rewrites the targets from the version it reads, so a later sequence's newest
# acknowledged write is judged from its own count alone.

from __future__ import annotations

import random
import shlex
from collections.abc import Callable
from typing import Any

import pytest

import migrator
from tests.live.conftest import P1, P2, P3, Live, sid
from tests.recovery.test_no_advice_loses_data import hints, run_hint

TARGETS = [(P1, sid(0, 1)), (P2, sid(1, 2)), (P3, sid(2, 3))]


def _op(live: Live, args: tuple[str, ...]) -> str:
    """Run one command as an operator would; its output (any exit code but a traceback)."""
    result = live.cli(*args)
    assert "Traceback" not in result.output, (args, result.output)
    assert result.exit_code in (0, 1, 2), (args, result.output)
    return result.output


def _choices(live: Live, n: int) -> list[Callable[[], Any]]:
    state = live.json_dir / ".migrator"
    out = live.json_dir.parent / f"export-{n}"
    backups = state / "backups"

    def restore() -> str:
        made = sorted(backups.iterdir()) if backups.is_dir() else []
        return _op(live, ("restore", str(made[-1]), "--yes")) if made else ""

    def check_and_fix() -> None:
        for line in hints(_op(live, ("check",))):
            run_hint(live, line)

    def damage(name: str) -> None:
        path = state / name
        if path.exists():
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    def lose_phase(how: Callable[[], None]) -> None:
        """The phase file lost, then the operator pastes what `status` says to run; when that
        cannot tell the phase (a store that never moved: no history or journal), the phase the
        operator last set goes where its refusal says (`--phase`)."""
        with migrator.open_store(live.json_dir, live.db) as store:
            known = store.phase.value
        how()
        recover = [line for line in hints(_op(live, ("status",))) if "phase recover" in line]
        assert recover or live.cli("status").exit_code == 0
        for line in recover:
            words = shlex.split(line)
            result = live.cli(*words[1:])
            if result.exit_code == 2 and "with --phase saying which" in result.output:
                result = live.cli(*words[1:], "--phase", known)
            assert result.exit_code == 0, (line, result.output)

    phase = state / "phase.json"

    return [
        lambda: _op(live, ("phase", "set", "dual-write")),
        lambda: (_op(live, ("validate",)), _op(live, ("phase", "set", "sqlite-primary"))),
        lambda: _op(live, ("phase", "set", "sqlite-only")),
        lambda: _op(live, ("phase", "set", "json-only")),
        lambda: _op(live, ("validate",)),
        check_and_fix,
        lambda: _op(live, ("repair",)),
        lambda: _op(live, ("import", "--prune")),
        lambda: _op(live, ("export", "--out", str(out))),
        lambda: _op(live, ("export", "--out", str(live.json_dir), "--force")),
        lambda: _op(live, ("backup",)),
        restore,
        lambda: (state / "history.jsonl").unlink(missing_ok=True),
        lambda: damage("history.jsonl"),
        lambda: lose_phase(lambda: phase.unlink(missing_ok=True)),
        lambda: lose_phase(lambda: damage("phase.json")),
        lambda: lose_phase(lambda: phase.write_bytes(b"\x00garbage{")),
    ]


def _newest_acknowledged(writes: int) -> dict[str, str]:
    """The writer rewrites the targets in turn, write n setting `task` to `rewritten n`."""
    newest: dict[str, str] = {}
    for n in range(writes):
        newest[TARGETS[n % len(TARGETS)][1]] = f"rewritten {n}"
    return newest


@pytest.mark.parametrize("seed", [5, pytest.param(31, marks=pytest.mark.soak)])
def test_operator_chaos_beside_a_writer_keeps_every_acknowledged_write(
    live: Live, start_writer: Any, request: pytest.FixtureRequest, seed: int
) -> None:
    """Seeded sequences of commands and printed fixes while a writer writes (one of 8 steps;
    with --soak, six of 24 on the same stores): after each, the primary store (the phase's)
    holds every target's newest acknowledged version."""
    soak = bool(request.config.getoption("--soak"))
    for sequence in [seed] + ([seed * 100 + k for k in range(5)] if soak else []):
        rng = random.Random(sequence)
        writer = start_writer(TARGETS)
        ran = []
        for step in range(24 if soak else 8):
            choices = _choices(live, step)
            index = rng.randrange(len(choices))
            ran.append(index)
            choices[index]()
        writes = writer.stop()
        assert writes >= len(TARGETS)
        with migrator.open_store(live.json_dir, live.db) as store:
            for doc_id, task in _newest_acknowledged(writes).items():
                doc = store.get(doc_id)
                assert doc is not None and doc["task"] == task, (sequence, ran, doc_id, doc)
