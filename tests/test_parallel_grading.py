"""`nb-helpers-grade`: the same grades as serial `nbgrader autograde`, on local cores or on a Dask
cluster (with a PostgreSQL gradebook), through dying workers, a killed coordinator and broken
submissions."""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from nb_helpers.grading import synthetic
from tests.support.requirements import require_tool
from tests.support.course import instructor_env, nbgrader

pytestmark = pytest.mark.slow

LESSON = "04_advanced_training"   # the quickest lesson to grade

#: Put in the "solution" student's first answer: it breaks that answer, in the kernel and in the
#: verdict, wherever students' code runs with the variables Dask's nannies set for themselves
#: (see nb_helpers.grading.parallel.environ), which serial grading never sets.
DASK_ENVIRONMENT_PROBE = (
    "import os\n"
    "assert os.environ.get('PYTHONHASHSEED') != '6640' and os.environ.get('MALLOC_TRIM_THRESHOLD_') != '65536'\n")


def parallel(root: Path, *args: str, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run `nb-helpers-grade <args>` in the course root."""
    return subprocess.run([sys.executable, "-m", "nb_helpers.grading.parallel.cli", *args, "--no-progress"], cwd=root,
                          env=env or instructor_env(), capture_output=True, text=True, timeout=timeout)


def gradebook(url: str) -> dict[str, dict]:
    """Everything autograde writes per student: scores and flags per cell, comments, totals, penalty."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(url) as gb:
        for sub in gb.assignment_submissions(LESSON):
            for nb in sub.notebooks:
                out[sub.student.id] = {
                    "grades": {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades},
                    "comments": {c.name: c.auto_comment for c in nb.comments},
                    "score": nb.score, "penalty": nb.late_submission_penalty}
    return out


def diagnosed(url: str) -> dict[str, list]:
    """student -> the diagnosis rows (nb_helpers.grading.diagnosis.Row) recorded for LESSON, in load's order."""
    from nb_helpers.grading import diagnosis

    out: dict[str, list] = {}
    for row in diagnosis.load(url, LESSON):
        out.setdefault(row.student, []).append(row)
    return out


def recorded_at(url: str) -> dict[tuple, object]:
    """(student, notebook, exercise) -> when its diagnosis row was written."""
    from sqlalchemy import create_engine, text

    from nb_helpers.grading.diagnosis import TABLE_NAME

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {(s, n, e): t for s, n, e, t in conn.execute(text(
                f"SELECT student, notebook, exercise, recorded FROM {TABLE_NAME} WHERE assignment = :a"), {"a": LESSON})}
    finally:
        engine.dispose()


def sqlite(root: Path) -> str:
    return f"sqlite:///{root / 'gradebook.db'}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def base(tmp_path_factory, released_course) -> Path:
    """A released lesson and a few students' submissions, not graded yet."""
    root = released_course(tmp_path_factory.mktemp("base") / "course", lessons=(LESSON,))
    source = synthetic.read(root / "solutions" / LESSON / f"{LESSON}.ipynb")
    release = synthetic.read(root / "notebooks" / LESSON / f"{LESSON}.ipynb")
    ids = synthetic.exercises(source)
    students = {
        "solution": synthetic.with_code_in_solution(source, ids[0], DASK_ENVIRONMENT_PROBE),
        "one_wrong": synthetic.with_wrong_answer(source, ids[-1]),
        "tamper": synthetic.with_code_in_solution(release, ids[0], synthetic.TAMPERING),
    }
    for student, nb in students.items():
        synthetic.write_submission(nb, root, student, LESSON)
    broken = root / "submitted" / "malformed" / LESSON
    broken.mkdir(parents=True)
    (broken / f"{LESSON}.ipynb").write_text("{ this is not a notebook")
    (root / "submitted" / "empty" / LESSON).mkdir(parents=True)  # a folder without its notebook
    return root


def copy_course(base: Path, dest: Path, students: list[str] | None = None) -> Path:
    shutil.copytree(base, dest)
    if students is not None:
        for folder in (dest / "submitted").iterdir():
            if folder.name not in students:
                shutil.rmtree(folder)
    return dest


@pytest.fixture(scope="module")
def serial_course(base, tmp_path_factory) -> Path:
    """The course graded by serial `nbgrader autograde` (it exits non-zero: one notebook is malformed)."""
    root = copy_course(base, tmp_path_factory.mktemp("serial") / "course")
    nbgrader(root, "autograde", LESSON, check=False)
    return root


@pytest.fixture(scope="module")
def serial(serial_course) -> dict[str, dict]:
    """The grades serial `nbgrader autograde` gives."""
    grades = gradebook(sqlite(serial_course))
    assert grades["solution"]["score"] == len(grades["solution"]["grades"]) > 0
    return grades


def test_parallel_gives_the_serial_grades(base, serial, tmp_path):
    root = copy_course(base, tmp_path / "course")
    proc = parallel(root, LESSON, "--workers", "2", "--report", str(tmp_path / "report.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr   # some students failed
    assert gradebook(sqlite(root)) == serial
    # both workers got their verdicts from the one fork server the coordinator started
    graded = json.loads((tmp_path / "report.json").read_text())["graded"]
    assert len({g["worker"] for g in graded}) == 2 and {g["verdicts"] for g in graded} == {"shared"}
    assert "graded 3, skipped 0" in proc.stdout
    assert "FAILED malformed: " in proc.stdout and "JSON" in proc.stdout
    assert "FAILED empty: no notebook" in proc.stdout
    for student in ("solution", "one_wrong", "tamper"):
        path = root / "autograded" / student / LESSON / f"{LESSON}.ipynb"
        assert stat.S_IMODE(path.stat().st_mode) == 0o444   # as nbgrader leaves them
    # the solution ran in its kernel without an error (the verdicts are in the grades above)
    solved = json.loads((root / "autograded" / "solution" / LESSON / f"{LESSON}.ipynb").read_text())
    assert not [out for cell in solved["cells"] for out in cell.get("outputs", []) if out["output_type"] == "error"]
    assert not (root / "autograded" / "malformed").exists()
    # a second run regrades nothing but the failures, and changes nothing
    again = parallel(root, LESSON, "--workers", "1", "--student", "[st]*")
    assert again.returncode == 0 and "graded 0, skipped 2" in again.stdout, again.stdout + again.stderr
    assert gradebook(sqlite(root)) == serial


def test_killed_coordinator_then_rerun(base, serial, tmp_path):
    root = copy_course(base, tmp_path / "course", ["solution", "tamper"])
    # one worker grades the two in turn, so the second is still running (for seconds) when the first
    # lands; two workers would finish them together and both could land before the kill
    cmd = [sys.executable, "-m", "nb_helpers.grading.parallel.cli", LESSON, "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=root, env=instructor_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for(lambda: len(glob.glob(str(root / "autograded" / "*" / LESSON))) >= 1 or proc.poll() is not None,
                 600, "the first submission")
        proc.kill()  # the coordinator only: its workers go with it
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    done = {p.split(os.sep)[-2] for p in glob.glob(str(root / "autograded" / "*" / LESSON))}
    assert len(done) == 1, output
    first = gradebook(sqlite(root))
    rerun = parallel(root, LESSON, "--workers", "2")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "graded 1, skipped 1" in rerun.stdout
    after = gradebook(sqlite(root))
    assert after == {s: serial[s] for s in ("solution", "tamper")}
    assert {s: after[s] for s in done} == {s: first[s] for s in done}   # the graded student never changed
    from nbgrader.api import Gradebook

    with Gradebook(sqlite(root)) as gb:   # one submission per student, one grade per check cell
        assert sorted(s.student.id for s in gb.assignment_submissions(LESSON)) == ["solution", "tamper"]
        cells = len(gb.find_notebook(LESSON, LESSON).grade_cells)
        assert all(len(nb.grades) == cells for s in gb.assignment_submissions(LESSON) for nb in s.notebooks)
    assert not list((root / "autograded").glob("*/.*"))   # no half-written folders left behind


def tool(name: str) -> str:
    """A PostgreSQL server program (Debian keeps them off PATH)."""
    return require_tool(name, "PostgreSQL server: apt-get install postgresql", also=(f"/usr/lib/postgresql/*/bin/{name}",))


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server on 127.0.0.1 with an empty database; yields its URL."""
    initdb, pg_ctl = tool("initdb"), tool("pg_ctl")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    tmp = Path(tempfile.mkdtemp(prefix="nbh-pg-"))
    if as_postgres:
        shutil.chown(tmp, "postgres", "postgres")
    data, port = tmp / "data", free_port()
    subprocess.run([*as_postgres, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True)
    subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-l", str(tmp / "log"), "-w", "-o",
                    f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE gradebook")
        yield f"postgresql://postgres@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1. The workers do not know the
    grading seed (it travels with the job) and die on request: student `solution` once, `doomed` always."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    workdir = tmp_path / "workers"
    workdir.mkdir()
    env = instructor_env(NB_HELPERS_GRADE_DIE_ON=f"solution:{tmp_path / 'died-once'},doomed",
                         DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION="1.0")
    env.pop("NB_HELPERS_GRADING_SEED")
    dask = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [*dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--memory-limit", "0",
                 "--local-directory", str(workdir / f"w{i}")],
                cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_dask_cluster_with_postgres_gradebook(base, serial, serial_course, postgres, dask_cluster, tmp_path):
    root = copy_course(base, tmp_path / "course", ["solution"])
    shutil.copytree(base / "submitted" / "tamper", root / "submitted" / "doomed")
    (root / "gradebook.db").unlink()
    nbgrader(root, "generate_assignment", LESSON, "--force", "--db", postgres)
    proc = parallel(root, LESSON, "--scheduler", dask_cluster, "--db-url", postgres)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "graded 1, skipped 0" in proc.stdout
    # retried after its worker died (once by the hook; a restarting worker may cost it one more try)
    assert re.search(r"solution: graded after [12] worker failure\(s\)", proc.stdout), proc.stdout
    assert "FAILED doomed: the worker grading it died 3 times" in proc.stdout
    assert (tmp_path / "died-once").exists()
    got = gradebook(postgres)
    assert got["solution"] == serial["solution"]
    assert not (root / "gradebook.db").exists()   # SQLite untouched: everything went to PostgreSQL
    # the diagnosis went to PostgreSQL too, row for row what serial grading wrote into SQLite (none
    # for doomed, which was never graded)
    from nb_helpers.grading import diagnosis

    expected = diagnosed(sqlite(serial_course))
    assert expected["solution"] and {r.status for r in expected["solution"]} == {"passed"}
    assert diagnosed(postgres) == {"solution": expected["solution"]}
    # another student graded (locally, into the same PostgreSQL gradebook): a failure and its mistake id
    shutil.copytree(base / "submitted" / "one_wrong", root / "submitted" / "one_wrong")
    one = parallel(root, LESSON, "--workers", "1", "--db-url", postgres, "--student", "one_wrong")
    assert one.returncode == 0 and "graded 1, skipped 0" in one.stdout, one.stdout + one.stderr
    assert [(r.status, r.mistake) for r in expected["one_wrong"]].count(("passed", None)) == len(expected["one_wrong"]) - 1
    assert any(r.status == "failed" and r.mistake for r in expected["one_wrong"])
    assert diagnosed(postgres) == {s: expected[s] for s in ("one_wrong", "solution")}
    # a regrade of one student replaces that student's rows (a stale one too) and nothing else
    stale = dataclasses.replace(expected["one_wrong"][0], exercise="retired_exercise", position=99, status="failed")
    elsewhere = dataclasses.replace(expected["one_wrong"][0], assignment="another_lesson")
    diagnosis.record(postgres, [stale, elsewhere])
    before = recorded_at(postgres)
    shutil.copy(base / "submitted" / "solution" / LESSON / f"{LESSON}.ipynb",
                root / "submitted" / "one_wrong" / LESSON / f"{LESSON}.ipynb")   # now hands in the right answers
    again = parallel(root, LESSON, "--workers", "1", "--db-url", postgres, "--student", "one_wrong", "--force")
    assert again.returncode == 0 and "graded 1, skipped 0" in again.stdout, again.stdout + again.stderr
    after = diagnosed(postgres)
    assert after["solution"] == expected["solution"]
    assert [(r.exercise, r.position, r.status, r.mistake, r.score) for r in after["one_wrong"]] == [
        (r.exercise, r.position, r.status, r.mistake, r.score) for r in expected["solution"]]
    stamps = recorded_at(postgres)
    assert {k: t for k, t in stamps.items() if k[0] == "solution"} == {k: t for k, t in before.items() if k[0] == "solution"}
    ones = [t for k, t in stamps.items() if k[0] == "one_wrong"]
    assert ones and min(ones) > max(t for k, t in before.items() if k[0] == "one_wrong")
    assert diagnosis.load(postgres, "another_lesson") == [elsewhere]


def test_clear_errors_for_bad_input(base, tmp_path, capsys, monkeypatch):
    from nb_helpers.grading.parallel.cli import main

    monkeypatch.setenv("PATH", instructor_env()["PATH"])
    root = copy_course(base, tmp_path / "course", [])
    course = ["--course-dir", str(root), "--no-progress"]
    assert main(["no_such_lesson", *course]) == 2
    assert "'no_such_lesson' is not in the gradebook" in capsys.readouterr().err
    assert main([LESSON, *course]) == 2
    assert "no submissions of" in capsys.readouterr().err
    shutil.copytree(base / "submitted" / "tamper", root / "submitted" / "tamper")
    assert main([LESSON, *course, "--scheduler", f"tcp://127.0.0.1:{free_port()}"]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
    assert main([LESSON, *course, "--db-url", "postgresql://nobody@127.0.0.1:1/none"]) == 2
    assert "cannot open postgresql://nobody@127.0.0.1:1/none" in capsys.readouterr().err
