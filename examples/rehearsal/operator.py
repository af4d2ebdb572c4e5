"""The operator's script: the migrator commands a team runs while the service serves.

Each step is the real `migrator` command line in a subprocess (the same as typing it), with
the exit code it should end with; the output goes to `operator.log` and JSON summaries to the
report folder. Between steps the operator waits, so every phase serves load for a while. The
script stops at the first step that ends otherwise than expected: what follows would not make
sense (the report says which step and why).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from examples.rehearsal.server import Service, child_env
from examples.rehearsal.timeline import Event, Timeline

#: `validate --min-age`: documents written in the last seconds are writes in flight.
MIN_AGE_SECONDS = 5


@dataclass(frozen=True)
class Step:
    """A command (its arguments after `migrator`), or an action, and what ends it well."""

    label: str
    args: tuple[str, ...] = ()
    action: Callable[[], str] | None = None
    expect: tuple[int, ...] = (0,)
    #: The phase entered when it succeeds (a new window of the report).
    enters: str | None = None
    #: Seconds to serve afterwards, as a share of the dwell time.
    dwell: float = 1.0


@dataclass
class Operator:
    """Runs the steps against the stores at `json_dir` and `db`."""

    json_dir: Path
    db: str
    out: Path
    timeline: Timeline
    service: Service
    dwell: float
    echo: bool = True
    failed: str | None = None
    log_lines: list[str] = field(default_factory=list)

    def script(self) -> list[Step]:
        """The rehearsal: forward through every phase, a worker killed, and back."""
        live = ("--min-age", str(MIN_AGE_SECONDS), "--recheck")
        return [
            Step(
                "phase set dual-write",
                ("phase", "set", "dual-write"),
                enters="dual-write",
                dwell=0.5,
            ),
            Step(
                "import",
                ("import", "--quiet", "--summary-file", self._file("import.json")),
                dwell=0.5,
            ),
            Step(
                "check",
                ("check", "--quiet", *live, "--summary-file", self._file("check.json")),
                dwell=0.25,
            ),
            Step(
                "validate --min-age --recheck",
                (
                    "validate",
                    "--quiet",
                    *live,
                    "--summary-file",
                    self._file("validate-dual-write.json"),
                ),
            ),
            Step(
                "phase set sqlite-primary",
                ("phase", "set", "sqlite-primary"),
                enters="sqlite-primary",
                dwell=0.5,
            ),
            Step("SIGKILL a worker", action=self._kill, dwell=0.25),
            Step("repair", ("repair", "--summary-file", self._file("repair.json")), dwell=0.25),
            Step("backup", ("backup", "--quiet")),
            Step("phase set sqlite-only", ("phase", "set", "sqlite-only"), enters="sqlite-only"),
            Step("phase set dual-write", ("phase", "set", "dual-write"), enters="dual-write"),
            Step(
                "phase set json-only",
                ("phase", "set", "json-only"),
                enters="json-only",
                dwell=1.5,
            ),
        ]

    def run(self, steps: list[Step]) -> None:
        """Serve a while in json-only, then each step and its dwell."""
        time.sleep(self.dwell)
        for step in steps:
            started = self.timeline.now()
            code, detail = self._do(step)
            ok = code in step.expect
            self.timeline.record(Event(self.timeline.now(), "step", step.label, started, code, ok))
            line = f"[{self.timeline.now():7.1f}s] {step.label}: exit {code}"
            line += "" if ok else f" (expected {step.expect}) {detail}"
            self.log_lines.append(line)
            if self.echo:
                print(line, flush=True)
            if not ok:
                self.failed = f"{step.label}: exit {code}, expected {step.expect}: {detail}"
                return
            if step.enters is not None:
                self.timeline.enter(step.enters)
            time.sleep(self.dwell * step.dwell)

    def command(self, *args: str) -> tuple[int, str]:
        """`migrator ARGS --json-dir J --db D`; its exit code and its last output line."""
        argv = [sys.executable, "-m", "migrator", *args, "--json-dir", str(self.json_dir)]
        argv += ["--db", self.db]
        with (self.out / "operator.log").open("a") as log:
            log.write(f"\n$ migrator {' '.join(args)}\n")
            log.flush()
            done = subprocess.run(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=child_env(COLUMNS="100"),
                check=False,
            )
            log.write(done.stdout)
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        return done.returncode, lines[-1].strip() if lines else ""

    def _do(self, step: Step) -> tuple[int, str]:
        if step.action is not None:
            try:
                return 0, step.action()
            except RuntimeError as exc:
                return 1, str(exc)
        return self.command(*step.args)

    def _kill(self) -> str:
        """SIGKILL one worker mid-load and wait for its replacement to serve."""
        victim = self.service.kill_worker()
        self.timeline.record(Event(self.timeline.now(), "kill", f"SIGKILL worker {victim}"))
        fresh = self.service.wait_replaced(victim)
        self.timeline.record(Event(self.timeline.now(), "restart", f"worker {fresh} started"))
        return f"worker {victim} killed, {fresh} took its place"

    def _file(self, name: str) -> str:
        return str(self.out / name)
