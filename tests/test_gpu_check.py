"""The accelerator check's comparison: numbers parsed from cell outputs, tolerances, reports."""

from __future__ import annotations

import copy
import math

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output

from tools.gpu_check import (COMPUTED, SAMPLED, TRAINED, Deviation, LessonResult, NUMBER, compare_cells, deviation_ratio, printed_unit,
                             report_line, trained_cells)
from nb_helpers.conventions import SETUP_ID
from tests.support.course import LESSONS, REPO


def cell(source: str, text: str, tags: tuple[str, ...] = (), plain: str | None = None):
    c = new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    c.outputs = [new_output("stream", name="stdout", text=text)]
    if plain is not None:
        c.outputs.append(new_output("execute_result", data={"text/plain": plain}, execution_count=1))
    return c


def setup_cell():
    c = cell("device = prepare_lesson('0.1.0')", "nb_helpers 0.1.0 | torch 2.13.0+cpu | device: cpu\n",
             tags=("nbval-ignore-output",))
    c.metadata["nbgrader"] = {"grade_id": SETUP_ID}
    return c


def with_text(c, text):
    c = copy.deepcopy(c)
    c.outputs[0]["text"] = text
    return c


def test_numbers_are_parsed_but_not_digits_inside_names_or_versions():
    assert NUMBER.findall("fc10 1.55e-01 -> fc1 6.30e-10, F1 0.666667, 8%, nan, x1: -2, torch 2.13.0") == \
        ["1.55e-01", "6.30e-10", "0.666667", "8", "nan", "-2"]


def test_printed_unit_is_one_in_the_last_digit():
    assert printed_unit("0.2100") == pytest.approx(1e-4)
    assert printed_unit("2.3e-05") == pytest.approx(1e-6)
    assert printed_unit("34") == 1


@pytest.mark.parametrize("ref, got, tol, ok", [
    ("0.2100", "0.2101", COMPUTED, True),        # one printed unit: a rounding flip
    ("0.2100", "0.2105", COMPUTED, False),
    ("60557103.064", "60557200.0", COMPUTED, True),   # relative 1e-3
    ("6.7e-16", "1.1e-15", COMPUTED, True),      # below the absolute floor
    ("34", "35", COMPUTED, False),               # integers exactly
    ("34", "37", TRAINED, True),
    ("0.918", "0.95", TRAINED, True),
    ("0.918", "0.60", TRAINED, False),           # a model that did not learn
    ("27", "4", SAMPLED, True),                  # the lowest point of a flat curve, another dropout sample
    ("0.1136", "0.1022", SAMPLED, True),
    ("0.868", "0.600", SAMPLED, False),          # another sample does not explain a model that did not learn
    ("8", "48", SAMPLED, False),
    ("nan", "nan", COMPUTED, True),
    ("nan", "1.0", TRAINED, False),
])
def test_tolerances(ref, got, tol, ok):
    assert (deviation_ratio(ref, got, tol) <= 1.0) == ok


def test_cells_that_use_the_device_or_its_results_are_compared_as_trained():
    cells = [setup_cell(),
             cell("X = as_tensors(a, device=device)\nmodel = fit(X)", ""),
             cell("acc = evaluate(model)\nprint(acc)", "0.9"),
             cell("y = np.arange(3)\nprint(y.sum())", "3"),
             cell("def f(v):\n    return v.to(device)", ""),
             cell("print(f(1))", "1")]
    assert trained_cells(cells) == {1, 2, 4, 5}


def test_identical_runs_deviate_by_nothing():
    ref = [setup_cell(), cell("print(x)", "loss 0.2100, epoch 14\n", plain="<Figure size 630x378 with 1 Axes>")]
    deviations, compared = compare_cells(ref, copy.deepcopy(ref))
    assert compared == 4 and max(d.ratio for d in deviations) == 0


def test_a_deviation_beyond_tolerance_is_reported_with_its_cell_and_fails_the_lesson():
    ref = [setup_cell(), cell("print(x)", "largest difference 0.2100 at 3\n")]
    run = [ref[0], with_text(ref[1], "largest difference 0.2500 at 3\n")]
    deviations, _ = compare_cells(ref, run)
    result = LessonResult("01_x", device="cuda", seconds=1.0, deviations=deviations)
    assert not result.passed
    assert result.worst.cell == 1 and (result.worst.ref, result.worst.got) == ("0.2100", "0.2500")
    line = report_line(result)
    assert "cell 1: 0.2100 -> 0.2500" in line and line.endswith("FAIL |")


def test_changed_text_and_ignored_cells():
    ref = [setup_cell(), cell("print(b)", "identical to DataLoader: True\n"),
           cell("time_it()", "1.50 µs per prediction\n", tags=("nbval-ignore-output",))]
    run = [ref[0], with_text(ref[1], "identical to DataLoader: False\n"), with_text(ref[2], "0.20 µs per prediction\n")]
    deviations, _ = compare_cells(ref, run)
    assert len(deviations) == 1 and math.isinf(deviations[0].ratio) and deviations[0].cell == 1
    assert "text differs" in deviations[0].describe()


def test_a_number_printed_narrower_in_a_padded_table_is_no_text_change():
    ref = [setup_cell(), cell("table()", "p = 0.5: |     27    0.3380\n")]
    run = [ref[0], with_text(ref[1], "p = 0.5: |      4    0.3380\n")]
    deviations, compared = compare_cells(ref, run)
    assert compared == 3 and not any(d.ref.startswith("text:") for d in deviations)
    joined = [ref[0], with_text(ref[1], "p = 0.5: |27 0.3380\n")]        # spaces collapse, they do not vanish
    assert any(d.ref.startswith("text:") for d in compare_cells(ref, joined)[0])


def test_cells_tagged_sampled_get_the_sampled_tolerance():
    ref = [setup_cell(), cell("print(table)", "best epoch 27, loss 0.3380\n", tags=("gpu-check-sampled",)),
           cell("print(best)", "best epoch 27\n")]
    run = [ref[0], with_text(ref[1], "best epoch 4, loss 0.3327\n"), with_text(ref[2], "best epoch 4\n")]
    deviations, _ = compare_cells(ref, run)
    assert {(d.cell, d.tolerance) for d in deviations} == {(1, "sampled"), (2, "computed")}
    assert [d.cell for d in deviations if d.ratio > 1] == [2]


def test_the_dropout_table_is_tagged_sampled():
    """Lesson 03's dropout experiment draws its masks on `device`: on CUDA it is another sample."""
    lesson = "03_regularization_and_optimization"
    for folder in ("solutions", "notebooks"):
        nb = nbformat.read(REPO / folder / lesson / f"{lesson}.ipynb", as_version=4)
        tagged = [c.source for c in nb.cells if "gpu-check-sampled" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and "early-stopped at the best validation loss" in tagged[0], folder


def test_a_cell_error_fails_the_lesson():
    result = LessonResult("01_x", error="RuntimeError: CUDA out of memory")
    assert not result.passed and "error: RuntimeError" in report_line(result)


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_stored_reference_compared_with_itself_passes(lesson):
    nb = nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    deviations, compared = compare_cells(nb.cells, copy.deepcopy(nb.cells))
    assert compared > 20 and all(d.ratio == 0 for d in deviations)
    assert trained_cells(nb.cells) or lesson.startswith("04")


def test_main_exits_non_zero_when_a_lesson_fails(monkeypatch, capsys):
    import tools.gpu_check as G

    bad = [Deviation(3, "0.918", "0.500", 8.4, "trained")]
    monkeypatch.setattr(G, "check_lesson", lambda lesson, save=None: LessonResult(lesson, "cuda", 2.0, None, bad, 1))
    assert G.main(["01_activation_functions"]) == 1
    out = capsys.readouterr().out
    assert "| 01_activation_functions | cuda | 2.0 | 1 | cell 3: 0.918 -> 0.500" in out and "FAILED" in out


def test_each_lesson_s_kernel_is_shut_down_after_its_run(tmp_path):
    """A kernel left running would hold its GPU memory while the next lessons run."""
    import psutil

    import tools.gpu_check as G

    path = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[new_code_cell("print(6 * 7)")]), path)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    run, _ = G.execute(path)
    assert G.cell_text(run.cells[0]) == "42\n"
    kernels = [p for p in psutil.Process().children(recursive=True)
               if p.pid not in before and p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert kernels == []
