"""The second edition's conventions on every lesson's solution notebook (CONTRIBUTING.md, "Notebook anatomy"):
stars on exercise headings and in the introduction, a measured estimated time, a one-sentence caption
under every figure and widget, numbers in prose that match the executed outputs, docstrings that state
a contract rather than the answer, and one colour-blind-safe palette in every figure.

Lessons are discovered from solutions/*/. Each failure names the lesson, the cell id and what is
missing; all problems of a lesson are reported at once.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from nb_helpers.conventions import nbgrader_meta
from nb_helpers.plots import PALETTE
from tests.support.course import LESSONS, REPO
from tools.lesson_time import exercise_headings, lesson_time

FIGURE_CAPTION = "**Figure.**"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
ESTIMATED_TIME = re.compile(r"\*\*Estimated time:\*\*\s*about (\d+) minutes")


def solution(lesson: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)


def where(lesson: str, nb: nbformat.NotebookNode, index: int) -> str:
    return f"{lesson}, cell {nb.cells[index].get('id')!r} (#{index})"


def report(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} problem(s):\n- " + "\n- ".join(problems)


def is_solution(cell) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_meta(cell).get("solution"))


def introduction(nb: nbformat.NotebookNode) -> tuple[int, str]:
    """The introduction: the first markdown cell (the title cell)."""
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")
    return index, nb.cells[index].source


# ---------------------------------------------------------------- stars

@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_heading_carries_its_stars(lesson):
    """`### Exercise …` headings end with ★, ★★ or ★★★; each introduces a solution cell, and every
    solution cell has an exercise heading above it."""
    nb = solution(lesson)
    headings = exercise_headings(nb)
    problems = [f"{where(lesson, nb, h.cell)}: exercise heading {h.text!r} carries no difficulty "
                "(end it with ★, ★★ or ★★★ after a space)" for h in headings if not h.stars]
    starts = [h.cell for h in headings] + [len(nb.cells)]
    for h, end in zip(headings, starts[1:]):
        if not any(is_solution(c) for c in nb.cells[h.cell + 1:max(end, h.cell + 1)]):
            problems.append(f"{where(lesson, nb, h.cell)}: exercise heading {h.text!r} is followed by no "
                            "solution cell before the next exercise heading")
    for i, cell in enumerate(nb.cells):
        if is_solution(cell) and not any(h.cell < i for h in headings):
            problems.append(f"{where(lesson, nb, i)}: solution cell {nbgrader_meta(cell).get('grade_id')!r} has no "
                            "`### Exercise …` heading above it")
    assert headings, f"{lesson}: no `### Exercise …` heading at all"
    report(problems)


def listed_exercises(intro: str) -> list[str]:
    """The list items of the introduction that name an exercise (`- Exercise 2.3 · … ★`)."""
    return [m.group(1).strip() for m in re.finditer(r"^[ \t]*[-*+][ \t]+(Exercises?\b.*?)[ \t]*$", intro, re.MULTILINE)]


@pytest.mark.parametrize("lesson", LESSONS)
def test_introduction_lists_every_exercise_with_its_stars_in_order(lesson):
    nb = solution(lesson)
    index, intro = introduction(nb)
    headings = [h.text for h in exercise_headings(nb)]
    problems = []
    if not re.search(r"\*\*Exercises\b", intro):
        problems.append(f"{where(lesson, nb, index)}: the introduction has no \"**Exercises**\" section")
    listed = listed_exercises(intro)
    if listed != headings:
        missing = [h for h in headings if h not in listed]
        extra = [x for x in listed if x not in headings]
        detail = (f"missing {missing}; " if missing else "") + (f"not a heading {extra}; " if extra else "")
        if not missing and not extra:
            detail = "same exercises in another order; "
        problems.append(f"{where(lesson, nb, index)}: the introduction's exercise list differs from the headings "
                        f"({detail}headings in order: {headings})")
    report(problems)


@pytest.mark.parametrize("lesson", LESSONS)
def test_estimated_time_is_what_tools_lesson_time_measures(lesson):
    nb = solution(lesson)
    index, intro = introduction(nb)
    measured = lesson_time(lesson)
    stated = ESTIMATED_TIME.search(intro)
    assert stated, (f"{where(lesson, nb, index)}: no `**Estimated time:** about N minutes` line in the introduction; "
                    f"`python -m tools.lesson_time {lesson}` gives: {measured.line()}")
    assert int(stated.group(1)) == measured.minutes, (
        f"{where(lesson, nb, index)}: the introduction says about {stated.group(1)} minutes; "
        f"`python -m tools.lesson_time {lesson}` gives: {measured.line()}")


# -------------------------------------------- figures (CONTRIBUTING.md, "Figures, captions and numbers in prose")

#: A tqdm progress bar's text form (`epochs:   0%|          | 0/100 [00:00<?, ?it/s]`): a widget view
#: that is not a figure, so it needs no caption.
PROGRESS_BAR = re.compile(r"\|\s*\d+/\d+\s*\[")


def is_interactive_figure(output) -> bool:
    data = output.get("data", {})
    return WIDGET_MIME in data and not PROGRESS_BAR.search(str(data.get("text/plain", "")))


def shows_figure(cell) -> bool:
    return cell.cell_type == "code" and any(
        "image/png" in o.get("data", {}) or is_interactive_figure(o) for o in cell.get("outputs", []))


#: Sentence ends inside a caption: ., ! or ? followed by a space and a capital letter (not "e.g. x").
SENTENCE_BREAK = re.compile(r"(?<=[.!?])[)\"'*_]*\s+(?=[\"'(*_]*[A-Z])")
ENDS_A_SENTENCE = re.compile(r"[.!?][)\"'*_$]*$")


def caption_problem(source: str) -> str | None:
    """None when `source` is a `**Figure.**` caption of one sentence; else what is wrong."""
    text = source.strip()
    if not text.startswith(FIGURE_CAPTION):
        return f"is not a caption starting with {FIGURE_CAPTION}"
    body = text[len(FIGURE_CAPTION):].strip()
    if not body:
        return "is an empty caption"
    if "\n\n" in body:
        return "is a caption of several paragraphs; write one sentence"
    one_line = " ".join(body.split())
    pieces = SENTENCE_BREAK.split(one_line)
    if len(pieces) > 1:
        return f"is a caption of {len(pieces)} sentences; write one sentence (the figure's finding)"
    if not ENDS_A_SENTENCE.search(one_line):
        return "is a caption that does not end its sentence with a full stop"
    return None


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_figure_and_widget_has_a_one_sentence_caption_below(lesson):
    nb = solution(lesson)
    problems = []
    for i, cell in enumerate(nb.cells):
        if not shows_figure(cell):
            continue
        what = "a widget" if any(is_interactive_figure(o) for o in cell.outputs) else "a figure"
        following = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        if following is None or following.cell_type != "markdown":
            problems.append(f"{where(lesson, nb, i)} shows {what} but the next cell is not a markdown "
                            f"{FIGURE_CAPTION} caption")
            continue
        problem = caption_problem(following.source)
        if problem:
            problems.append(f"{where(lesson, nb, i)} shows {what}; the next cell {following.get('id')!r} {problem}")
    report(problems)


def test_caption_rule_accepts_one_sentence_and_rejects_two():
    assert caption_problem("**Figure.** The sigmoid's derivative never exceeds 0.25, e.g. at x = 0 it is 0.25.") is None
    assert caption_problem("**Figure.** ReLU's slope is 1 for $x > 0$.") is None
    assert "2 sentences" in caption_problem("**Figure.** Loss falls. Then it rises again.")
    assert "starting with" in caption_problem("The loss falls.")
    assert "full stop" in caption_problem("**Figure.** The loss falls")


# ---------------------------------------------------------------- numbers in prose

def text_outputs(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif "text/plain" in o.get("data", {}):
            parts.append(o["data"]["text/plain"])
    return "".join(parts)


@pytest.mark.parametrize("lesson", LESSONS)
def test_numbers_declared_in_prose_appear_in_the_named_cells_outputs(lesson):
    """A markdown cell's `metadata.nb_helpers.numbers` = {code cell id: [strings]}: each string is in the
    markdown's text and in that code cell's executed text output (stream or text/plain)."""
    nb = solution(lesson)
    by_id = {c.get("id"): c for c in nb.cells}
    problems = []
    for i, cell in enumerate(nb.cells):
        declared = cell.get("metadata", {}).get("nb_helpers", {}).get("numbers")
        if cell.cell_type != "markdown" or declared is None:
            continue
        if not isinstance(declared, dict):
            problems.append(f"{where(lesson, nb, i)}: metadata.nb_helpers.numbers must map a code cell id to strings")
            continue
        for cell_id, numbers in declared.items():
            source = by_id.get(cell_id)
            if source is None or source.cell_type != "code":
                problems.append(f"{where(lesson, nb, i)}: declares numbers of {cell_id!r}, which is not a code cell "
                                "of the notebook")
                continue
            printed = text_outputs(source)
            for number in numbers:
                if str(number) not in cell.source:
                    problems.append(f"{where(lesson, nb, i)}: declared number {number!r} is not in this cell's text")
                if str(number) not in printed:
                    problems.append(f"{where(lesson, nb, i)}: declared number {number!r} is not in the executed "
                                    f"output of {cell_id!r}")
    report(problems)


# ---------------------------------------------------------------- docstrings state a contract

ASSIGNMENT = re.compile(r"(?<![\w.\]=!<>:+\-*/@])([A-Za-z_][\w.]*(?:\[[^\]]*\])?)\s*(?:[-+*/@]|\*\*)?=(?![=>])\s*([^\n;]+)")
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")
OPERATOR = re.compile(r"[-+*/@(·×−]")


def code_like_assignment(line: str) -> str | None:
    """`name = <an expression with a name and an operator or call>` in a docstring line, else None.
    (Keyword defaults and facts such as `h=1e-5`, `activation="relu"`, `warmup_steps = 0 starts at
    lr_max`, and keyword arguments inside a call, are contract, not code.)"""
    for m in ASSIGNMENT.finditer(line):
        if line[:m.start()].count("(") > line[:m.start()].count(")"):
            continue   # a keyword argument of a call the contract names: `torch.optim.SGD(params, lr=lr)`
        rhs = NUMBER.sub(" ", m.group(2))
        rhs = re.sub(r"\"[^\"]*\"|'[^']*'", " ", rhs)
        if re.search(r"[A-Za-z_]", rhs) and OPERATOR.search(rhs):
            return m.group(0).strip()
    return None


#: Arithmetic on a function call, as code writes it: `1 - sigmoid(x)`, `exp(z - m) / sum(…)`, `s * f(x)`.
CALL_ARITHMETIC = re.compile(r"\w+\([^()\n]*\)\s*(?:\*\*|[*/]|\s[-+]\s)\s*[\w(]"
                             r"|[\w)]\s*(?:\*\*|[*/]|\s[-+]\s)\s*\w+\(")


def copyable_expression(line: str) -> str | None:
    """An expression a student could paste (arithmetic on a function call, e.g. the convention's
    "sigmoid(x) * (1 - sigmoid(x))"), else None."""
    m = CALL_ARITHMETIC.search(line)
    return m.group(0).strip() if m else None


def code_like_return(line: str) -> bool:
    """A docstring line that reads like a return statement (`return x * (1 - x)`, `return w`)."""
    m = re.match(r"\s*(?:>>>\s*)?return\s+(.*)$", line)
    if not m:
        return False
    rest = m.group(1).strip().rstrip(".")
    return bool(re.search(r"[()\[\]*/+=@·−]", rest) or re.fullmatch(r"[A-Za-z_][\w.]*", rest))


def solution_regions(cell_source: str) -> list[tuple[int, int]]:
    """(first, last) 1-based line numbers strictly between each BEGIN/END SOLUTION pair."""
    lines = cell_source.splitlines()
    regions, start = [], None
    for number, line in enumerate(lines, 1):
        if "### BEGIN SOLUTION" in line:
            start = number + 1
        elif "### END SOLUTION" in line and start is not None:
            regions.append((start, number - 1))
            start = None
    return regions


def docstring_problems(source: str) -> list[str]:
    """What gives the answer away in the docstrings of the functions that hold a solution region."""
    tree = ast.parse(source)
    lines = source.splitlines()
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    problems = []
    for first, last in solution_regions(source):
        owners = [f for f in functions if f.lineno < first and last <= f.end_lineno]
        if not owners:
            continue
        owner = max(owners, key=lambda f: f.lineno)   # the innermost function
        documented = [owner] + [p for p in (parents.get(owner),) if isinstance(p, ast.ClassDef)]
        body = [line.strip() for line in lines[first - 1:last]]
        for node in documented:
            doc = ast.get_docstring(node) or ""
            name = node.name
            flat = " ".join(doc.split())
            for line in body:
                if len(line) > 12 and " ".join(line.split()) in flat:
                    problems.append(f"the docstring of {name} contains the solution line {line!r}")
            for doc_line in doc.splitlines():
                found = code_like_assignment(doc_line)
                if found:
                    problems.append(f"the docstring of {name} spells out an assignment: {found!r}")
                expression = copyable_expression(doc_line)
                if expression and not found:
                    problems.append(f"the docstring of {name} spells out the computation: {expression!r} "
                                    f"in {doc_line.strip()!r}")
                if code_like_return(doc_line):
                    problems.append(f"the docstring of {name} spells out a return statement: {doc_line.strip()!r}")
    return problems


def test_docstring_rule_flags_code_and_accepts_a_contract():
    contract = '''
def sigmoid_grad(x, h=1e-5, kind="a"):
    """Derivative of the sigmoid at x, elementwise, same shape; finite for any float64 input.

    Returns a new array; warmup_steps = 0 starts at lr_max; x holds its values when it returns;
    matches `torch.optim.SGD(params, lr=lr, momentum=momentum)` step for step.
    """
    ### BEGIN SOLUTION
    s = 0.5 * (1.0 + np.tanh(0.5 * x))
    return s * (1.0 - s)
    ### END SOLUTION
'''
    assert docstring_problems(contract) == []
    leaky = contract.replace("finite for any float64 input.", "finite; computed as s * (1.0 - s).\n    return s * (1 - s)")
    found = docstring_problems(leaky)
    assert any("solution line 'return s * (1.0 - s)'" in p for p in found) or any("return statement" in p for p in found)
    assert any("return statement" in p for p in found)
    assigned = contract.replace("same shape;", "same shape; dlogits = (softmax(logits) - onehot) / N;")
    assert any("assignment" in p for p in docstring_problems(assigned))
    for formula in ("sigmoid(x) * (1 - sigmoid(x))", "exp(z - max) / sum(exp(z - max))", "1 / (1 + exp(-x))"):
        told = contract.replace("same shape;", f"same shape: {formula};")
        assert any("spells out the computation" in p for p in docstring_problems(told)), formula
    for fine in ("shape (N, C) float64", "log-softmax(z) of each row", "f is called exactly 2·x.size times"):
        assert docstring_problems(contract.replace("same shape;", f"{fine};")) == [], fine


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_docstrings_state_the_contract_not_the_answer(lesson):
    nb = solution(lesson)
    problems = []
    for i, cell in enumerate(nb.cells):
        if is_solution(cell):
            problems += [f"{where(lesson, nb, i)} ({nbgrader_meta(cell).get('grade_id')}): {p}"
                         for p in docstring_problems(cell.source)]
    report(problems)


# ---------------------------------------------------------------- one palette (nb_helpers.plots)

#: Named colours and colour maps a figure must not pick for itself (colour-blind-safe palette only):
#: the palette's hues come from `nb_helpers.plots` (PALETTE, C0–C7, style_of); neutral greys and
#: black are allowed. Rainbow-like maps (jet, rainbow, hsv) are not perceptually uniform, and the
#: red–blue/green ones (RdBu, coolwarm, RdYlGn) are unreadable with the commonest colour-vision
#: deficiencies: use SEQUENTIAL_CMAP / DIVERGING_CMAP.
FORBIDDEN_COLOURS = ("red", "green", "blue", "orange")
FORBIDDEN_CMAPS = ("jet", "rainbow", "RdBu", "coolwarm", "RdYlGn", "hsv")
COLOUR_KEYWORDS = {"color", "colors", "c", "cmap", "facecolor", "facecolors", "edgecolor", "edgecolors", "fc", "ec",
                   "mfc", "mec", "markerfacecolor", "markeredgecolor", "ecolor", "colormap"}
PLOT_CALLS = {"plot", "semilogx", "semilogy", "loglog", "errorbar", "step"}
FMT_COLOUR = re.compile(r"^(?:[-.:]{0,2}[.,ov^<>1234sp*hH+xXDd|_]?[rgbcmy][-.:]{0,2}[.,ov^<>1234sp*hH+xXDd|_]?[-.:]{0,2})$")
PALETTE_HEX = {h.lower() for h in PALETTE.values()}


def forbidden_colour(value: str) -> str | None:
    """Why the string `value`, used as a colour or colour map, is not allowed (None when it is)."""
    v = value.strip()
    low = v.lower()
    if low.startswith(("tab:", "xkcd:")):
        return f"{v!r} (a named colour outside the palette; use nb_helpers.plots.PALETTE or C0–C7)"
    if low in FORBIDDEN_COLOURS:
        return f"{v!r} (a named colour; use nb_helpers.plots.PALETTE or C0–C7)"
    if re.fullmatch(r"#[0-9a-fA-F]{6}(?:[0-9a-fA-F]{2})?", v) and low[:7] not in PALETTE_HEX:
        return f"{v!r} (a hex colour outside the palette)"
    base = v[:-2] if v.endswith("_r") else v
    if base in FORBIDDEN_CMAPS or base.lower() in {c.lower() for c in FORBIDDEN_CMAPS}:
        return f"{v!r} (a colour map that is not colour-blind safe; use SEQUENTIAL_CMAP or DIVERGING_CMAP)"
    return None


def _strings(node: ast.AST) -> list[str]:
    """String constants of an expression (a colour, or a tuple/list/dict/conditional of colours),
    except the keys of the palette itself (`PALETTE["blue"]`, `plots.PALETTE["orange"]`)."""
    if isinstance(node, ast.Subscript) and ast.unparse(node.value).split(".")[-1] == "PALETTE":
        return []
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else []
    return [s for child in ast.iter_child_nodes(node) for s in _strings(child)]


def colour_problems(source: str) -> list[str]:
    """Forbidden colours/colour maps in `source`: as colour keyword arguments, as a plot format
    string ("ro"), as the colours a loop draws from (`for p, color in ((0.0, "tab:red"), …)`), or as
    `cm.<map>` / `colormaps["<map>"]`."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in COLOUR_KEYWORDS:
                    found += [(node.lineno, f"{kw.arg}={why}") for s in _strings(kw.value) if (why := forbidden_colour(s))]
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in PLOT_CALLS:
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and FMT_COLOUR.match(arg.value):
                        found.append((node.lineno, f"format string {arg.value!r} picks a colour by letter; "
                                                   "use color= from the palette"))
            if name in {"get_cmap", "ListedColormap"} or (name == "get" and "colormaps" in ast.unparse(node.func)):
                found += [(node.lineno, why) for s in _strings(node) if (why := forbidden_colour(s))]
        elif isinstance(node, ast.For):
            target = ast.unparse(node.target)
            if re.search(r"\b(colou?rs?|cmap|c)\b", target):
                found += [(node.lineno, f"loop colour {why}") for s in _strings(node.iter) if (why := forbidden_colour(s))]
        elif isinstance(node, ast.Assign):
            targets = " ".join(ast.unparse(t) for t in node.targets)
            if re.search(r"(?i)colou?rs?\b|cmap\b", targets):
                found += [(node.lineno, f"{targets} = {why}") for s in _strings(node.value) if (why := forbidden_colour(s))]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name, ast.Attribute)):
            holder = ast.unparse(node.value)
            if holder.split(".")[-1] in {"cm", "colormaps"} and forbidden_colour(node.attr):
                found.append((node.lineno, f"{holder}.{node.attr}: {forbidden_colour(node.attr)}"))
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value).split(".")[-1] == "colormaps":
            found += [(node.lineno, why) for s in _strings(node.slice) if (why := forbidden_colour(s))]
    return [f"line {line}: {what}" for line, what in sorted(set(found))]


def cell_code(source: str) -> str:
    """A code cell as Python (IPython magics such as %pip transformed away)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def test_colour_rule_flags_named_colours_and_rainbow_maps_only():
    bad = '''
ax.plot(x, y, color="red"); ax.plot(x, y, "ro"); ax.contourf(a, b, c, cmap="RdBu_r")
ax.scatter(x, y, c="tab:blue"); plt.get_cmap("jet"); plt.cm.coolwarm
for p, color in ((0.0, "tab:red"), (0.5, "tab:blue")):
    pass
'''
    assert len(colour_problems(bad)) == 8, colour_problems(bad)
    good = '''
ax.plot(x, y, color="C3", label="red points"); ax.plot(x, y, "k*"); ax.plot(x, y, "o-")
ax.contour(a, b, c, colors="0.6", cmap=plots.SEQUENTIAL_CMAP); ax.axhline(0, color="black")
ax.imshow(z, cmap="viridis"); ax.plot(x, y, color=PALETTE["blue"]); ax.fill(x, y, color="#0072B2")
for p, color in ((0.0, plots.PALETTE["vermillion"]), (0.5, plots.PALETTE["blue"])):
    pass
'''
    assert colour_problems(good) == []


def _helper_modules() -> list[Path]:
    return sorted(p for p in (REPO / "nb_helpers").rglob("*.py") if p.name != "plots.py")   # plots.py defines the palette


@pytest.mark.parametrize("path", _helper_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_nb_helpers_figures_use_only_the_palette(path):
    problems = colour_problems(path.read_text())
    report([f"{path.relative_to(REPO)} {p}" for p in problems])


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_figures_use_only_the_palette(lesson):
    nb = solution(lesson)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            problems += [f"{where(lesson, nb, i)}: {p}" for p in colour_problems(cell_code(cell.source))]
    report(problems)
