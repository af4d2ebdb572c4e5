"""The dual-write state machine of tests/dual_write (random puts, deletes, phase moves, failing
secondaries and repairs, checked against a plain model after every step), run longer: 300
examples of up to 60 steps with --soak, a short smoke run otherwise (the dual-write suite
runs it at its own size in every `make test`)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.dual_write.test_state_machine import DualWriteMachine


def test_dual_write_machine_long_run(soak: bool) -> None:
    """Every step of a long random run keeps reads equal to the model and, with nothing
    pending, both stores equal."""
    examples, steps = (300, 60) if soak else (3, 20)
    run_state_machine_as_test(
        DualWriteMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
