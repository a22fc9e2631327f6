"""References run in the grading process, which may have other threads (a Dask worker's event
loop): their use of Python's `random` must not shift the draws a check seeds and records."""

from __future__ import annotations

import random
import threading

import pytest

pytest.importorskip("torch")

from nb_helpers.checks import plain  # noqa: E402
from nb_helpers.checks.collection import collect  # noqa: E402
from nb_helpers.checks.declaration import REGISTRY  # noqa: E402
from nb_helpers.checks.judgement import judge  # noqa: E402


def test_reference_draws_are_unaffected_by_other_threads_drawing_from_random():
    check = REGISTRY["random_restarts"]  # its probe records the global random draws inside train_fn
    cases = check.all_cases(7)
    outcomes = plain.decode(plain.encode(collect(check, check.reference, cases, trap=False)))
    stop = threading.Event()

    def draw_forever() -> None:
        while not stop.is_set():
            random.random()

    thread = threading.Thread(target=draw_forever, daemon=True)
    thread.start()
    try:
        verdicts = [judge(check, cases, outcomes) for _ in range(5)]
    finally:
        stop.set()
        thread.join()
    assert all(v.passed for v in verdicts), next(v.message for v in verdicts if not v.passed)
    assert random.random == random._inst.random  # the module's functions are restored
