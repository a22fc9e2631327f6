"""The grouping that spreads the suite over xdist workers (tests/conftest.py): tests that share a
module fixture run on one worker, so that it is built once; a notebook's cells stay together; and
each lesson's tests carry its marker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import lesson_marker, lessons_of
from tests.support.course import LESSONS, REPO

SHARED = '''
import os
import pytest

PER_WORKER_FIXTURES = ("cheap",)


@pytest.fixture(scope="module")
def expensive(tmp_path_factory):
    with open(os.environ["BUILT_LOG"], "a") as log:
        log.write(f"expensive {os.environ.get('PYTEST_XDIST_WORKER')}\\n")


@pytest.fixture(scope="module")
def cheap():
    with open(os.environ["BUILT_LOG"], "a") as log:
        log.write(f"cheap {os.environ.get('PYTEST_XDIST_WORKER')}\\n")

'''


def test_tests_sharing_a_module_fixture_run_on_one_worker_and_the_others_spread(tmp_path):
    """A fixture built twice, or grouping silently dropped (as pytest 9.2 does to xdist's
    loadgroup: pytest-xdist#1386), shows in how often and where the fixtures are built."""
    (tmp_path / "conftest.py").write_text("from tests.conftest import pytest_collection_modifyitems  # noqa: F401\n")
    body = SHARED + "".join(f"def test_shared_{i}(expensive):\n    pass\n\n\n" for i in range(6))
    body += "".join(f"def test_cheap_{i}(cheap):\n    import time; time.sleep(0.3)\n\n\n" for i in range(6))
    (tmp_path / "test_sample.py").write_text(body)
    log = tmp_path / "built.log"
    env = dict(os.environ, BUILT_LOG=str(log), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist",
                           "loadgroup", str(tmp_path / "test_sample.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    built = log.read_text().split("\n")
    assert sum(line.startswith("expensive") for line in built) == 1, built
    assert {line for line in built if line.startswith("cheap")} == {"cheap gw0", "cheap gw1"}, built


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_lesson_has_a_marker_and_its_notebook_cells_carry_it(lesson, pytestconfig):
    assert any(line.startswith(f"{lesson_marker(lesson)}:") for line in pytestconfig.getini("markers"))

    class Cell:  # what lessons_of reads of an nbval item
        path = REPO / "solutions" / lesson / f"{lesson}.ipynb"

    assert lessons_of(Cell()) == {lesson}


def test_a_lesson_test_module_is_marked_by_its_number():
    class Item:
        path = Path(__file__).with_name("test_lesson02_selection.py")

    assert lessons_of(Item()) == {next(lesson for lesson in LESSONS if lesson.startswith("02"))}
    Item.path = Path(__file__)
    assert lessons_of(Item()) == set()
