"""Shadow reads of `dual-write`: a sampled share of reads asks SQL too and records how its
answer compares with JSON's, which the caller gets. Recording never raises: a shadow read that
fails is an incident, never the application's error."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from typing import Any

from migrator.adapters.incidents import IncidentLog
from migrator.adapters.phase_state import PhaseState
from migrator.adapters.shadow import (
    ShadowOutcome,
    compare_document,
    compare_partition,
    error_outcome,
)
from migrator.adapters.state_dir import SHADOW_LOG
from migrator.errors import UsageError
from migrator.schemas.comparison import compile_ignore_paths

logger = logging.getLogger(__name__)


class ShadowReads:
    """Sampling and recording of the shadow reads of one store.

    `rate` (0 to 1) overrides the phase state's sampling rate; None follows the state, so a
    rate another process sets applies from the next read."""

    def __init__(
        self,
        id_key: str,
        state: PhaseState,
        incidents: IncidentLog,
        *,
        rate: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise UsageError(f"shadow rate must be between 0 and 1, got {rate}")
        self._id_key = id_key
        self._state = state
        self._incidents = incidents
        self._rate = rate
        self._rng = rng or random.Random()
        self._ignore: tuple[tuple[str, ...], tuple[re.Pattern[str], ...]] = ((), ())

    def sampled(self) -> bool:
        """Whether this read is one to shadow."""
        rate = self._rate
        if rate is None:
            rate = self._state.current().shadow_rate
        return rate > 0 and self._rng.random() < rate

    def compare(
        self,
        what: str,
        key: str,
        control: Any,
        candidate: Callable[[], Any],
        reread: Callable[[], Any],
    ) -> None:
        """Compare SQL's answer (`candidate`) with JSON's (`control`); record, never raise.
        A write between the two reads looks like a mismatch, so a mismatch is checked once
        more against JSON read again (`reread`)."""
        try:
            outcome = self._experiment(what, key, control, candidate)
            if outcome.verdict == "mismatched":
                outcome = self._experiment(what, key, reread(), candidate)
            self._publish(what, key, outcome)
        except Exception:
            logger.exception("shadow %s of %r could not be recorded", what, key)

    def _ignore_patterns(self) -> tuple[re.Pattern[str], ...]:
        paths = self._state.current().ignore_paths
        if paths != self._ignore[0]:
            self._ignore = (paths, compile_ignore_paths(paths))
        return self._ignore[1]

    def _experiment(
        self, what: str, key: str, control: Any, candidate: Callable[[], Any]
    ) -> ShadowOutcome:
        ignore = self._ignore_patterns()
        try:
            found = candidate()
            if what == "get":
                return compare_document(key, control, found, ignore)
            return compare_partition(self._id_key, control, found, ignore)
        except Exception as exc:  # SQL failed, or answered what JSON cannot hold (a BLOB)
            return error_outcome(exc)

    def _publish(self, what: str, key: str, outcome: ShadowOutcome) -> None:
        incidents = self._incidents
        incidents.count("shadow_compared")
        if outcome.verdict == "matched":
            incidents.count("shadow_matched")
        elif outcome.verdict == "ignored":
            incidents.count("shadow_ignored")
        elif outcome.verdict == "error":
            entry = {"read": what, "key": key, "error": outcome.error}
            incidents.record(SHADOW_LOG, "shadow_errors", [entry])
        else:
            entries = [
                {
                    "read": what,
                    "key": key,
                    "id": finding.doc_id,
                    "paths": [d.path for d in finding.differences],
                    "differences": [d.to_dict() for d in finding.differences],
                }
                for finding in outcome.findings
            ]
            incidents.record(SHADOW_LOG, "shadow_mismatched", entries)
