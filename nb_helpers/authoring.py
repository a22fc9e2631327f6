"""Maintainer tooling for the lesson notebooks.

`python -m nb_helpers.authoring sync` rewrites the generated parts of every solutions/*/*.ipynb
(setup cell, Colab badge, release metadata) from `nb_helpers.conventions` and `nb_helpers.release`;
a test fails when a notebook is out of sync. `python -m nb_helpers.authoring execute [NOTEBOOK ...]` re-executes solution
notebooks in place, refreshing nbval's reference outputs (use `make execute`, which pins threads)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from . import __version__
from .conventions import CHECK_TAG, SETUP_ID, checked_exercise, nbgrader_meta, setup_cell_source
from .release import colab_url

BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def badge_markdown(lesson_id: str) -> str:
    url = colab_url(f"notebooks/{lesson_id}/{lesson_id}.ipynb")
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def sync_notebook(path: Path) -> bool:
    """Rewrite the generated parts of one solution notebook; True when something changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    lesson_id = path.parent.name
    before = nbformat.writes(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("grade_id") == SETUP_ID:
            cell.source = setup_cell_source()
        elif checked_exercise(cell) is not None:
            # JupyterLab's Run All goes on past a check that fails (e.g. "not implemented yet")
            tags = cell.metadata.setdefault("tags", [])
            if CHECK_TAG not in tags:
                tags.append(CHECK_TAG)
        elif cell.cell_type == "markdown" and BADGE_RE.search(cell.source):
            cell.source = BADGE_RE.sub(badge_markdown(lesson_id), cell.source)
    nb.metadata["nb_helpers"] = {"version": __version__, "lesson": lesson_id}
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after + ("" if after.endswith("\n") else "\n"))
        return True
    return False


def execute_notebook(path: Path, timeout: int = 600) -> None:
    """Execute a solution notebook in place (its outputs are nbval's reference outputs)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nb.metadata.pop("widgets", None)
    text = nbformat.writes(nb)
    path.write_text(text + ("" if text.endswith("\n") else "\n"))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else "sync"
    if command == "sync":
        root = Path(args[0] if args else ".")
        for p in sorted(root.glob("solutions/*/*.ipynb")):
            if sync_notebook(p):
                print(f"updated {p}")
        return 0
    if command == "execute":
        paths = [Path(a) for a in args] or sorted(Path(".").glob("solutions/*/*.ipynb"))
        for p in paths:
            print(f"executing {p}", flush=True)
            execute_notebook(p)
        return 0
    print(f"unknown command {command!r}; use `sync` or `execute [NOTEBOOK ...]`", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
