"""Mutation testing of the checks: does each exercise's check fail every mutant of its solution?

`make mutants [LESSON=…]` runs `python -m tools.mutants`. For each lesson it

1. extracts each exercise's solution from `solutions/<lesson>/<lesson>.ipynb` into a module of a
   small generated project under `build/mutation/<lesson>/` (the lesson's default imports, the
   other graded names bound to their references as the check's isolation does, then the solution
   cell without the definitions of other exercises);
2. runs mutmut 3 there: every mutant of a solution function is tested by the exercise's own
   check (`nb_helpers.checks.kernel.check_verdict`, the in-kernel check with its practice cases);
3. prints per lesson and overall: mutants, killed, survived, declared equivalent, and the score
   killed / (mutants − equivalent), then every survivor with its diff.

Why mutmut 3: it forks each mutant from a process that has already imported torch and the checks
(a mutant costs milliseconds instead of a 2.5 s interpreter start), it runs only the tests that
reach the mutated function, and it caches results by function hash, so that a rerun after editing
one solution tests only that solution's mutants. mutmut cannot see the checks (they live outside
its project), so a change to a lesson's checks or references drops that lesson's cached results
(`checks_fingerprint`). Each lesson is a project of its own, so that `LESSON=` reruns one lesson
without touching the others' results.

Declared equivalents live in `tools/mutation_equivalents/<lesson>.toml`: a mutant that no valid
input can tell apart from the solution (e.g. `x >= 0` → `x > 0` where both branches agree at 0) is
listed by exercise, the original line and the mutated line, with a one-line reason.
`tests/test_mutants.py` fails when a listed mutant no longer exists.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nb_helpers.conventions import COMMON_IMPORTS, is_solution_cell, nbgrader_meta

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "mutation"
EQUIVALENTS = ROOT / "tools" / "mutation_equivalents"   # one reviewed file per lesson: <lesson>.toml

#: mutmut's exit-code statuses that count as "the check failed the mutant".
KILLED = {"killed", "timeout", "segfault"}

#: Exercises left out of mutation testing, each with the reason (printed in the report). Only an
#: exercise whose check does not compare the answer with a reference belongs here.
NOT_MUTATED: dict[str, str] = {
    "train_digits": "the capstone is a training recipe judged by an accuracy threshold, not compared with a "
                    "reference: most mutants of a recipe (another learning rate, width, patience or epoch count) "
                    "are other valid recipes, so a surviving mutant says nothing about the check",
}


def mutated_exercises(lesson: str) -> list[str]:
    """The lesson's exercise ids that mutation testing covers: every registered one but `NOT_MUTATED`."""
    from nb_helpers.checks.declaration import REGISTRY

    return [c.id for c in REGISTRY.values() if c.lesson == lesson and c.id not in NOT_MUTATED]


def lessons() -> list[str]:
    return sorted(p.parent.name for p in ROOT.glob("solutions/*/*.ipynb") if p.parent.name == p.stem)


def package_name(lesson: str) -> str:
    """A Python identifier for a lesson id: '01_activation_functions' -> 'l01_activation_functions'."""
    return "l" + lesson


# ------------------------------------------------------------------ extraction

def solution_cells(lesson: str) -> dict[str, str]:
    """grade_id -> source of each solution cell of the lesson's solution notebook."""
    nb = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())
    cells = {}
    for cell in nb["cells"]:
        if is_solution_cell(cell):
            cells[nbgrader_meta(cell)["grade_id"]] = "".join(cell["source"])
    return cells


def _defined_names(tree: ast.Module) -> set[str]:
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}


def exercise_module(lesson: str, exercise: str) -> str:
    """Source of the module holding one exercise's solution, as the check sees it in the notebook."""
    from nb_helpers.checks.declaration import REGISTRY

    check = REGISTRY[exercise]
    graded = {c.object_name for c in REGISTRY.values() if c.lesson == lesson}
    for source in solution_cells(lesson).values():
        tree = ast.parse(source)
        if check.object_name in _defined_names(tree):
            break
    else:
        raise LookupError(f"no solution cell of {lesson} defines {check.object_name!r}")
    kept = [n for n in tree.body
            if not (isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in graded and n.name != check.object_name)]
    lines = source.splitlines()
    body = "\n".join("\n".join(lines[n.lineno - 1 - len(getattr(n, "decorator_list", [])):n.end_lineno]) for n in kept)
    return (
        f'"""Solution of `{exercise}` ({lesson}), extracted by tools/mutants.py: do not edit."""\n'
        f"{COMMON_IMPORTS}\n"
        "from nb_helpers.checks.declaration import lesson_references as _lesson_references\n\n"
        "device = torch.device('cpu')\n"
        f"globals().update(_lesson_references({lesson!r}, except_id={exercise!r}))  # isolation, as in the check\n\n"
        f"{body}\n"
    )


TEST_MODULE = '''\
"""Each exercise's own check, run on the (mutated) solution."""
import importlib

import pytest

from nb_helpers.checks.declaration import REGISTRY
from nb_helpers.checks.kernel import check_verdict

EXERCISES = {exercises!r}


@pytest.mark.parametrize("exercise", EXERCISES)
def test_check(exercise):
    module = importlib.import_module(f"exercises.{package}.{{exercise}}")
    check = REGISTRY[exercise]
    verdict = check_verdict(check, getattr(module, check.object_name))
    assert verdict.passed, verdict.message  # "not implemented yet" (a mutant that raises it) fails too
'''

PYPROJECT = '''\
[tool.mutmut]
source_paths = ["exercises/"]
pytest_add_cli_args_test_selection = ["tests/"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:randomly", "-q"]
timeout_multiplier = 10.0
use_git_change_detection = false

[tool.pytest.ini_options]
testpaths = ["tests"]
'''


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def checks_fingerprint(lesson: str) -> str:
    """A hash of everything a lesson's checks run besides the solutions: every module of
    `nb_helpers.checks` but the other lessons' declarations (`lesson*.py`), and the modules of the
    lesson's references, probes and wrong answers. mutmut caches verdicts per solution function;
    when this changes, the lesson's cached verdicts are dropped and every mutant re-run."""
    import hashlib
    import inspect

    import nb_helpers.checks
    from nb_helpers.checks.declaration import REGISTRY

    package = Path(nb_helpers.checks.__file__).parent
    files = {p for p in package.glob("*.py") if not p.name.startswith("lesson")}
    files |= set(package.glob(f"lesson{lesson[:2]}_*.py"))  # this lesson's declarations
    for check in (c for c in REGISTRY.values() if c.lesson == lesson):
        for obj in (check.reference, check.probe, *(w.func for w in check.wrong)):
            module = inspect.getmodule(obj) if obj is not None else None
            if module is not None and getattr(module, "__file__", None):
                files.add(Path(module.__file__))
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_project(lesson: str) -> Path:
    """Write (or refresh, touching only what changed) the mutation project of one lesson."""

    project = BUILD / lesson
    package = package_name(lesson)
    exercises = mutated_exercises(lesson)
    _write_if_changed(project / "pyproject.toml", PYPROJECT)
    _write_if_changed(project / "exercises" / "__init__.py", "")
    _write_if_changed(project / "exercises" / package / "__init__.py", "")
    for exercise in exercises:
        _write_if_changed(project / "exercises" / package / f"{exercise}.py", exercise_module(lesson, exercise))
    wanted = {f"{e}.py" for e in exercises} | {"__init__.py"}
    for stale in (project / "exercises" / package).glob("*.py"):
        if stale.name not in wanted:
            stale.unlink()
    _write_if_changed(project / "tests" / "__init__.py", "")
    _write_if_changed(project / "tests" / "test_exercise_checks.py",
                      TEST_MODULE.format(exercises=exercises, package=package))
    return project


def forget_verdicts_if_checks_changed(project: Path, lesson: str) -> None:
    stamp = project / "checks.fingerprint"
    if not stamp.exists() or stamp.read_text() != checks_fingerprint(lesson):
        shutil.rmtree(project / "mutants", ignore_errors=True)  # the checks changed: test every mutant again


def mark_run(project: Path, lesson: str) -> None:
    """Record the checks the cached verdicts were obtained with."""
    (project / "checks.fingerprint").write_text(checks_fingerprint(lesson))


# ------------------------------------------------------------------ running and reading results

def run_mutmut(project: Path, jobs: int) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MPLBACKEND="Agg", TQDM_DISABLE="1", PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)]
    done = subprocess.run(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        sys.stdout.write(done.stdout[-4000:])
        raise SystemExit(f"mutmut failed in {project} (exit {done.returncode})")


@dataclass
class Mutant:
    lesson: str
    exercise: str
    name: str          # mutmut's name, e.g. exercises.l01_activation_functions.sigmoid.x_sigmoid__mutmut_3
    status: str
    original: str      # the line of the solution that the mutant changes (stripped)
    mutated: str       # the same line in the mutant (stripped)
    diff: str


def _statuses(project: Path) -> dict[str, str]:
    """mutant name -> mutmut status, read from mutmut's own result files."""
    from mutmut.stats import status_by_exit_code

    statuses: dict[str, str] = {}
    for meta in (project / "mutants").rglob("*.py.meta"):
        data = json.loads(meta.read_text())
        for name, code in data.get("exit_code_by_key", {}).items():
            statuses[name] = status_by_exit_code[code]
    return statuses


@contextmanager
def _in_project(project: Path) -> Iterator[None]:
    """mutmut reads its configuration from the working directory."""
    from mutmut.configuration import reset_config

    here = Path.cwd()
    os.chdir(project)
    reset_config()
    try:
        yield
    finally:
        os.chdir(here)
        reset_config()


def mutant_diffs(project: Path, path: Path) -> dict[str, tuple[str, str, str]]:
    """Every mutant mutmut makes of the module at `path`: short name (e.g. 'x_sigmoid__mutmut_3') ->
    (original line, mutated line, unified diff of the function). Computed without running anything."""
    import libcst
    from mutmut.mutation.diff_apply import read_mutant_function, read_original_function
    from mutmut.mutation.file_mutation import mutate_file_contents

    with _in_project(project):
        mutated = mutate_file_contents(str(path), path.read_text())
    # What mutmut's `get_diff_for_mutant(name, source=...)` computes, with the mutated module parsed
    # once instead of once per mutant (a fifth of a second each).
    module = libcst.parse_module(mutated.code)
    out: dict[str, tuple[str, str, str]] = {}
    for name in mutated.mutant_names:
        original, mutant = (libcst.Module([function]).code.strip() for function in
                            (read_original_function(module, name), read_mutant_function(module, name)))
        body = list(difflib.unified_diff(original.split("\n"), mutant.split("\n"), lineterm=""))[2:]
        removed = [line[1:].strip() for line in body if line.startswith("-")]
        added = [line[1:].strip() for line in body if line.startswith("+")]
        out[name] = (" / ".join(removed), " / ".join(added), "\n".join(body))
    return out


def load_equivalents(lesson: str) -> list[dict[str, str]]:
    """The declared equivalent mutants of a lesson: [[equivalent]] tables with exercise, original,
    mutated (the changed line before and after, stripped) and reason."""
    path = EQUIVALENTS / f"{lesson}.toml"
    if not path.exists():
        return []
    return tomllib.loads(path.read_text()).get("equivalent", [])


def is_declared(mutant: Mutant, equivalents: list[dict[str, str]]) -> bool:
    return any(e["exercise"] == mutant.exercise and e["original"] == mutant.original and e["mutated"] == mutant.mutated
               for e in equivalents)


def lesson_mutants(lesson: str, project: Path) -> list[Mutant]:
    from nb_helpers.checks.declaration import REGISTRY

    statuses = _statuses(project)
    package = package_name(lesson)
    found: list[Mutant] = []
    for check in (REGISTRY[e] for e in mutated_exercises(lesson)):
        path = project / "exercises" / package / f"{check.id}.py"
        for short, (original, mutated, diff) in mutant_diffs(project, path).items():
            name = f"exercises.{package}.{check.id}.{short}"
            found.append(Mutant(lesson, check.id, name, statuses.get(name, "not run"), original, mutated, diff))
    return found


def report(by_lesson: dict[str, list[Mutant]]) -> bool:
    """Print the table and the survivors; True when every lesson scores 100% within the 10% cap."""
    header = f"{'lesson':<36}{'mutants':>8}{'killed':>8}{'survived':>9}{'equiv.':>8}{'score':>9}"
    print(header)
    print("-" * len(header))
    totals = [0, 0, 0, 0]
    ok = True
    survivors: list[Mutant] = []
    for lesson, mutants in by_lesson.items():
        equivalents = load_equivalents(lesson)
        equivalent = [m for m in mutants if m.status not in KILLED and is_declared(m, equivalents)]
        killed = [m for m in mutants if m.status in KILLED]
        alive = [m for m in mutants if m.status not in KILLED and not is_declared(m, equivalents)]
        survivors += alive
        row = [len(mutants), len(killed), len(alive), len(equivalent)]
        totals = [t + r for t, r in zip(totals, row)]
        score = len(killed) / max(1, len(mutants) - len(equivalent))
        ok &= not alive and len(equivalent) <= 0.10 * len(mutants)
        print(f"{lesson:<36}{row[0]:>8}{row[1]:>8}{row[2]:>9}{row[3]:>8}{score:>9.1%}")
    if len(by_lesson) > 1:
        print("-" * len(header))
        score = totals[1] / max(1, totals[0] - totals[3])
        print(f"{'overall':<36}{totals[0]:>8}{totals[1]:>8}{totals[2]:>9}{totals[3]:>8}{score:>9.1%}")
    from nb_helpers.checks.declaration import REGISTRY

    for exercise, reason in NOT_MUTATED.items():
        if exercise in REGISTRY and REGISTRY[exercise].lesson in by_lesson:
            print(f"not mutated: {exercise} ({REGISTRY[exercise].lesson}): {reason}")
    for m in survivors:
        print(f"\nsurvived ({m.status}): {m.exercise}  [{m.name}]")
        print(f"    original = {json.dumps(m.original, ensure_ascii=False)}")
        print(f"    mutated  = {json.dumps(m.mutated, ensure_ascii=False)}")
        print(textwrap.indent(m.diff, "    | "))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson ids (default: every lesson)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    parser.add_argument("--report-only", action="store_true", help="print the last results without running")
    args = parser.parse_args(argv)
    chosen = args.lessons or lessons()
    unknown = set(chosen) - set(lessons())
    if unknown:
        parser.error(f"unknown lesson(s): {', '.join(sorted(unknown))}; known: {', '.join(lessons())}")
    by_lesson = {}
    for lesson in chosen:
        project = build_project(lesson)
        if not args.report_only:
            print(f"mutmut: {lesson} …", flush=True)
            forget_verdicts_if_checks_changed(project, lesson)
            run_mutmut(project, args.jobs)
            mark_run(project, lesson)
        by_lesson[lesson] = lesson_mutants(lesson, project)
    return 0 if report(by_lesson) else 1


if __name__ == "__main__":
    raise SystemExit(main())
