"""The fork server runs students' code in a child per exercise and returns only plain data; the
judge decides in this (trusted) process. Faults in the student's code cost only that exercise."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from nb_helpers import checks  # noqa: F401
from nb_helpers.checks import outcome, plain
from nb_helpers.checks.declaration import REGISTRY
from nb_helpers.checks.judgement import judge
from nb_helpers.conventions import DEFAULT_PREAMBLE, checked_exercise
from nb_helpers.grading.client import ForkServerClient

GOOD_SIGMOID = '''
def sigmoid(x):
    """docstring"""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))
'''


#: A fork server starts in a second or two: each xdist worker may have its own.
PER_WORKER_FIXTURES = ("sandboxed", "shared_server")


def make_request(cells, exercise="sigmoid", seed=1, timeout=10.0, memory_mb=2048, cell_timeout=0.0,
                 setup=DEFAULT_PREAMBLE):
    return {"exercise": exercise, "seed": seed, "setup": setup, "cells": cells, "cwd": os.getcwd(),
            "timeout": timeout, "memory_mb": memory_mb, "cell_timeout": cell_timeout}


def grade(fork_server, cells, exercise="sigmoid", seed=1, timeout=10.0, memory_mb=2048, cell_timeout=0.0):
    reply = fork_server.request(make_request(cells, exercise, seed, timeout, memory_mb, cell_timeout))
    if reply["status"] != "ok":
        return reply["status"], None
    check = REGISTRY[exercise]
    cases = check.all_cases(seed)
    return "ok", judge(check, cases, outcome.from_json(reply["payload"], len(cases)), redact=True)


def test_correct_answer_passes(fork_server):
    status, verdict = grade(fork_server, [GOOD_SIGMOID])
    assert status == "ok" and verdict.passed


def test_each_request_starts_from_a_clean_process(fork_server):
    grade(fork_server, ["import numpy as np\nnp.exp = lambda x: x\n" + GOOD_SIGMOID])
    status, verdict = grade(fork_server, [GOOD_SIGMOID])
    assert verdict.passed


def test_blank_answer_is_not_implemented(fork_server):
    _, verdict = grade(fork_server, ['def sigmoid(x):\n    raise NotImplementedError()\n'])
    assert verdict.not_implemented and verdict.message == "sigmoid: not implemented yet"


def test_missing_function_fails_with_a_clear_message(fork_server):
    _, verdict = grade(fork_server, ["def sigmod(x):\n    return x\n"])
    assert not verdict.passed and "`sigmoid` is not defined" in verdict.message


def test_patching_the_comparison_inside_the_child_gains_nothing(fork_server):
    cells = ["import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
             "def sigmoid(x):\n    return x\n"]
    _, verdict = grade(fork_server, cells)
    assert not verdict.passed


def test_infinite_loop_is_stopped_by_the_time_limit(fork_server):
    start = time.monotonic()
    status, _ = grade(fork_server, ["def sigmoid(x):\n    while True:\n        pass\n"], timeout=2.0)
    assert status == "timeout" and time.monotonic() - start < 10


def test_an_endless_cell_above_is_interrupted_and_costs_only_what_it_defines(fork_server):
    # a later exercise still passes: the endless cell is interrupted, as the kernel interrupts it
    status, verdict = grade(fork_server, ["while True:\n    pass\ndef tanh(x):\n    return x\n", GOOD_SIGMOID],
                            timeout=10.0, cell_timeout=1.0)
    assert status == "ok" and verdict.passed
    # the exercise the endless cell was to define fails, and says why
    status, verdict = grade(fork_server, ["while True:\n    pass\n" + GOOD_SIGMOID], timeout=10.0, cell_timeout=1.0)
    assert status == "ok" and not verdict.passed
    assert "`sigmoid` is not defined: a cell above it was interrupted after 1 s" in verdict.message
    assert "hint" not in verdict.message


def test_process_exit_in_a_cell_is_reported_as_a_crash(fork_server):
    status, _ = grade(fork_server, ["import os\nos._exit(3)\n"])
    assert status == "crashed"


def test_memory_bomb_costs_only_this_exercise(fork_server):
    status, verdict = grade(fork_server, ["def sigmoid(x):\n    return bytearray(50 * 2**30)\n"], memory_mb=512)
    assert status == "ok" and not verdict.passed and "memory" in verdict.message.lower()
    status, verdict = grade(fork_server, [GOOD_SIGMOID])
    assert verdict.passed


def test_output_floods_and_magics_do_not_disturb_the_protocol(fork_server):
    cells = ["print('x' * 10_000_000)\nimport sys\nprint('y' * 1_000_000, file=sys.stderr)\n",
             "%matplotlib inline\n!echo hello\n" + GOOD_SIGMOID]
    status, verdict = grade(fork_server, cells)
    assert status == "ok" and verdict.passed


def test_cells_are_compiled_as_the_kernel_compiles_them(fork_server):
    # this module imports `annotations` from __future__; a student's cell does not inherit it, so an
    # annotation naming nothing fails at definition as in the kernel, and the function is missing
    unannotated = GOOD_SIGMOID.replace("def sigmoid(x):", "def sigmoid(x: Undefined):")
    _, verdict = grade(fork_server, [unannotated])
    assert not verdict.passed and "`sigmoid` is not defined" in verdict.message
    # while a cell's own future import holds for the cells after it, as in IPython
    _, verdict = grade(fork_server, ["from __future__ import annotations\n", unannotated])
    assert verdict.passed, verdict.message


def test_processes_left_running_by_the_student_are_killed(fork_server):
    marker = "31415.9265"
    grade(fork_server, [f"import subprocess\nsubprocess.Popen(['sleep', '{marker}'])\n" + GOOD_SIGMOID])
    time.sleep(0.5)
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    alive.append(pid)
        except OSError:
            pass
    assert alive == []


def test_isolation_binds_other_graded_functions_to_their_references(fork_server):
    # tanh through a *wrong* sigmoid: tanh is still graded correct, with the reference sigmoid
    cells = ["def sigmoid(x):\n    return x\n", "def tanh(x):\n    return 2 * sigmoid(2 * x) - 1\n"]
    _, verdict = grade(fork_server, cells, exercise="tanh")
    assert verdict.passed


def test_delegation_is_caught_in_the_child(fork_server):
    _, verdict = grade(fork_server, ["def tanh(x):\n    return np.tanh(x)\n"], exercise="tanh")
    assert not verdict.passed and "numpy.tanh" in verdict.message


def test_unknown_exercise_is_reported(fork_server):
    reply = fork_server.request({"exercise": "no_such_thing", "seed": 0, "cells": [], "timeout": 5})
    assert reply["status"] == "unknown"


# ------------------------------------------------------------------ plain data is values only

def test_decode_rejects_pickles_and_object_arrays():
    import base64
    import io
    import pickle

    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    payload = '{"x": {"__npy__": "%s"}}' % base64.b64encode(buf.getvalue()).decode()
    with pytest.raises(plain.PlainDataError):
        plain.decode(payload)
    with pytest.raises(plain.PlainDataError):
        plain.decode(pickle.dumps([1, 2]))


def test_decode_rejects_deep_nesting_and_garbage():
    with pytest.raises(plain.PlainDataError):
        plain.decode("[" * 100 + "]" * 100)
    with pytest.raises(plain.PlainDataError):
        plain.decode("{not json")


def test_plain_round_trip_keeps_types_shapes_and_values():
    import torch

    value = {"a": np.arange(6.0).reshape(2, 3), "b": 1.5, "c": [True, None, "s"], "t": torch.ones(2, dtype=torch.float64)}
    back = plain.decode(plain.encode(plain.to_plain(value)))
    assert back["type"] == "dict"
    np.testing.assert_array_equal(back["items"]["a"]["array"], value["a"])
    assert back["items"]["b"] == {"type": "float", "array": np.asarray(1.5)}
    assert back["items"]["t"]["type"] == "tensor" and back["items"]["t"]["dtype"] == "float64"


# ------------------------------------------------------------------ the sandbox (bubblewrap)

@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory):
    from nb_helpers.grading.sandbox import sandbox_prefix
    from tests.support.requirements import require_tool
    from tests.support.course import REPO

    require_tool("bwrap", "the grading sandbox")
    from nb_helpers.grading.sandbox import bwrap_usable

    if not bwrap_usable():
        message = "bubblewrap cannot create namespaces on this machine (the grading sandbox)"
        if os.environ.get("COURSE_REQUIRE_ALL") == "1":
            pytest.fail(message)
        pytest.skip(message)
    secret_dir = tmp_path_factory.mktemp("course-secrets")
    canary = f"CANARY-{os.getpid()}-{time.time_ns()}"
    (secret_dir / "gradebook.txt").write_text(canary)
    client = ForkServerClient(command_prefix=sandbox_prefix([REPO, secret_dir]))
    client.start()
    yield client, secret_dir, canary
    client.close()


def probe_cells(body: str) -> list[str]:
    """A correct sigmoid plus `body`, which may set RESULT; RESULT travels back through a check
    failure message only if the sandbox leaks, so the tests inspect the raw payload."""
    return [GOOD_SIGMOID + "\n" + body]


def raw_payload(client, cells, exercise="sigmoid"):
    return client.request({"exercise": exercise, "seed": 1, "setup": DEFAULT_PREAMBLE, "cells": cells,
                           "cwd": "/tmp", "timeout": 20, "memory_mb": 2048})


def test_sandboxed_code_cannot_read_hidden_files(sandboxed):
    client, secret_dir, canary = sandboxed
    cells = [f"text = open({str(secret_dir / 'gradebook.txt')!r}).read()\n"
             "def sigmoid(x):\n    raise ValueError(text)\n"]
    reply = raw_payload(client, cells)
    assert canary not in json_dump(reply)
    _, verdict = grade(client, cells)
    assert verdict.message and "`sigmoid` is not defined" in verdict.message  # the open() failed first


def test_sandboxed_code_cannot_see_the_solutions_or_write_outside_tmp(sandboxed):
    client, _, _ = sandboxed
    from tests.support.course import REPO

    cells = [f"import os\nseen = os.listdir({str(REPO)!r})\n"
             f"open({str(REPO / 'written_by_student.txt')!r}, 'w').write('x')\n" + GOOD_SIGMOID]
    _, verdict = grade(client, cells)
    assert "`sigmoid` is not defined" in verdict.message  # the write raised before the definition
    assert not (REPO / "written_by_student.txt").exists()
    listing = ["import os\nassert sorted(os.listdir(%r)) == ['.venv', 'nb_helpers'] or sorted(os.listdir(%r)) == ['nb_helpers']\n"
               % (str(REPO), str(REPO)) + GOOD_SIGMOID]
    _, verdict = grade(client, listing)
    assert verdict.passed


def test_sandboxed_code_has_no_network(sandboxed):
    client, _, _ = sandboxed
    cells = ["import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    NET = True\n"
             "except OSError:\n    NET = False\nassert NET is False\n" + GOOD_SIGMOID]
    _, verdict = grade(client, cells)
    assert verdict.passed


def test_sandboxed_grading_still_passes_correct_answers_quickly(sandboxed):
    client, _, _ = sandboxed
    start = time.monotonic()
    for _ in range(5):
        _, verdict = grade(client, [GOOD_SIGMOID])
        assert verdict.passed
    assert time.monotonic() - start < 30


def json_dump(reply) -> str:
    import json

    return json.dumps(reply)


def test_sandbox_binds_the_environment_back_when_it_lives_under_tmp(monkeypatch):
    import sys

    from nb_helpers.grading import sandbox

    monkeypatch.setattr(sys, "prefix", "/tmp/clone/.venv")
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: "/usr/bin/bwrap")
    args = sandbox.sandbox_prefix([], bwrap="/usr/bin/bwrap")
    pairs = list(zip(args, args[1:], args[2:]))
    assert ("--ro-bind", "/tmp/clone/.venv", "/tmp/clone/.venv") in pairs
    assert args.index("--tmpfs") < max(i for i, a in enumerate(args) if a == "--ro-bind")


def test_matplotlib_in_the_sandbox_reads_the_font_list_rather_than_building_it(sandboxed, monkeypatch):
    import subprocess
    import sys

    from nb_helpers.grading import sandbox

    probe = "import logging; logging.basicConfig(level=logging.DEBUG); import matplotlib.font_manager"

    def matplotlib_says(prefix):
        return subprocess.run(prefix + [sys.executable, "-c", probe], capture_output=True, text=True, check=True).stderr

    assert "Using fontManager instance from /tmp/mpl/fontlist-v" in matplotlib_says(sandbox.sandbox_prefix([]))
    monkeypatch.setattr(sandbox, "matplotlib_font_cache", lambda: None)  # what each kernel did before
    assert "generated new fontManager" in matplotlib_says(sandbox.sandbox_prefix([]))


def test_rlimit_launcher_caps_the_address_space():
    import subprocess
    import sys

    probe = "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20)"
    out = subprocess.run([sys.executable, "-m", "nb_helpers.grading.rlimit", "3000", "--", sys.executable, "-c", probe],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3000"
    bad = subprocess.run([sys.executable, "-m", "nb_helpers.grading.rlimit", "3000"], capture_output=True, text=True)
    assert bad.returncode != 0 and "usage:" in bad.stderr


def test_a_sandbox_started_from_a_short_lived_thread_survives_it(sandboxed):
    """bwrap's --die-with-parent follows the starting *thread*: grading from worker threads (Dask)
    must not lose its fork server when that thread ends."""
    import threading

    from nb_helpers.grading.sandbox import sandbox_prefix

    client = ForkServerClient(command_prefix=sandbox_prefix([]))
    thread = threading.Thread(target=client.start)
    thread.start()
    thread.join()
    try:
        time.sleep(1.0)
        assert client.proc.poll() is None
        reply = client.request({"exercise": "sigmoid", "seed": 1, "setup": DEFAULT_PREAMBLE, "cells": [GOOD_SIGMOID],
                                "cwd": "/tmp", "timeout": 10.0, "memory_mb": 2048})
        assert reply["status"] == "ok"
    finally:
        client.close()


def solution_requests(lesson):
    """One request per exercise of a lesson's solution notebook, as the grader builds them."""
    import nbformat

    from nb_helpers.grading.cells import student_program
    from tests.support.course import REPO

    nb = nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    for index, cell in enumerate(nb.cells):
        exercise = checked_exercise(cell)
        if exercise is not None:
            setup, cells = student_program(nb, before=index)
            yield {"exercise": exercise, "seed": 7, "setup": setup, "cells": cells, "cwd": os.getcwd(),
                   "timeout": 30.0, "memory_mb": 2048, "cell_timeout": 10.0}


def test_the_course_setup_cell_is_run_once_in_the_server(fork_server):
    from nb_helpers.conventions import setup_cell_source
    from tests.support.course import LESSONS

    assert fork_server.hello["setup"] == "prepared"
    for lesson in LESSONS:      # the text every lesson's setup cell carries is the one the server runs
        assert next(solution_requests(lesson))["setup"] == setup_cell_source(), lesson


def test_the_server_keeps_its_memory_in_huge_pages_so_that_forks_are_cheap(fork_server):
    environ = dict(item.split("=", 1) for item in
                   Path(f"/proc/{fork_server.proc.pid}/environ").read_text().split("\0") if "=" in item)
    assert environ["PYTHONMALLOC"] == "malloc"
    assert "glibc.malloc.hugetlb=1" in environ["GLIBC_TUNABLES"].split(":")
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not thp.exists() or "[never]" in thp.read_text():
        pytest.skip("this kernel offers no transparent huge pages")
    kib = {line.split(":")[0]: int(line.split()[1])
           for line in Path(f"/proc/{fork_server.proc.pid}/smaps_rollup").read_text().splitlines()[1:]}
    assert kib["AnonHugePages"] >= kib["Anonymous"] // 2, kib  # most of NumPy's, torch's and Python's memory


@pytest.mark.parametrize("lesson", ["03_regularization_and_optimization", "04_advanced_training"])
def test_children_of_the_prepared_setup_return_what_children_that_run_it_return(fork_server, lesson):
    """Same outcomes, random draws included (dropout masks, restarts, shuffles), whether the child
    starts from the server's module or runs the setup cell itself (any other text does)."""
    for req in solution_requests(lesson):
        prepared = fork_server.request(req)
        ran_here = fork_server.request(dict(req, setup=req["setup"] + "\n"))
        assert prepared["status"] == ran_here["status"] == "ok", req["exercise"]
        assert prepared["payload"] == ran_here["payload"], req["exercise"]
        assert verdict_of(req, prepared).passed, req["exercise"]


def test_a_cell_drawing_random_numbers_sees_the_same_generators_either_way(fork_server):
    """The server must not draw from any generator after its setup cell: children inherit the state."""
    from nb_helpers.conventions import setup_cell_source

    draw = ("import random\n_noise = float(torch.rand(1)) + random.random() + float(np.random.rand())\n"
            "def sigmoid(x):\n    return np.full_like(np.asarray(x, dtype=float), _noise)\n")
    req = make_request([draw], setup=setup_cell_source())
    prepared, ran_here = fork_server.request(req), fork_server.request(dict(req, setup=req["setup"] + "\n"))
    assert prepared["status"] == "ok" and prepared["payload"] == ran_here["payload"]


def verdict_of(req, reply):
    check = REGISTRY[req["exercise"]]
    cases = check.all_cases(req["seed"])
    return judge(check, cases, outcome.from_json(reply["payload"], len(cases)), redact=True)


def test_what_a_child_does_to_the_prepared_module_does_not_reach_the_next(fork_server):
    from nb_helpers.conventions import setup_cell_source

    spoil = make_request(["np.exp = lambda x: x\ndel np\nimport math\nmath.exp = None\n" + GOOD_SIGMOID],
                         setup=setup_cell_source())
    assert not verdict_of(spoil, fork_server.request(spoil)).passed
    good = make_request([GOOD_SIGMOID.replace("np.exp(", "np.exp(0 * math.exp(0) + ")], setup=setup_cell_source())
    assert verdict_of(good, fork_server.request(good)).passed


def test_a_child_finds_the_servers_objects_out_of_the_collectors_reach(fork_server):
    """The server freezes what it imported before it forks: a collection in a child then leaves
    those objects' pages shared with the server instead of copying them."""
    frozen = "import gc\nassert gc.get_freeze_count() > 100_000 and gc.collect() >= 0\n"
    assert grade(fork_server, [frozen + GOOD_SIGMOID])[1].passed


# One server shared by the grading processes of a machine (nb-helpers-grade's local workers).

@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    from nb_helpers.grading.client import start_shared_server

    env = dict(os.environ, NBH_SHARED_SERVER="given")  # the environment its owner chose for it
    owner, path = start_shared_server([], str(tmp_path_factory.mktemp("verdict-socket")), env)
    yield owner, path
    owner.close()


def socket_client(path):
    from nb_helpers.grading.client import SocketForkServerClient

    return SocketForkServerClient(path, fallback=ForkServerClient())


def test_a_shared_server_grades_for_several_clients_at_once(shared_server):
    import threading

    _, path = shared_server
    slow, quick = socket_client(path), socket_client(path)
    try:
        for client in (slow, quick):  # the first replies wait for the server's imports
            assert grade(client, [GOOD_SIGMOID])[1].passed
        finished = {}

        def run(name, client, cells):
            finished[name] = (grade(client, cells)[1].passed, time.monotonic())

        slow_thread = threading.Thread(target=run, args=("slow", slow, ["import time\ntime.sleep(4)\n" + GOOD_SIGMOID]))
        slow_thread.start()
        time.sleep(0.5)
        run("quick", quick, [GOOD_SIGMOID])
        slow_thread.join()
        assert finished["slow"][0] and finished["quick"][0]
        assert finished["quick"][1] < finished["slow"][1] - 2  # not queued behind the slow one
        assert slow.fallback.proc is None and quick.fallback.proc is None  # no server of their own
    finally:
        slow.close()
        quick.close()


def test_a_shared_server_runs_students_code_in_the_environment_its_owner_gave_it(shared_server):
    client = socket_client(shared_server[1])
    try:
        assert grade(client, ["import os\nassert os.environ.get('NBH_SHARED_SERVER') == 'given'\n" + GOOD_SIGMOID])[1].passed
        assert not grade(client, ["import os\nassert 'NBH_SHARED_SERVER' not in os.environ\n" + GOOD_SIGMOID])[1].passed
    finally:
        client.close()


def test_children_of_a_shared_server_hold_none_of_its_connections(shared_server):
    """Each child keeps only its result pipe: the listening socket and the other clients'
    connections are closed in it, so students' code can neither read nor answer other requests."""
    client = socket_client(shared_server[1])
    cells = ["import os\n"
             "def _sockets():\n"
             "    found = []\n"
             "    for fd in os.listdir('/proc/self/fd'):\n"
             "        try:\n"
             "            if os.readlink('/proc/self/fd/' + fd).startswith('socket:'):\n"
             "                found.append(fd)\n"
             "        except OSError:\n"
             "            pass\n"
             "    return found\n"
             "assert not _sockets()\n" + GOOD_SIGMOID]
    try:
        assert grade(client, cells)[1].passed
        assert client.fallback.proc is None
    finally:
        client.close()


def test_a_client_uses_a_server_of_its_own_where_the_shared_one_is_unreachable_or_gone(tmp_path):
    from nb_helpers.grading.client import start_shared_server

    nowhere = socket_client(str(tmp_path / "nobody.sock"))
    owner, path = start_shared_server([], str(tmp_path / "shared"))
    orphan = socket_client(path)
    try:
        assert grade(nowhere, [GOOD_SIGMOID])[1].passed
        assert nowhere.broken and nowhere.fallback.proc.poll() is None
        assert grade(orphan, [GOOD_SIGMOID])[1].passed and not orphan.broken
        owner.close()  # the shared server stops mid-run
        assert grade(orphan, [GOOD_SIGMOID])[1].passed
        assert orphan.broken and orphan.fallback.proc.poll() is None
    finally:
        for client in (nowhere, orphan, owner):
            client.close()


def test_a_sandboxed_shared_server_hides_its_socket_from_students_code(sandboxed):
    import json

    from traitlets.config import Config

    from nb_helpers.grading.verdict import VerdictPreprocessor

    owner, path = VerdictPreprocessor(config=Config()).start_shared_server("")
    client = socket_client(path)
    cells = [f"import os, socket\nassert not os.path.exists({path!r})\n"
             "s = socket.socket(socket.AF_UNIX)\n"
             f"try:\n    s.connect({path!r})\n    REACHED = True\nexcept OSError:\n    REACHED = False\n"
             "assert not REACHED\n" + GOOD_SIGMOID]
    try:
        assert json.dumps(owner.command_prefix).count(os.path.dirname(path)) >= 1
        assert grade(client, cells)[1].passed
        assert client.fallback.proc is None
    finally:
        client.close()
        owner.close()


@pytest.mark.parametrize("exercise", sorted(REGISTRY), ids=str)
def test_the_reference_bound_to_the_exercise_name_earns_nothing_at_grading(fork_server, exercise):
    """`from nb_helpers.<module> import <name>` as the whole answer: the verdict child records a
    delegation, for every exercise (the kernel's check does the same: tests/test_checks.py)."""
    check = REGISTRY[exercise]
    ref = check.reference
    cell = f"from {ref.__module__} import {ref.__qualname__} as _course\n{check.object_name} = _course\n"
    status, verdict = grade(fork_server, [cell], exercise=exercise)
    assert status == "ok" and not verdict.passed
    assert "itself, which computes the answer for you" in verdict.message
