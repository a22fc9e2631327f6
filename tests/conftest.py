"""Shared pytest configuration: the shared fixtures, nbval tweaks, a marker per lesson (`pytest -m
lesson02`) and the grouping that spreads tests over xdist workers (`--dist loadgroup`). What a test
needs from outside Python (COURSE_REQUIRE_ALL) is in tests/support/requirements.py."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.course import LESSONS


@pytest.fixture(scope="session")
def released_course(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`released_course(dest, lessons=..., drills=..., config=...)`: a released course copied to
    `dest`, each distinct one released once per test run (tests.support.course.released_course)."""
    from tests.support.course import released_course as release

    base = tmp_path_factory.getbasetemp()
    # one cache per run: under xdist, beside the workers' own temporary folders, which it shares
    cache = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "released-courses"
    return lambda dest, **kwargs: release(dest, cache, **kwargs)


@pytest.fixture(scope="session")
def fork_server() -> Any:
    """A started verdict fork server (unsandboxed), one per test process."""
    from nb_helpers.grading.client import ForkServerClient

    client = ForkServerClient()
    client.start()
    yield client
    client.close()


def lesson_marker(lesson: str) -> str:
    """The marker of a lesson's tests: `lesson02` for 02_training_neural_networks."""
    return f"lesson{lesson[:2]}"


def pytest_configure(config):
    for lesson in LESSONS:
        config.addinivalue_line("markers", f"{lesson_marker(lesson)}: tests that run or check lesson {lesson}")


def pytest_collectstart(collector):
    if collector.path is not None and collector.path.suffix == ".ipynb":
        # Widget views carry random model ids; JavaScript/HTML reprs are not lesson content.
        collector.skip_compare += ("text/html", "application/javascript", "stderr")


def lessons_of(item: pytest.Item) -> set[str]:
    """The lessons a test runs or checks: the lesson folder of a notebook cell, the number in
    `test_lessonNN_*.py`, a lesson (or an object with a `.lesson`, such as a check) among its
    parameters, or the module's `LESSON` / `SAMPLE_LESSON` constant."""
    found: set[str] = set()
    parts = Path(str(item.path)).parts
    found |= {lesson for lesson in LESSONS if lesson in parts}
    number = re.match(r"test_lesson(\d\d)_", Path(str(item.path)).name)
    if number:
        found |= {lesson for lesson in LESSONS if lesson.startswith(number.group(1))}
    params = getattr(getattr(item, "callspec", None), "params", {})
    for value in params.values():
        for v in value if isinstance(value, tuple) else (value,):
            lesson = v if isinstance(v, str) else getattr(v, "lesson", None)
            if isinstance(lesson, str) and lesson in LESSONS:
                found.add(lesson)
    module = getattr(item, "module", None)
    for name in ("LESSON", "SAMPLE_LESSON"):
        value = getattr(module, name, None)
        if isinstance(value, str) and value in LESSONS:
            found.add(value)
    return found


def shared_fixture_groups(items: list[pytest.Item]) -> dict[pytest.Item, str]:
    """An xdist group per set of tests that share an expensive fixture instance (one of module,
    class or package scope: a graded class), so that each instance is built once, on one worker;
    tests that share none are spread freely. A module lists in `PER_WORKER_FIXTURES` the fixtures
    cheap enough to build on each worker (a browser, a fork server), which then group nothing.
    Union-find over fixture instances."""
    parent: dict[tuple, tuple] = {}

    def find(node: tuple) -> tuple:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    instances: dict[pytest.Item, list[tuple]] = {}
    for item in items:
        info, module = getattr(item, "_fixtureinfo", None), getattr(item, "module", None)
        if info is None or module is None:
            continue
        indices = getattr(getattr(item, "callspec", None), "indices", {})
        per_worker = set(getattr(module, "PER_WORKER_FIXTURES", ()))
        nodes = [(module.__name__ if fixturedefs[-1].scope != "package" else "", name, indices.get(name))
                 for name, fixturedefs in info.name2fixturedefs.items()
                 if fixturedefs and fixturedefs[-1].scope in ("module", "class", "package") and name not in per_worker]
        for node in nodes[1:]:
            parent[find(node)] = find(nodes[0])
        if nodes:
            instances[item] = nodes
    return {item: "-".join(str(part) for part in find(nodes[0])) for item, nodes in instances.items()}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            item.output_timeout = 60  # nbval hard-codes 5 s per output message
            # a notebook's cells run in order in one kernel: they go to one worker together
            item.add_marker(pytest.mark.xdist_group(f"nbval-{Path(str(item.path)).stem}"))
        for lesson in lessons_of(item):
            item.add_marker(lesson_marker(lesson))
    groups = shared_fixture_groups(items)
    for item, group in groups.items():
        item.add_marker(pytest.mark.xdist_group(group))
    # The longest work first, so that no worker is left with a graded class while the other idles:
    # slow tests that share a fixture (a graded class), then other slow tests and notebooks, then the
    # rest (the Makefile keeps this order: --no-loadscope-reorder).
    def cost_class(item: pytest.Item) -> int:
        slow = item.get_closest_marker("slow") is not None
        return 0 if slow and item in groups else 1 if slow or type(item).__name__ == "IPyNbCell" else 2

    items.sort(key=cost_class)

