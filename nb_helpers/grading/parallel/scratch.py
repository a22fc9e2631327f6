"""The workers' scratch gradebook: a copy of what `nbgrader generate_assignment` stored for one
assignment (its notebooks, grade/solution/task cells and locked source cells), nothing else."""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from ...compat import nbgrader_alembic_version

_unsynced: set[str] = set()


def without_fsync(path: str | os.PathLike) -> None:
    """Have SQLite, in this process, write the database at `path` without flushing it to disk at
    each commit (`PRAGMA synchronous=OFF`). Only for scratch copies, which are thrown away: nbgrader
    commits after nearly every row, a few dozen times per submission, and each flush costs about
    3 ms on a virtual disk. The real gradebook keeps SQLite's default."""
    _unsynced.add(os.path.realpath(path))
    _listen_to_new_connections()


@functools.cache
def _listen_to_new_connections() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "connect", _unsync_if_scratch)


def _unsync_if_scratch(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    for _, name, file in dbapi_connection.execute("PRAGMA database_list").fetchall():
        if name == "main" and file and os.path.realpath(file) in _unsynced:
            dbapi_connection.execute("PRAGMA synchronous=OFF")


class UnknownAssignment(LookupError):
    """The assignment is not in the gradebook (generate_assignment was not run)."""


def alembic_head() -> str:
    """The gradebook schema's revision, as `alembic heads` prints it, without starting a process."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return str(ScriptDirectory.from_config(config).get_current_head())


def in_process_alembic() -> contextlib.AbstractContextManager[None]:
    """A new gradebook asks `alembic` (a new process, seconds) for its schema revision: ask in-process."""
    return nbgrader_alembic_version(alembic_head)


def template_gradebook(db_url: str, course_id: str, assignment: str) -> bytes:
    """The bytes of a fresh sqlite gradebook holding `assignment`'s source cells, read from `db_url`."""
    from nbgrader.api import Gradebook, MissingEntry

    with tempfile.TemporaryDirectory(prefix="nbh-template-") as tmp:
        path = Path(tmp) / "gradebook.db"
        without_fsync(path)
        with in_process_alembic(), Gradebook(db_url, course_id) as src, \
                Gradebook(f"sqlite:///{path}", course_id) as dst:
            try:
                source = src.find_assignment(assignment)
            except MissingEntry:
                known = ", ".join(sorted(a.name for a in src.assignments)) or "none"
                raise UnknownAssignment(
                    f"assignment {assignment!r} is not in the gradebook ({known} known): "
                    f"run `nbgrader generate_assignment {assignment}` first") from None
            dst.update_or_create_assignment(source.name, duedate=source.duedate)
            # same insertion order as the real gradebook: nbgrader re-adds missing cells by position
            for nb in source.notebooks:
                dst.add_notebook(nb.name, source.name, kernelspec=nb.kernelspec)
                for c in nb.grade_cells:
                    dst.update_or_create_grade_cell(c.name, nb.name, source.name, max_score=c.max_score,
                                                    cell_type=c.cell_type)
                for c in nb.solution_cells:
                    dst.update_or_create_solution_cell(c.name, nb.name, source.name)
                for c in nb.task_cells:
                    dst.update_or_create_task_cell(c.name, nb.name, source.name, max_score=c.max_score,
                                                   cell_type=c.cell_type)
                for c in nb.source_cells:
                    dst.update_or_create_source_cell(c.name, nb.name, source.name, cell_type=c.cell_type,
                                                     locked=c.locked, source=c.source, checksum=c.checksum)
        return path.read_bytes()
