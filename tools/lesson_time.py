"""A lesson's estimated time, measured from its text and its exercises rather than guessed.

    python -m tools.lesson_time [LESSON ...]

prints, for each lesson (every lesson of solutions/*/ when none is named),

    LESSON: about N minutes (W words, E exercises: a ★, b ★★, c ★★★)

The rule (CONTRIBUTING.md, "Estimated time"):

    N = ceil_to_5(W / 150 + 3·a + 8·b + 20·c)

W counts the words (whitespace-separated tokens) of the solution notebook's markdown cells outside
`<details>` blocks (the main path a student reads at about 150 words a minute; collapsible
material is optional); a, b and c count the exercise headings (`### Exercise …`) rated ★ (apply a
formula given above: 3 minutes), ★★ (translate an idea into code: 8) and ★★★ (derive or design:
20). The introduction states `**Estimated time:** about N minutes`; tests/test_lesson_anatomy.py
checks that it equals what this prints.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORDS_PER_MINUTE = 150
MINUTES_PER_STAR = {1: 3, 2: 8, 3: 20}
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


@dataclass(frozen=True)
class LessonTime:
    lesson: str
    words: int
    headings: tuple[Heading, ...]

    def count(self, stars: int) -> int:
        return sum(h.stars == stars for h in self.headings)

    @property
    def minutes(self) -> int:
        return estimate_minutes(self.words, self.count(1), self.count(2), self.count(3))

    def line(self) -> str:
        a, b, c = self.count(1), self.count(2), self.count(3)
        return (f"{self.lesson}: about {self.minutes} minutes ({self.words} words, {len(self.headings)} exercises: "
                f"{a} {STAR}, {b} {STAR * 2}, {c} {STAR * 3})")


def ceil_to_5(x: float) -> int:
    return 5 * math.ceil(round(x, 9) / 5)


def estimate_minutes(words: int, one_star: int, two_stars: int, three_stars: int) -> int:
    """ceil_to_5(words / 150 + 3·★ + 8·★★ + 20·★★★)."""
    return ceil_to_5(words / WORDS_PER_MINUTE + MINUTES_PER_STAR[1] * one_star
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


def exercise_headings(nb: Any) -> list[Heading]:
    """Every `### Exercise …` heading of the notebook's markdown cells, in order."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for m in EXERCISE_HEADING.finditer(cell.source):
            text = m.group(1).strip()
            found.append(Heading(index, cell.get("id"), text, stars_of(text)))
    return found


def notebook_path(lesson: str, root: Path = REPO) -> Path:
    return root / "solutions" / lesson / f"{lesson}.ipynb"


def lessons(root: Path = REPO) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())


def lesson_time(lesson: str, root: Path = REPO) -> LessonTime:
    import nbformat

    nb = nbformat.read(notebook_path(lesson, root), as_version=4)
    return LessonTime(lesson, markdown_words(nb), tuple(exercise_headings(nb)))


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
