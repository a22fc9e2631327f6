"""A lesson's estimated time, measured from its text and its exercises rather than guessed.

    python -m tools.lesson_time [LESSON ...]

prints, for each lesson (every lesson of solutions/*/ when none is named),

    LESSON: about N minutes (W words, D demo cells, E exercises: a ★, b ★★, c ★★★)

The rule (CONTRIBUTING.md, "Estimated time"):

    N = ceil_to_5(W / 150 + D + 3·a + 8·b + 20·c)

W counts the words (whitespace-separated tokens) of the solution notebook's markdown cells outside
`<details>` blocks (the main path a student reads at about 150 words a minute; collapsible
material is optional); D counts the code cells that are neither the setup, a solution nor a check
(a minute each to run a demo or experiment and read its output or figure); a, b and c count the
graded exercises (check cells) under headings (`### Exercise …`) rated ★ (apply a formula given
above: 3 minutes each), ★★ (translate an idea into code: 8) and ★★★ (derive or design: 20), so a
heading that covers two functions counts twice. The introduction states `**Estimated time:** about N minutes`; tests/test_lesson_anatomy.py
checks that it equals what this prints.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nb_helpers.conventions import SETUP_ID, checked_exercise, is_solution_cell, nbgrader_meta

REPO = Path(__file__).resolve().parents[1]
WORDS_PER_MINUTE = 150
MINUTES_PER_STAR = {1: 3, 2: 8, 3: 20}
MINUTES_PER_DEMO_CELL = 1
STAR = "★"

#: An exercise heading: a level-3 markdown heading that starts with "Exercise" (or "Exercises").
EXERCISE_HEADING = re.compile(r"^###[ \t]+(Exercises?\b.*?)[ \t]*$", re.MULTILINE)
#: Its difficulty: one to three stars at the end of the heading, after a space.
STARS_AT_END = re.compile(r"(?<=\s)(★{1,3})$")


@dataclass(frozen=True)
class Heading:
    """One exercise heading: the markdown cell it is in, its text without `###`, its star count (0: none)."""

    cell: int
    cell_id: str | None
    text: str
    stars: int
    graded: int = 1   # the check cells between this heading and the next one (at least 1)


@dataclass(frozen=True)
class LessonTime:
    lesson: str
    words: int
    headings: tuple[Heading, ...]
    demo_cells: int = 0

    def count(self, stars: int) -> int:
        """Graded exercises under headings rated `stars`."""
        return sum(h.graded for h in self.headings if h.stars == stars)

    @property
    def minutes(self) -> int:
        return estimate_minutes(self.words, self.count(1), self.count(2), self.count(3), self.demo_cells)

    def line(self) -> str:
        a, b, c = self.count(1), self.count(2), self.count(3)
        return (f"{self.lesson}: about {self.minutes} minutes ({self.words} words, {self.demo_cells} demo cells, "
                f"{a + b + c} exercises: {a} {STAR}, {b} {STAR * 2}, {c} {STAR * 3})")


def ceil_to_5(x: float) -> int:
    return 5 * math.ceil(round(x, 9) / 5)


def estimate_minutes(words: int, one_star: int, two_stars: int, three_stars: int, demo_cells: int = 0) -> int:
    """ceil_to_5(words / 150 + demo cells + 3·★ + 8·★★ + 20·★★★)."""
    return ceil_to_5(words / WORDS_PER_MINUTE + MINUTES_PER_DEMO_CELL * demo_cells + MINUTES_PER_STAR[1] * one_star
                     + MINUTES_PER_STAR[2] * two_stars + MINUTES_PER_STAR[3] * three_stars)


def strip_details(text: str) -> str:
    """The markdown without its `<details>…</details>` blocks (nested ones included)."""
    previous = None
    while previous != text:   # innermost first, so that a nested block never ends the outer one early
        previous, text = text, re.sub(r"<details\b(?:(?!<details\b).)*?</details\s*>", " ", text,
                                      flags=re.IGNORECASE | re.DOTALL)
    return text


def count_words(text: str) -> int:
    return len(text.split())


def markdown_words(nb: Any) -> int:
    """Words of the notebook's markdown cells outside `<details>` blocks."""
    return sum(count_words(strip_details(c.source)) for c in nb.cells if c.cell_type == "markdown")


def stars_of(heading: str) -> int:
    """How many stars end the heading text (0 when it carries none)."""
    m = STARS_AT_END.search(heading.strip())
    return len(m.group(1)) if m else 0


def is_check(cell: Any) -> bool:
    """A check cell (`nb_helpers.conventions.checked_exercise`)."""
    return checked_exercise(cell) is not None


def is_demo(cell: Any) -> bool:
    """A code cell that is neither the setup, a solution nor a graded cell."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and not is_solution_cell(cell) and not meta.get("grade") \
        and meta.get("grade_id") != SETUP_ID and bool(cell.source.strip())


def exercise_headings(nb: Any) -> list[Heading]:
    """Every `### Exercise …` heading of the notebook's markdown cells, in order, with the number of
    check cells that follow it before the next heading."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for m in EXERCISE_HEADING.finditer(cell.source):
            text = m.group(1).strip()
            found.append(Heading(index, cell.get("id"), text, stars_of(text)))
    ends = [h.cell for h in found[1:]] + [len(nb.cells)]
    return [replace(h, graded=max(1, sum(is_check(c) for c in nb.cells[h.cell:end]))) for h, end in zip(found, ends)]


def notebook_path(lesson: str, root: Path = REPO) -> Path:
    return root / "solutions" / lesson / f"{lesson}.ipynb"


def lessons(root: Path = REPO) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())


def lesson_time(lesson: str, root: Path = REPO) -> LessonTime:
    import nbformat

    nb = nbformat.read(notebook_path(lesson, root), as_version=4)
    return LessonTime(lesson, markdown_words(nb), tuple(exercise_headings(nb)), sum(map(is_demo, nb.cells)))


def main(argv: list[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv) or lessons()
    known = lessons()
    status = 0
    for name in names:
        name = name.strip("/").split("/")[-1]
        if name not in known:
            print(f"unknown lesson {name!r}; lessons: {', '.join(known)}", file=sys.stderr)
            status = 2
            continue
        result = lesson_time(name)
        print(result.line())
        unrated = [h.text for h in result.headings if not h.stars]
        if unrated:
            print(f"  {len(unrated)} exercise heading(s) without stars (not counted): {unrated}", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
