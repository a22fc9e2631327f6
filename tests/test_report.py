"""`nb-helpers-grade report LESSON`: the item analysis on hand-made rows, exact counts on the sample
class (`make grade`'s four students) and on a synthetic class of 40 students whose mistakes are
generated from the declared wrong answers, and the page in a real browser (Playwright: it renders
offline, with no console error; screenshots on screen and as printed go to artifacts/report/)."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from nb_helpers.grading import synthetic
from nb_helpers.grading.diagnosis import Row
from nb_helpers.grading.report import analyse
from tests.support.requirements import require_playwright
from tests.support.course import REPO, instructor_env, nbgrader

SEED = "test-seed"
ARTIFACTS = REPO / "artifacts" / "report"
SAMPLE_LESSON = "01_activation_functions"
DRILL = ["sigmoid", "tanh", "relu", "softmax", "cross_entropy", "numerical_gradient"]


def row(student: str, exercise: str, position: int, status: str, mistake: str | None = None, problem: str = "",
        score: float | None = None) -> Row:
    score = (1.0 if status == "passed" else 0.0) if score is None else score
    return Row(assignment="a", student=student, notebook="a", exercise=exercise, position=position, status=status,
               mistake=mistake, hint=f"hint of {mistake}" if mistake else "look again", problem=problem,
               message=problem, n_cases=4, n_failed=0 if status == "passed" else 4, credit=score, score=score,
               max_score=1.0)


def test_item_analysis_by_hand():
    # four students, three exercises; e3 is passed by the strongest and the weakest
    table = {"ann": ("passed", "passed", "passed"), "bob": ("passed", "passed", "failed"),
             "cy": ("failed", "passed", "failed"), "dee": ("failed", "not_implemented", "passed")}
    rows = [row(s, f"e{i + 1}", i, st, mistake="e:x" if st == "failed" and i == 0 else None,
                problem="returned None" if st == "failed" and i == 2 else "")
            for s, sts in table.items() for i, st in enumerate(sts)]
    a = analyse(rows, "a")
    e1, e2, e3 = a.exercises
    assert [e.id for e in a.exercises] == ["e1", "e2", "e3"]
    assert a.totals == {"ann": 3, "bob": 2, "cy": 1, "dee": 1} and a.max_total == 3
    assert (e1.passed, e1.n, e1.difficulty) == (2, 4, 0.5)
    # e1 = (1, 1, 0, 0) against the rest (2, 1, 1, 1): r = 0.5 / sqrt(0.75)
    assert e1.discrimination == pytest.approx(0.5773502691896258)
    assert e1.mistakes == {"e:x": 2} and e1.flag() == ""
    assert (e2.unfinished, e2.difficulty) == (1, 0.75)
    assert e3.unexplained == {"returned None": ["bob", "cy"]}
    # e3 = (1, 0, 0, 1) against the rest (2, 2, 1, 0): r = -0.5 / sqrt(2.75)
    assert e3.discrimination == pytest.approx(-0.5 / 2.75 ** 0.5) and e3.flag().startswith("negative")
    same = analyse([row(s, "e1", 0, "passed") for s in "abc"])
    assert same.exercises[0].discrimination is None and same.exercises[0].flag().startswith("undefined")


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def report(root: Path, assignment: str) -> Path:
    proc = subprocess.run([sys.executable, "-m", "nb_helpers.grading.parallel.cli", "report", assignment],
                          cwd=root, env=instructor_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "reports" / assignment


def expected_tables(expected: dict[str, dict[str, tuple[str, str | None]]], problems: dict[str, dict[str, str]]):
    """What the report must count, from the injected answers: per exercise the statuses, the declared
    mistakes and the unexplained failures per problem."""
    statuses, mistakes, unexplained = Counter(), Counter(), Counter()
    for student, answers in expected.items():
        for exercise, (status, mistake) in answers.items():
            statuses[exercise, status] += 1
            if status == "failed" and mistake:
                mistakes[exercise, mistake] += 1
            elif status == "failed":
                unexplained[exercise, problems[student][exercise]] += 1
    return statuses, mistakes, unexplained


def counted(out: Path):
    statuses = Counter()
    for r in read_csv(out / "exercises.csv"):
        for status in ("passed", "failed", "not_implemented", "timeout", "memory", "kernel_died", "delegated",
                       "missing", "ungraded"):
            if int(r[status]):
                statuses[r["exercise"], status] += int(r[status])
    mistakes = Counter({(r["exercise"], r["mistake"]): int(r["count"]) for r in read_csv(out / "mistakes.csv")})
    unexplained = Counter({(r["exercise"], r["problem"]): int(r["count"]) for r in read_csv(out / "unexplained.csv")})
    return statuses, mistakes, unexplained


# ------------------------------------------------------------------ the sample class

@pytest.mark.slow
def test_sample_class_exact_counts(tmp_path, released_course):
    root = released_course(tmp_path / "sample", lessons=(SAMPLE_LESSON,))
    source = synthetic.read(root / "solutions" / SAMPLE_LESSON / f"{SAMPLE_LESSON}.ipynb")
    blank = synthetic.read(root / "notebooks" / SAMPLE_LESSON / f"{SAMPLE_LESSON}.ipynb")
    for student, nb in synthetic.sample_students(source, blank).items():
        synthetic.write_submission(nb, root, student, SAMPLE_LESSON)
    nbgrader(root, "autograde", SAMPLE_LESSON, "--force")
    out = report(root, SAMPLE_LESSON)
    ids = synthetic.exercises(source)
    last = ids[-1]
    # carl's last answer returns None: what no declared wrong answer of that check explains
    from nb_helpers.grading.verdict import grading_seed

    status, mistake = synthetic._verdict_of(last, f"def {last}(*args, **kwargs):\n    return None\n",
                                            grading_seed(SEED, SAMPLE_LESSON, "carl", last))
    assert (status, mistake) == ("failed", None)
    rows = {r["exercise"]: r for r in read_csv(out / "exercises.csv")}
    assert list(rows) == ids
    for exercise in ids:
        r = rows[exercise]
        assert (int(r["students"]), int(r["not_implemented"])) == (4, 2), exercise
        assert (int(r["passed"]), int(r["failed"])) == ((1, 1) if exercise == last else (2, 0)), exercise
    assert read_csv(out / "mistakes.csv") == []
    unexplained = read_csv(out / "unexplained.csv")
    assert [(r["exercise"], r["count"], r["students"]) for r in unexplained] == [(last, "1", "carl")]
    assert unexplained[0]["problem"]  # e.g. "raised TypeError: two_layer_net must return a pair (loss, grads); ..."
    totals = {r["student"]: float(r["score"]) for r in read_csv(out / "students.csv")}
    assert totals == {"ada": len(ids), "blaise": 0, "carl": len(ids) - 1, "dana": 0}
    page = (out / "report.html").read_text()
    assert "4 students" in page and f"{len(ids)} exercises" in page


# ------------------------------------------------------------------ a class of 40 with a spread of mistakes

@pytest.fixture(scope="module")
def big_class(tmp_path_factory, released_course):
    """40 students of a six-exercise drill of lesson 01, graded by `nb-helpers-grade`, and the report."""
    source = synthetic.read(REPO / "solutions" / SAMPLE_LESSON / f"{SAMPLE_LESSON}.ipynb")
    root = released_course(tmp_path_factory.mktemp("class40") / "course",
                           drills={"drill": synthetic.drill_assignment(source, DRILL)})
    drill = synthetic.read(root / "solutions" / "drill" / "drill.ipynb")
    notebooks, expected = synthetic.mistakes_class(drill, "drill", SEED, n_students=40, seed=7)
    for student, nb in notebooks.items():
        synthetic.write_submission(nb, root, student, "drill")
    proc = subprocess.run([sys.executable, "-m", "nb_helpers.grading.parallel.cli", "drill", "--no-progress"],
                          cwd=root, env=instructor_env(), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, expected, report(root, "drill")


@pytest.mark.slow
def test_the_report_counts_exactly_the_injected_mistakes(big_class):
    from nb_helpers.grading.diagnosis import load

    root, expected, out = big_class
    problems = {}
    for r in load(f"sqlite:///{root / 'gradebook.db'}", "drill"):
        problems.setdefault(r.student, {})[r.exercise] = r.problem
    want = expected_tables(expected, problems)
    got = counted(out)
    assert got[0] == want[0]   # statuses per exercise
    assert got[1] == want[1]   # declared mistakes per exercise
    assert got[2] == want[2]   # unexplained failures per problem
    # a spread: every kind of answer, and more than a dozen distinct declared mistakes
    kinds = Counter(status for answers in expected.values() for status, _ in answers.values())
    assert kinds["passed"] and kinds["failed"] and kinds["not_implemented"]
    assert len(want[1]) >= 12 and sum(want[2].values()) > 0
    exercises = {r["exercise"]: r for r in read_csv(out / "exercises.csv")}
    for exercise, r in exercises.items():
        passed = sum(1 for a in expected.values() if a[exercise][0] == "passed")
        assert float(r["difficulty"]) == pytest.approx(passed / 40, abs=1e-3)
        assert float(r["pass_rate"]) == pytest.approx(passed / 40, abs=1e-3)
    totals = {r["student"]: float(r["score"]) for r in read_csv(out / "students.csv")}
    assert totals == {s: sum(st == "passed" for st, _ in a.values()) for s, a in expected.items()}


@pytest.mark.slow
def test_the_report_page_in_a_real_browser(big_class):
    """Self-contained (no request leaves the page), renders its figures, no console error; screenshots."""
    chromium, sync_playwright = require_playwright("browser test of the grading report")
    from tests.support.lab_browser import CHROMIUM_ARGS

    _, _, out = big_class
    page_path = out / "report.html"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)
            page = context.new_page()
            errors, requests = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])")
            assert len(images) == 3 and all(done and width > 100 and alt for done, width, alt in images), images
            assert page.locator("h1").inner_text().startswith("What the class got wrong")
            assert page.locator("section.exercise").count() == len(DRILL)
            assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
            assert errors == []
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
            page.emulate_media(media="print")
            page.screenshot(path=str(ARTIFACTS / "report-print.png"), full_page=True)
            page.pdf(path=str(ARTIFACTS / "report.pdf"))
        finally:
            browser.close()
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
