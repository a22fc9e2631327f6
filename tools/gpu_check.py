"""Accelerator check: run the solution notebooks on this machine's device and compare the numbers they
print with the CPU reference run (the outputs stored in solutions/).

    python -m tools.gpu_check [LESSON ...] [--save DIR]        (or: make gpu-check)

The lessons' setup cell picks the device (CUDA when available). For each lesson this prints the device,
the wall time (kernel start included), the largest deviation from the reference (where, and as a
fraction of its tolerance) and PASS/FAIL; the exit status is 1 when a lesson fails.

What is compared: every number in the text output (stdout streams and `text/plain` results) of each
code cell, matched in order, plus the text around the numbers, which must be identical. Cells tagged
`nbval-ignore-output` (setup line, widgets, progress bars, timings) are skipped. Tolerances:

- computed cells: integers (and shapes, counts) exactly; floats within
  `max(1e-6, 1e-3·|ref|)` plus one unit in the last printed digit of the reference;
- trained-model cells (those that use `device`, or a name bound by such a cell, directly or in
  turn): floats within `max(0.05, 10 %·|ref|)` plus one printed unit, integers (epochs, counts)
  within `max(5, 50 %·|ref|)`: training on another device takes other rounding paths and may end
  in a different but equally good model;
- sampled cells (tagged `gpu-check-sampled`): their numbers come from random draws made on the device,
  such as dropout masks. CUDA's generator gives other draws than the CPU's for the same seed, so the
  run is another sample of the experiment, not a rounding of it: floats within
  `max(0.05, 25 %·|ref|)` plus one printed unit, integers (the epoch where a flat curve is lowest)
  within `max(25, 100 %·|ref|)`;
- `nan` and `inf` must match as such.

Runs of spaces count as one, so a number printed wider or narrower in a padded table is no text change.

Running it on a machine without the Jupyter stack (e.g. Python 3.12 with torch, NumPy, matplotlib and
scikit-learn only): carry wheels made elsewhere and install them there without an index.

    # where PyPI is reachable, for the target's Python (here 3.12):
    pip download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 -d wheels \\
        nbclient nbformat ipykernel "ipywidgets>=7.6,<9" matplotlib-inline tqdm threadpoolctl
    pip wheel --no-deps -w wheels .                      # the course package itself
    # on the target, from the repository root:
    pip install --no-index --find-links wheels nbclient nbformat ipykernel ipywidgets matplotlib-inline tqdm threadpoolctl
    pip install --no-deps wheels/nn_training_course-*.whl
    python -m tools.gpu_check
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from nb_helpers.conventions import SETUP_ID, nbgrader_meta

REPO = Path(__file__).resolve().parents[1]
IGNORE_TAG = "nbval-ignore-output"
SAMPLED_TAG = "gpu-check-sampled"
# A number that is not part of a name (fc10, x1) or of a version string (2.13.0).
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\.?\d)|(?<!\w)(?:nan|inf)(?!\w)")
DEVICE_LINE = re.compile(r"device: (\w+)")
# Same settings as `make execute`, which produced the reference outputs.
RUN_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TQDM_DISABLE": "1",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


@dataclass(frozen=True)
class Tolerance:
    """|run - ref| may be up to max(atol, rtol·|ref|) for floats (plus one printed unit),
    max(int_atol, int_rtol·|ref|) for integers."""

    name: str
    rtol: float
    atol: float
    int_rtol: float = 0.0
    int_atol: float = 0.0

    def allowed(self, ref_token: str, ref: float) -> float:
        """The largest allowed |run - ref| for this reference token."""
        if is_integer(ref_token):
            return max(self.int_atol, self.int_rtol * abs(ref))
        return max(self.atol, self.rtol * abs(ref)) + printed_unit(ref_token)


COMPUTED = Tolerance("computed", rtol=1e-3, atol=1e-6)
TRAINED = Tolerance("trained", rtol=0.10, atol=0.05, int_rtol=0.5, int_atol=5)
SAMPLED = Tolerance("sampled", rtol=0.25, atol=0.05, int_rtol=1.0, int_atol=25)


@dataclass
class Deviation:
    """One compared number (or a text mismatch, with `ratio` = inf)."""

    cell: int
    ref: str
    got: str
    ratio: float            # |run - ref| / allowed: above 1 fails
    tolerance: str

    def describe(self) -> str:
        if self.ref.startswith("text:"):
            return f"cell {self.cell}: text differs ({self.ref[5:]!r} vs {self.got!r})"
        return f"cell {self.cell}: {self.ref} -> {self.got} ({self.ratio:.0%} of the {self.tolerance} tolerance)"


@dataclass
class LessonResult:
    """The comparison of one lesson's run with its reference."""

    lesson: str
    device: str = "?"
    seconds: float = 0.0
    error: str | None = None
    deviations: list[Deviation] = field(default_factory=list)
    compared: int = 0

    @property
    def worst(self) -> Deviation | None:
        return max(self.deviations, key=lambda d: d.ratio, default=None)

    @property
    def passed(self) -> bool:
        return self.error is None and all(d.ratio <= 1.0 for d in self.deviations)


def is_integer(token: str) -> bool:
    """An integer token: digits only, no point, exponent, nan or inf."""
    return re.fullmatch(r"[-+]?\d+", token) is not None


def printed_unit(token: str) -> float:
    """One unit in the last printed digit: 0.0001 for '0.2100', 1e-06 for '2.3e-05', 1 for '34'."""
    if token in ("nan", "inf", "-inf", "+inf"):
        return 0.0
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def cell_text(cell: Any) -> str:
    """The text a code cell showed: its stdout streams and `text/plain` results, in order."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _names(source: str) -> tuple[set[str], set[str]] | None:
    """(names read, names bound) by a cell's code; None when it does not parse."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    used, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else used).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
    return used, bound


def trained_cells(cells: list[Any]) -> set[int]:
    """Indices of the code cells whose results depend on work done on `device`, directly or through
    a name bound by such a cell (the setup cell, which binds `device`, is not counted)."""
    tainted: set[str] = set()
    result = set()
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or nbgrader_meta(cell).get("grade_id") == SETUP_ID:
            continue
        names = _names(cell.get("source", ""))
        if names is None:
            used, bound = set(re.findall(r"\w+", cell.get("source", ""))), set()
        else:
            used, bound = names
        if "device" in used or used & tainted:
            result.add(i)
            tainted |= bound
    return result


def compare_cells(ref_cells: list[Any], run_cells: list[Any]) -> tuple[list[Deviation], int]:
    """Deviations of a run's printed numbers from the reference, cell by cell; and how many were compared."""
    trained = trained_cells(ref_cells)
    deviations: list[Deviation] = []
    compared = 0
    for i, (ref_cell, run_cell) in enumerate(zip(ref_cells, run_cells)):
        if ref_cell.get("cell_type") != "code" or IGNORE_TAG in ref_cell.get("metadata", {}).get("tags", []):
            continue
        tags = ref_cell.get("metadata", {}).get("tags", [])
        tol = SAMPLED if SAMPLED_TAG in tags else TRAINED if i in trained else COMPUTED
        ref_text, run_text = cell_text(ref_cell), cell_text(run_cell)
        if text_around_numbers(ref_text) != text_around_numbers(run_text):
            deviations.append(Deviation(i, "text:" + _first_difference(ref_text, run_text)[0],
                                        _first_difference(ref_text, run_text)[1], math.inf, tol.name))
            continue
        for ref_tok, run_tok in zip(NUMBER.findall(ref_text), NUMBER.findall(run_text)):
            compared += 1
            deviations.append(Deviation(i, ref_tok, run_tok, deviation_ratio(ref_tok, run_tok, tol), tol.name))
    if len(ref_cells) != len(run_cells):
        deviations.append(Deviation(-1, f"text:{len(ref_cells)} cells", f"{len(run_cells)} cells", math.inf, "structure"))
    return deviations, compared


def deviation_ratio(ref_tok: str, run_tok: str, tol: Tolerance) -> float:
    """|run - ref| as a fraction of what `tol` allows (0 when equal, inf when nothing is allowed)."""
    ref, run = float(ref_tok), float(run_tok)
    if math.isnan(ref) or math.isnan(run) or math.isinf(ref) or math.isinf(run):
        return 0.0 if (str(ref) == str(run)) else math.inf
    diff = abs(run - ref)
    if diff == 0:
        return 0.0
    allowed = tol.allowed(ref_tok, ref)
    return diff / allowed if allowed > 0 else math.inf


def text_around_numbers(text: str) -> str:
    """The text with every number replaced by '#' and each run of spaces or tabs by one space."""
    return re.sub(r"[ \t]+", " ", NUMBER.sub("#", text))


def _first_difference(a: str, b: str) -> tuple[str, str]:
    for la, lb in zip(a.splitlines() + [""], b.splitlines() + [""]):
        if text_around_numbers(la) != text_around_numbers(lb):
            return la[:120], lb[:120]
    return a[:120], b[:120]


def execute(path: Path) -> tuple[Any, float]:
    """Execute a copy of a notebook with a kernel on this interpreter; return it and the wall time."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as kernels:
        spec = Path(kernels) / "gpu-check"
        spec.mkdir()
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "gpu-check", "language": "python"}))
        km = KernelManager(kernel_name="gpu-check", kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels]))
        start = time.perf_counter()
        # cleanup_kc: nbclient shuts down only the kernels of managers it made itself, and a
        # lingering kernel would keep its GPU memory while the next lessons run
        NotebookClient(nb, km=km, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute(cleanup_kc=True)
        return nb, time.perf_counter() - start


def check_lesson(lesson: str, save: Path | None = None) -> LessonResult:
    """Run one lesson and compare it with its stored reference outputs."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    path = REPO / "solutions" / lesson / f"{lesson}.ipynb"
    result = LessonResult(lesson)
    reference = nbformat.read(path, as_version=4)
    try:
        run, result.seconds = execute(path)
    except CellExecutionError as exc:
        result.error = str(exc).strip().splitlines()[-1][:300]
        return result
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(run, save / path.name)
    setup = next((c for c in run.cells if nbgrader_meta(c).get("grade_id") == SETUP_ID), None)
    found = DEVICE_LINE.search(cell_text(setup) if setup is not None else "")
    result.device = found.group(1) if found else "?"
    result.deviations, result.compared = compare_cells(reference.cells, run.cells)
    return result


def report_line(r: LessonResult) -> str:
    """One line of the summary table."""
    if r.error:
        return f"| {r.lesson} | {r.device} | {r.seconds:.1f} | - | error: {r.error} | FAIL |"
    worst = r.worst
    where = "none (all equal)" if worst is None or worst.ratio == 0 else worst.describe()
    return f"| {r.lesson} | {r.device} | {r.seconds:.1f} | {r.compared} | {where} | {'PASS' if r.passed else 'FAIL'} |"


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson ids (default: every solutions/*/)")
    parser.add_argument("--save", type=Path, help="write the executed notebooks to this folder")
    args = parser.parse_args(list(argv) if argv is not None else None)
    for key, value in RUN_ENV.items():
        os.environ.setdefault(key, value)
    lessons = args.lessons or sorted(p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())
    import torch

    print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}"
          + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else ""), flush=True)
    print("| lesson | device | wall time (s) | numbers compared | largest deviation (where) | result |\n"
          "|---|---|---|---|---|---|", flush=True)
    results = []
    for lesson in lessons:
        results.append(check_lesson(lesson, args.save))
        print(report_line(results[-1]), flush=True)
    failures = [d for r in results for d in r.deviations if d.ratio > 1.0]
    for d in failures[:20]:
        print(f"  beyond tolerance: {d.describe()}")
    ok = all(r.passed for r in results)
    print("gpu-check: " + ("all lessons within tolerance" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
