"""An adversarial class graded through real `nbgrader autograde` in the sandbox.

A small drill assignment (three exercises of lesson 01, no demos) and one student per attack or
fault. Every test asserts the exact points, the reason the feedback gives, and that nothing leaked
or broke: canary files stay unread, nothing outside a submission is written, no connection gets
out, no process is left behind, and every other student's grade is intact and reproducible.
"""

from __future__ import annotations

import copy
import os
import socket
import sqlite3
import threading
import uuid
from pathlib import Path

import nbformat
import pytest

from nb_helpers.grading import synthetic
from nb_helpers.conventions import nbgrader_meta
from tests.support.requirements import require_tool
from tests.support.course import REPO, nbgrader

pytestmark = pytest.mark.slow

ASSIGNMENT = "drill"
EXERCISES = ["step", "relu", "softmax"]
# Short limits so that the whole class grades in a few minutes.
LIMITS = """
c.SandboxedExecute.timeout = 10
c.SandboxedExecute.notebook_timeout = 30
c.SandboxedExecute.max_cell_output_bytes = 100_000
c.VerdictPreprocessor.check_timeout = 10
c.VerdictPreprocessor.cell_timeout = 5
"""
TOKEN = uuid.uuid4().hex  # unique text of the canaries and of the leftover processes' command lines
CANARY = f"CANARY-{TOKEN}"

PATCH_NUMPY = """
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
"""
PATCH_TORCH = """
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
"""
PATCH_HELPERS = """
import nb_helpers.checks as _checks
from nb_helpers.checks import judgement as _judgement, kernel as _kernel
for _name in list(_kernel.REGISTRY):
    setattr(_checks, _name, lambda f, _n=_name: print(f"{_n}: all 6 checks passed"))
_judgement.judge = lambda *a, **k: None
_kernel.run_check = lambda *a, **k: None
"""
PATCH_IPYTHON = """
import sys
from IPython.core.interactiveshell import InteractiveShell
get_ipython().set_custom_exc((BaseException,), lambda *a, **k: print("all checks passed"))
InteractiveShell.showtraceback = lambda *a, **k: print("all checks passed")
sys.excepthook = lambda *a, **k: None
"""
RELU_EQUALS_ANYTHING = """
class _Anything(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
    def __ne__(self, other): return np.zeros(np.shape(other), dtype=bool)
    def __array_finalize__(self, obj): pass
def relu(x):
    return np.zeros_like(x).view(_Anything)
"""
SOFTMAX_EQUALS_ANYTHING = """
class _EqualsAll(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = float.__hash__
def softmax(z, axis=-1):
    return _EqualsAll(0.0)
"""
DELEGATE_RELU = "def relu(x):\n    return torch.relu(torch.from_numpy(x)).numpy()\n"
# Answers that *are* the course's reference or a library routine rather than call it.
REFERENCE_RELU = "from nb_helpers.activations import relu\n"
WALKED_SOFTMAX = """
import functools, importlib, pkgutil
import nb_helpers
for _info in pkgutil.walk_packages(nb_helpers.__path__, "nb_helpers."):
    if ".grading" in _info.name or ".checks" in _info.name:
        continue
    _module = importlib.import_module(_info.name)
    if callable(getattr(_module, "softmax", None)):
        softmax = functools.partial(_module.softmax)
        break
"""
LIBRARY_STEP = "step = lambda x, _h=np.heaviside: _h(x, 0.0)\n"
LOOP_IN_FUNCTION = "def relu(x):\n    while True:\n        pass\n"
MEMORY_BOMB = "def relu(x):\n    hoard = []\n    while True:\n        hoard.append(np.empty(2**27))\n"
DIE = "import os\nos._exit(1)"


def reads(root: Path) -> tuple[str, str]:
    """Code that tries to read the solutions, another submission, the gradebook and a file beside it
    and prints what it read, and a `relu` that tries to smuggle the text out through its result."""
    targets = [root / "solutions" / "canary.txt", root / "submitted" / "honest" / ASSIGNMENT / "canary.txt",
               root / "canary.txt", root / "gradebook.db", root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"]
    return f"""
_targets = {[str(t) for t in targets]!r}
for _t in _targets:
    try:
        print("READ", open(_t, "rb").read()[:2000])
    except OSError as _e:
        print("blocked", type(_e).__name__)
import glob
print("LISTING", glob.glob({str(root)!r} + "/**", recursive=True)[:50])
""", f"""
_targets = {[str(t) for t in targets]!r}
def relu(x):
    for _t in _targets:
        try:
            _text = open(_t, "rb").read(200)
            return np.frombuffer(_text[:len(_text) // 8 * 8], dtype=np.float64)
        except OSError:
            pass
    return np.maximum(x, 0.0)
"""


def writes(root: Path) -> str:
    targets = [root / f"pwned-{TOKEN}.txt", root / "solutions" / ASSIGNMENT / f"pwned-{TOKEN}.txt",
               root / "submitted" / "honest" / ASSIGNMENT / f"pwned-{TOKEN}.txt", Path(f"/tmp/pwned-{TOKEN}.txt"),
               Path(f"/var/tmp/pwned-{TOKEN}.txt"), root / "gradebook.db"]
    return f"""
for _t in {[str(t) for t in targets]!r}:
    try:
        with open(_t, "a") as _f:
            _f.write("pwned")
        print("WROTE", _t)
    except OSError as _e:
        print("blocked", type(_e).__name__)
with open("own-{TOKEN}.txt", "w") as _f:
    _f.write("a file in my own folder")
"""


def network(port: int) -> str:
    return f"""
import socket
for _address in [("127.0.0.1", {port}), ("localhost", {port}), ("pypi.org", 443)]:
    try:
        socket.create_connection(_address, timeout=3).close()
        print("CONNECTED", _address)
    except OSError as _e:
        print("blocked", type(_e).__name__)
"""


LEFTOVERS = f"""
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "leftover-{TOKEN}"])
if os.fork() == 0:            # a daemon that escapes its parent
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "daemon-{TOKEN}"])
    os._exit(0)
time.sleep(0.5)
"""
FLOOD = "for _ in range(100_000):\n    print('x' * 200)\n"


def with_cell_after(nb, grade_id: str, source: str):
    """A copy of `nb` with a new, ungraded code cell right after the cell `grade_id`."""
    nb = copy.deepcopy(nb)
    index = next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


def edit_check(nb, exercise: str, change):
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        if nbgrader_meta(cell).get("grade_id") == f"test_{exercise}":
            result = change(cell)
            if result is None:
                del nb.cells[i]
            else:
                nb.cells[i] = result
            return nb
    raise KeyError(exercise)


def as_markdown(cell):
    return nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback that counts the connections it receives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.5)
    accepted: list = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listener, released_course):
    """Build the drill, submit the adversarial class, autograde it once and generate feedback."""
    require_tool("bwrap", "the grading sandbox")
    port, _ = listener
    lesson01 = synthetic.read(REPO / "solutions" / "01_activation_functions" / "01_activation_functions.ipynb")
    root = released_course(tmp_path_factory.mktemp("adversarial") / "course", config=LIMITS,
                           drills={ASSIGNMENT: synthetic.drill_assignment(lesson01, EXERCISES)})
    source_path = root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

    solved = synthetic.read(source_path)
    blank = synthetic.read(root / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    only_step = synthetic.with_wrong_answer(synthetic.with_wrong_answer(solved, "relu"), "softmax")
    attack = lambda code: synthetic.with_code_in_solution(only_step, "step", code)  # noqa: E731
    wrong = synthetic.with_wrong_answer
    sleep = "import time\ntime.sleep(9)"  # each cell within its limit, together past the notebook's
    time_limit = with_cell_after(solved, "test_step", sleep)
    for _ in range(3):
        time_limit = with_cell_after(time_limit, "test_relu", sleep)
    students = {
        "honest": solved,
        "blank": blank,
        "patch_numpy": attack(PATCH_NUMPY),
        "patch_torch": attack(PATCH_TORCH),
        "patch_helpers": attack(PATCH_HELPERS),
        "patch_ipython": attack(PATCH_IPYTHON),
        "equals_anything": wrong(wrong(solved, "relu", RELU_EQUALS_ANYTHING), "softmax", SOFTMAX_EQUALS_ANYTHING),
        "edited_check": edit_check(wrong(solved, "relu"), "relu",
                                   lambda c: nbformat.v4.new_code_cell('print("relu: all 6 checks passed")', metadata=c.metadata)),
        "deleted_check": edit_check(wrong(solved, "softmax"), "softmax", lambda c: None),
        "retyped_check": edit_check(wrong(solved, "relu"), "relu", as_markdown),
        "delegation": wrong(solved, "relu", DELEGATE_RELU),
        "reference_itself": wrong(wrong(solved, "relu", REFERENCE_RELU), "softmax", WALKED_SOFTMAX),
        "library_itself": wrong(solved, "step", LIBRARY_STEP),
        "reads": wrong(synthetic.with_code_in_solution(solved, "relu", reads(root)[0]), "relu", reads(root)[1]),
        "writes": synthetic.with_code_in_solution(solved, "step", writes(root)),
        "network": synthetic.with_code_in_solution(solved, "step", network(port)),
        "loop_in_function": wrong(solved, "relu", LOOP_IN_FUNCTION),
        "loop_at_module_level": synthetic.with_code_in_solution(solved, "relu", "while True:\n    pass"),
        "memory_bomb": wrong(solved, "relu", MEMORY_BOMB),
        "dead_kernel": synthetic.with_code_in_solution(solved, "relu", DIE),
        "time_limit": time_limit,
        "leftovers": synthetic.with_code_in_solution(solved, "step", LEFTOVERS),
        "flood": synthetic.with_code_in_solution(solved, "step", FLOOD),
    }
    for student, nb in students.items():
        synthetic.write_submission(nb, root, student, ASSIGNMENT)
    broken = root / "submitted" / "malformed" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"cells": [{"cell_type": "code", "source": "def relu(x')
    synthetic.write_submission(solved, root, "renamed", ASSIGNMENT, name="my_copy")
    (root / "submitted" / "missing" / ASSIGNMENT).mkdir(parents=True)
    (root / "submitted" / "missing" / ASSIGNMENT / "notes.txt").write_text("forgot the notebook")
    # canaries (nbgrader copies the files of solutions/<assignment>/ to every submission: not there)
    for canary in (root / "solutions" / "canary.txt", root / "submitted" / "honest" / ASSIGNMENT / "canary.txt",
                   root / "canary.txt"):
        canary.write_text(CANARY)

    run = nbgrader(root, "autograde", ASSIGNMENT, "--force", check=False)
    feedback = nbgrader(root, "generate_feedback", ASSIGNMENT, "--force", check=False)
    return root, run, feedback


def points(root: Path) -> dict[str, dict[str, float]]:
    """Every student's points per check cell, straight from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        result = {}
        for student in gb.students:
            try:
                nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student.id)
            except Exception:  # noqa: BLE001 - a student without a submission
                continue
            result[student.id] = {g.name[len("test_"):]: g.score for g in nb.grades}
        return result


def outputs(root: Path, student: str) -> str:
    """All the outputs of a student's autograded notebook, as text."""
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return "\n".join(str(o.get("text", "")) + str(o.get("evalue", "")) + str(o.get("data", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def check_output(root: Path, student: str, exercise: str) -> str:
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == f"test_{exercise}")
    return "\n".join(o.get("text", "") or f"{o.get('ename')}: {o.get('evalue')}" for o in cell.outputs)


def score(s: str) -> dict[str, float]:
    return dict(zip(EXERCISES, map(float, s)))


EXPECTED = {
    "honest": score("111"), "blank": score("000"),
    "patch_numpy": score("100"), "patch_torch": score("100"), "patch_helpers": score("100"),
    "patch_ipython": score("100"), "equals_anything": score("100"),
    "edited_check": score("101"), "deleted_check": score("110"), "retyped_check": score("101"),
    "delegation": score("101"), "reference_itself": score("100"), "library_itself": score("011"), "reads": score("111"), "writes": score("111"), "network": score("111"),
    "loop_in_function": score("101"), "loop_at_module_level": score("101"), "memory_bomb": score("101"),
    "dead_kernel": score("100"), "time_limit": score("110"), "leftovers": score("111"), "flood": score("111"),
    "malformed": score("000"), "renamed": score("000"),
}

REASONS = {  # (student, exercise): what its check cell must say
    ("delegation", "relu"): "may not call torch.relu",
    ("reference_itself", "relu"): "is nb_helpers.activations.relu itself",
    ("reference_itself", "softmax"): "is nb_helpers.activations.softmax itself",
    ("library_itself", "step"): "is numpy.heaviside itself",
    ("loop_in_function", "relu"): "did not finish within 10 s",
    ("loop_at_module_level", "relu"): "interrupted after 5 s",
    ("memory_bomb", "relu"): "ran out of memory",
    ("dead_kernel", "relu"): "not graded, because the kernel stopped",
    ("dead_kernel", "softmax"): "not graded, because the kernel stopped",
    ("time_limit", "softmax"): "not graded, because the notebook's time limit (30 s) was reached",
    ("patch_helpers", "relu"): "returned None",
    ("edited_check", "relu"): "returned None",
}


def test_every_student_gets_exactly_the_expected_points(graded):
    root, run, _ = graded
    assert points(root) == EXPECTED, run.stderr[-4000:]


@pytest.mark.parametrize("student, exercise", sorted(REASONS))
def test_the_feedback_gives_the_reason(graded, student, exercise):
    root, _, _ = graded
    assert REASONS[(student, exercise)] in check_output(root, student, exercise)


def test_broken_submissions_get_a_clear_message_per_student(graded):
    _, run, _ = graded
    log = run.stdout + run.stderr
    assert "student 'malformed', assignment 'drill': drill.ipynb is not a valid notebook" in log
    assert "student 'renamed', assignment 'drill': the notebook drill.ipynb is missing from the submission " \
           "(it contains my_copy.ipynb: was the notebook renamed?)" in log
    assert f"submitted/missing/{ASSIGNMENT}/*.ipynb" in log  # nbgrader's own warning names the folder


def test_no_canary_text_leaks_anywhere(graded):
    root, run, feedback = graded
    assert "READ b" not in check_output(root, "reads", "relu")
    canaries = {root / "solutions" / "canary.txt", root / "canary.txt"}
    canaries |= {root / step / "honest" / ASSIGNMENT / "canary.txt" for step in ("submitted", "autograded", "feedback")}
    places = [p for p in root.rglob("*") if p.is_file() and p not in canaries]  # nbgrader copies honest's own file
    leaked = [str(p) for p in places if CANARY.encode() in p.read_bytes()]
    assert not leaked
    assert CANARY not in run.stdout + run.stderr + feedback.stdout + feedback.stderr
    printed = outputs(root, "reads")
    assert "READ" not in printed and printed.count("blocked FileNotFoundError") == 5
    listing = printed.split("LISTING", 1)[1].split("\n", 1)[0]
    assert "autograded/reads" in listing  # its own folder, and nothing else of the course
    assert not any(name in listing for name in ("solutions", "submitted", "gradebook", "honest", "canary"))


def test_nothing_is_written_outside_the_own_submission(graded):
    root, _, _ = graded
    assert not list(root.rglob(f"pwned-{TOKEN}.txt"))
    assert not Path(f"/tmp/pwned-{TOKEN}.txt").exists() and not Path(f"/var/tmp/pwned-{TOKEN}.txt").exists()
    assert (root / "autograded" / "writes" / ASSIGNMENT / f"own-{TOKEN}.txt").exists()
    wrote = [line for line in outputs(root, "writes").splitlines() if line.startswith("WROTE")]
    assert wrote == [f"WROTE /tmp/pwned-{TOKEN}.txt"]  # the sandbox's private /tmp, gone with it
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_no_connection_leaves_the_sandbox(graded, listener):
    root, _, _ = graded
    _, accepted = listener
    assert accepted == []
    printed = outputs(root, "network")
    assert "CONNECTED" not in printed and printed.count("blocked") == 3


def test_no_process_is_left_behind(graded):
    left = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if TOKEN.encode() in cmdline and proc.name != str(os.getpid()):
            left.append(cmdline.replace(b"\0", b" ").decode())
    assert not left


def test_output_floods_are_capped_while_collected(graded):
    root, _, _ = graded
    executed = root / "autograded" / "flood" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert executed.stat().st_size < 400_000
    assert "output passed 100,000 bytes; the rest was dropped" in executed.read_text()


def test_tampering_students_see_the_honest_verdicts(graded):
    root, _, _ = graded
    for student in ("patch_numpy", "patch_torch", "patch_helpers", "patch_ipython", "equals_anything"):
        assert "relu: all" not in check_output(root, student, "relu")


def test_regrading_a_faulty_student_changes_no_grade(graded):
    root, _, _ = graded
    before = points(root)
    nbgrader(root, "autograde", ASSIGNMENT, "--force", "--student", "dead_kernel")
    assert points(root) == before
