"""The workers' scratch gradebooks are throwaway copies: SQLite need not flush them to disk at each
of nbgrader's commits. The real gradebook keeps SQLite's durable default."""

from __future__ import annotations

from nbgrader.api import Gradebook
from sqlalchemy import text

from nb_helpers.grading.parallel.scratch import in_process_alembic, without_fsync


def synchronous(path) -> int:
    with in_process_alembic(), Gradebook(f"sqlite:///{path}") as gb:
        gb.update_or_create_student("s1")  # a commit, through nbgrader's own session
        return gb.db.execute(text("PRAGMA synchronous")).scalar()


def test_only_a_scratch_gradebook_is_written_without_flushing_each_commit(tmp_path):
    scratch, real = tmp_path / "scratch" / "gradebook.db", tmp_path / "gradebook.db"
    scratch.parent.mkdir()
    without_fsync(scratch)
    assert synchronous(scratch) == 0  # OFF
    assert synchronous(real) == 2     # FULL, SQLite's default
    assert synchronous(scratch) == 0  # every new connection to it
