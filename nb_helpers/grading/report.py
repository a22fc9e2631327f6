"""`nb-helpers-grade report LESSON`: what the class got wrong, from the diagnosis recorded at autograde.

Writes, into `reports/<LESSON>/` of the course (or `--out`), one self-contained HTML page (figures
embedded as PNG data URIs, no script, no external file: it works offline and prints legibly) and CSV
files of the same tables:

* `exercises.csv`: per exercise the number of students, how many passed, the pass rate, how many
  left it unfinished, timed out, ran out of memory, had their kernel die or delegated, and the item
  analysis: difficulty (proportion correct: the mean fraction of the exercise's points) and
  discrimination (the point-biserial correlation between the exercise's score and the rest of the
  student's score; flagged when below `--low`, 0.2 by default, or undefined when nobody or everybody
  passed);
* `mistakes.csv`: per exercise the declared wrong answers students made, most frequent first, with
  their counts and hints;
* `unexplained.csv`: failures no declared wrong answer explains, grouped by what was wrong (the
  problem as the student read it): candidates for new declared wrong answers;
* `students.csv`: each student's total and status per exercise (the score distribution).
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import math
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..verdict_status import PROBLEM_STATUSES
from .diagnosis import Row, load

LOW_DISCRIMINATION = 0.2  # exam boards' usual threshold: below it an item hardly separates strong from weak


@dataclass
class Exercise:
    """The class's results on one exercise."""

    id: str
    position: int
    max_score: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    mistakes: Counter = field(default_factory=Counter)               # declared wrong answer id -> students
    hints: dict[str, str] = field(default_factory=dict)              # declared wrong answer id -> hint
    unexplained: dict[str, list[str]] = field(default_factory=dict)  # problem -> students
    unexplained_hint: dict[str, str] = field(default_factory=dict)
    difficulty: float | None = None
    discrimination: float | None = None

    @property
    def n(self) -> int:
        return sum(self.statuses.values())

    @property
    def passed(self) -> int:
        return self.statuses["passed"]

    @property
    def pass_rate(self) -> float:
        return self.passed / self.n if self.n else 0.0

    @property
    def unfinished(self) -> int:
        return self.statuses["not_implemented"]

    def flag(self, low: float = LOW_DISCRIMINATION) -> str:
        if self.discrimination is None:
            return "undefined (everyone scored the same)"
        if self.discrimination < 0:
            return "negative discrimination: review the exercise"
        if self.discrimination < low:
            return "low discrimination"
        return ""


@dataclass
class Analysis:
    assignment: str
    exercises: list[Exercise]
    totals: dict[str, float]          # student -> total score
    max_total: float
    statuses: dict[str, dict[str, str]]  # student -> exercise -> status

    @property
    def students(self) -> list[str]:
        return sorted(self.totals)


def _pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def analyse(rows: Iterable[Row], assignment: str = "") -> Analysis:
    """The report's numbers from the diagnosis rows of one assignment."""
    rows = list(rows)
    by_exercise: dict[tuple[str, str], Exercise] = {}
    scores: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    statuses: dict[str, dict[str, str]] = defaultdict(dict)
    for r in rows:
        key = (r.notebook, r.exercise)
        ex = by_exercise.setdefault(key, Exercise(r.exercise, r.position))
        ex.max_score = max(ex.max_score, float(r.max_score or 0))
        ex.statuses[r.status] += 1
        if r.status == "failed" and r.mistake:
            ex.mistakes[r.mistake] += 1
            ex.hints.setdefault(r.mistake, r.hint)
        elif r.status == "failed":
            problem = r.problem or (r.message.splitlines()[0] if r.message else "no message")
            ex.unexplained.setdefault(problem, []).append(r.student)
            ex.unexplained_hint.setdefault(problem, r.hint)
        scores[r.student][key] = float(r.score or 0)
        statuses[r.student][r.exercise] = r.status
    keys = sorted(by_exercise, key=lambda k: (k[0], by_exercise[k].position))
    students = sorted(scores)
    totals = {s: sum(scores[s].values()) for s in students}
    for key in keys:
        ex = by_exercise[key]
        have = [s for s in students if key in scores[s]]
        item = [scores[s][key] / ex.max_score if ex.max_score else 0.0 for s in have]
        rest = [totals[s] - scores[s][key] for s in have]
        ex.difficulty = sum(item) / len(item) if item else None
        ex.discrimination = _pearson(item, rest)
    return Analysis(assignment=assignment, exercises=[by_exercise[k] for k in keys], totals=totals,
                    max_total=sum(by_exercise[k].max_score for k in keys), statuses=dict(statuses))


# ------------------------------------------------------------------ CSV

def _fmt(x: float | None, digits: int = 3) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def write_csv(analysis: Analysis, out: Path, low: float = LOW_DISCRIMINATION) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    def table(name: str, header: list[str], rows: Iterable[list[Any]]) -> None:
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
        paths.append(path)

    table("exercises.csv", ["exercise", "students", "passed", "pass_rate", "failed", "not_implemented",
                            *PROBLEM_STATUSES, "difficulty", "discrimination", "flag"],
          ([e.id, e.n, e.passed, _fmt(e.pass_rate), e.statuses["failed"], e.unfinished,
            *(e.statuses[p] for p in PROBLEM_STATUSES), _fmt(e.difficulty), _fmt(e.discrimination), e.flag(low)]
           for e in analysis.exercises))
    table("mistakes.csv", ["exercise", "mistake", "count", "hint"],
          ([e.id, m, c, e.hints[m]] for e in analysis.exercises for m, c in _ranked(e.mistakes)))
    table("unexplained.csv", ["exercise", "problem", "count", "students", "hint"],
          ([e.id, p, len(s), " ".join(sorted(s)), e.unexplained_hint.get(p, "")]
           for e in analysis.exercises for p, s in _ranked_groups(e.unexplained)))
    table("students.csv", ["student", "score", "max_score", *(e.id for e in analysis.exercises)],
          ([s, f"{analysis.totals[s]:g}", f"{analysis.max_total:g}",
            *(analysis.statuses[s].get(e.id, "") for e in analysis.exercises)] for s in analysis.students))
    return paths


def _ranked(counter: Counter) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))


def _ranked_groups(groups: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


# ------------------------------------------------------------------ figures

def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figures(analysis: Analysis) -> dict[str, str]:
    """Data URIs of the report's figures: pass rates, score distribution, difficulty vs discrimination."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    blue, orange, grey = "#0072B2", "#E69F00", "#999999"
    names = [e.id for e in analysis.exercises]
    out = {}
    height = 0.9 + 0.32 * max(len(names), 1)
    fig, ax = plt.subplots(figsize=(6.4, height))
    ys = list(range(len(names)))[::-1]
    ax.barh(ys, [e.pass_rate for e in analysis.exercises], color=blue, label="passed")
    ax.barh(ys, [e.unfinished / e.n if e.n else 0 for e in analysis.exercises],
            left=[e.pass_rate for e in analysis.exercises], color=grey, hatch="//", label="not attempted")
    ax.set_yticks(ys, names)
    ax.set_xlim(0, 1)
    ax.set_xlabel("fraction of students")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Pass rate per exercise")
    out["pass_rates"] = _png(fig)

    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    totals = list(analysis.totals.values())
    top = max(analysis.max_total, max(totals, default=0))
    bins = [x - 0.5 for x in range(int(math.ceil(top)) + 2)]
    ax.hist(totals, bins=bins, color=blue, edgecolor="white")
    ax.set_xlabel(f"score (of {analysis.max_total:g})")
    ax.set_ylabel("students")
    ax.set_title(f"Score distribution ({len(totals)} students)")
    out["scores"] = _png(fig)

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for e in analysis.exercises:
        if e.difficulty is None:
            continue
        d = e.discrimination
        ax.scatter([e.difficulty], [0 if d is None else d], color=orange if d is None or d < LOW_DISCRIMINATION else blue,
                   marker="x" if d is None else "o")
        ax.annotate(e.id, (e.difficulty, 0 if d is None else d), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.axhline(LOW_DISCRIMINATION, color=grey, linestyle="--", linewidth=1)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("difficulty (proportion correct)")
    ax.set_ylabel("discrimination (point-biserial)")
    ax.set_title("Item analysis (dashed: flag threshold; x: undefined)")
    out["items"] = _png(fig)
    return out


# ------------------------------------------------------------------ HTML

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; max-width: 60rem;
       margin: 1.5rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05rem; margin-bottom: .3rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #bbb; padding: .2rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.flag { color: #8a3b00; font-weight: 600; } code { font-size: .85rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; } figcaption { font-size: .85rem; color: #333; }
section.exercise { page-break-inside: avoid; break-inside: avoid; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  th { background: none; font-weight: 700; }
  h2 { page-break-after: avoid; break-after: avoid; }
  table, figure { page-break-inside: avoid; break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _table(header: list[str], rows: Iterable[list[str]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(analysis: Analysis, top: int = 5, low: float = LOW_DISCRIMINATION) -> str:
    figs = figures(analysis)
    n = len(analysis.totals)
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             f"<title>What the class got wrong: {_e(analysis.assignment)}</title><style>{CSS}</style></head><body>",
             f"<h1>What the class got wrong: {_e(analysis.assignment)}</h1>",
             f"<p>{n} students, {len(analysis.exercises)} exercises, {analysis.max_total:g} points. "
             "Counts come from the verdicts recorded at autograde; a failure is attributed to the declared wrong answer "
             "its first failing case reproduces, or listed as unexplained.</p>"]
    parts.append("<h2>Overview</h2>")
    parts.append(_table(
        ["exercise", "passed", "pass rate", "not attempted", "other failures", "difficulty", "discrimination", "flag"],
        ([f"<a href=\"#ex-{_e(e.id)}\"><code>{_e(e.id)}</code></a>", f"{e.passed} / {e.n}", f"{e.pass_rate:.0%}",
          str(e.unfinished), _e(", ".join(f"{p.replace('_', ' ')} {e.statuses[p]}" for p in PROBLEM_STATUSES if e.statuses[p])),
          _fmt(e.difficulty, 2), _fmt(e.discrimination, 2), f'<span class="flag">{_e(e.flag(low))}</span>']
         for e in analysis.exercises), numeric=(1, 2, 3, 5, 6)))
    parts.append(f"<figure><img src=\"{figs['pass_rates']}\" alt=\"Bar chart of the fraction of students who passed "
                 "each exercise, and of those who did not attempt it\"><figcaption>Pass rate per exercise; hatched: "
                 "left unfinished (not implemented).</figcaption></figure>")
    parts.append("<h2>Score distribution</h2>")
    totals = sorted(analysis.totals.values())
    if totals:
        mean = sum(totals) / len(totals)
        median = (totals[(len(totals) - 1) // 2] + totals[len(totals) // 2]) / 2
        parts.append(f"<p>Mean {mean:.2f}, median {median:g}, lowest {totals[0]:g}, highest {totals[-1]:g} "
                     f"(of {analysis.max_total:g}).</p>")
    parts.append(f"<figure><img src=\"{figs['scores']}\" alt=\"Histogram of the students' total scores\">"
                 "<figcaption>Number of students per total score.</figcaption></figure>")
    parts.append("<h2>Item analysis</h2><p>Difficulty is the proportion correct (the mean fraction of the exercise's "
                 "points). Discrimination is the point-biserial correlation between the exercise's score and the rest "
                 f"of the score; below {low:g} the exercise hardly separates stronger from weaker students and is "
                 "flagged; it is undefined when everyone scored the same on it.</p>")
    parts.append(f"<figure><img src=\"{figs['items']}\" alt=\"Scatter plot of discrimination against difficulty, "
                 "one point per exercise\"><figcaption>Each exercise's difficulty and discrimination.</figcaption>"
                 "</figure>")
    unfinished = [e for e in analysis.exercises if e.unfinished]
    parts.append("<h2>Left unfinished</h2>")
    if unfinished:
        parts.append(_table(["exercise", "students who did not attempt it"],
                            ([f"<code>{_e(e.id)}</code>", f"{e.unfinished} of {e.n}"]
                             for e in sorted(unfinished, key=lambda e: (-e.unfinished, e.position))), numeric=(1,)))
    else:
        parts.append("<p>Every student attempted every exercise.</p>")
    parts.append("<h2>Per exercise</h2>")
    for e in analysis.exercises:
        parts.append(f"<section class=\"exercise\" id=\"ex-{_e(e.id)}\"><h3><code>{_e(e.id)}</code>: "
                     f"{e.passed} of {e.n} passed ({e.pass_rate:.0%})</h3>")
        if e.mistakes:
            ranked = _ranked(e.mistakes)
            parts.append("<p>Most frequent mistakes (declared wrong answers):</p>")
            parts.append(_table(["students", "mistake", "hint shown"],
                                ([str(c), f"<code>{_e(m)}</code>", _e(e.hints[m])] for m, c in ranked[:top]), numeric=(0,)))
            if len(ranked) > top:
                parts.append(f"<p>{len(ranked) - top} more in mistakes.csv.</p>")
        if e.unexplained:
            parts.append("<p>Unexplained failures, by what was wrong (candidates for new declared wrong answers):</p>")
            parts.append(_table(["students", "what was wrong", "who"],
                                ([str(len(s)), _e(p), _e(", ".join(sorted(s)))] for p, s in _ranked_groups(e.unexplained)),
                                numeric=(0,)))
        if not e.mistakes and not e.unexplained:
            parts.append("<p>No wrong answers.</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(analysis: Analysis, out: Path, top: int = 5, low: float = LOW_DISCRIMINATION) -> list[Path]:
    """Write report.html and the CSV files into `out`; their paths."""
    paths = write_csv(analysis, out, low)
    page = out / "report.html"
    page.write_text(render_html(analysis, top, low), encoding="utf-8")
    return [page, *paths]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nb-helpers-grade report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="assignment id, as for `nbgrader autograde`")
    parser.add_argument("--course-dir", type=Path, default=Path.cwd(),
                        help="course root holding nbgrader_config.py (default: current directory)")
    parser.add_argument("--db-url", help="gradebook URL (default: the course's CourseDirectory.db_url)")
    parser.add_argument("--out", type=Path, help="folder for report.html and the CSV files "
                                                 "(default: reports/<assignment>/ in the course)")
    parser.add_argument("--top", type=int, default=5, help="mistakes listed per exercise on the page (default 5)")
    parser.add_argument("--low", type=float, default=LOW_DISCRIMINATION,
                        help=f"flag discrimination below this (default {LOW_DISCRIMINATION})")
    args = parser.parse_args(argv)
    if not args.course_dir.is_dir():
        parser.error(f"no course directory {args.course_dir}")
    db_url = args.db_url
    if not db_url:
        from .course import load_course

        db_url = load_course(args.course_dir.resolve(), None, None).coursedir.db_url
    try:
        rows = load(db_url, args.assignment)
    except Exception as exc:  # noqa: BLE001 - an unreachable gradebook: one line
        print(f"nb-helpers-grade report: cannot read {db_url}: {type(exc).__name__}: {str(exc).splitlines()[0]}",
              file=sys.stderr)
        return 2
    if not rows:
        print(f"nb-helpers-grade report: no diagnosis recorded for {args.assignment!r} in {db_url} (autograde it "
              "with RecordDiagnosis in Autograde.autograde_preprocessors, as the course's nbgrader_config.py does)",
              file=sys.stderr)
        return 2
    out = args.out or args.course_dir / "reports" / args.assignment
    analysis = analyse(rows, args.assignment)
    for path in write_report(analysis, out, args.top, args.low):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
