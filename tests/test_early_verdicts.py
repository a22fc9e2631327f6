"""Verdicts made while the student's kernel runs (`StartVerdicts`) are the ones `VerdictPreprocessor`
would make afterwards, and it takes them instead of asking the fork server again."""

from __future__ import annotations

import copy
import threading
import time

import nbformat
import pytest
from traitlets.config import Config

from nb_helpers.grading import client as client_module
from nb_helpers.grading.verdict import EarlyVerdicts, StartVerdicts, VerdictPreprocessor
from tests.support.course import REPO

LESSON = "01_activation_functions"


def test_outputs_come_in_order_and_are_waited_for():
    def produce(request):
        time.sleep(0.2)
        return f"out-{request['n']}"

    early = EarlyVerdicts([{"n": 1}, {"n": 2}], produce)
    early.start()
    assert early.output({"n": 2}) == "out-2"  # waits for it
    assert early.output({"n": 1}) == "out-1"
    assert early.output({"n": 3}) is None  # never asked: the caller makes it itself


def test_a_failure_leaves_the_rest_to_the_caller():
    def produce(request):
        if request["n"] == 2:
            raise RuntimeError("infrastructure")
        return request["n"]

    early = EarlyVerdicts([{"n": 1}, {"n": 2}, {"n": 3}], produce)
    early.start()
    assert early.output({"n": 1}) == 1
    assert early.output({"n": 2}) is None and early.output({"n": 3}) is None


def test_cancel_stops_asking():
    started = []

    def produce(request):
        started.append(request["n"])
        time.sleep(0.3)
        return request["n"]

    early = EarlyVerdicts([{"n": n} for n in range(5)], produce)
    early.start()
    time.sleep(0.1)
    early.cancel()
    early.thread.join(5)
    assert started == [0]


@pytest.fixture
def asked(monkeypatch):
    """The names of the threads that asked the fork server, one per request."""
    threads: list[str] = []
    real = client_module.ForkServerClient.request

    def request(self, req):
        threads.append(threading.current_thread().name)
        return real(self, req)

    monkeypatch.setattr(client_module.ForkServerClient, "request", request)
    return threads


def test_the_preprocessor_takes_the_early_verdicts_and_they_match(asked, tmp_path):
    config = Config()
    config.VerdictPreprocessor.sandbox = False
    config.Autograde.autograde_preprocessors = [StartVerdicts, VerdictPreprocessor]
    nb = nbformat.read(REPO / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4)
    # one wrong answer: early verdicts must keep each exercise's own outcome
    wrong = next(c for c in nb.cells if "def relu" in c.source)
    wrong.source = wrong.source.replace("return", "return 0 *", 1)
    resources = {"nbgrader": {"assignment": LESSON, "student": "s1", "db_url": ""},
                 "metadata": {"path": str(tmp_path)}}

    late_nb, _ = VerdictPreprocessor(config=config).preprocess(copy.deepcopy(nb), copy.deepcopy(resources))
    checks = len(asked)
    assert checks >= 5 and set(asked) == {threading.current_thread().name}

    asked.clear()
    early_nb, early_resources = StartVerdicts(config=config).preprocess(copy.deepcopy(nb), copy.deepcopy(resources))
    early_nb, _ = VerdictPreprocessor(config=config).preprocess(early_nb, early_resources)
    assert asked == ["nbh-early-verdicts"] * checks  # nothing asked again afterwards
    assert [c.get("outputs") for c in early_nb.cells] == [c.get("outputs") for c in late_nb.cells]
    failed = [c for c in early_nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert len(failed) == 1 and "relu" in failed[0].outputs[0]["evalue"]
