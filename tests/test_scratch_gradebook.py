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


def test_gradebooks_share_one_engine_per_url_only_inside_the_block_and_keep_no_connection(tmp_path):
    import nbgrader.api
    import sqlalchemy

    from nb_helpers.grading.parallel.engines import shared_engines

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with in_process_alembic(), shared_engines():
        with Gradebook(url) as first:
            first.update_or_create_student("s1")
            engine = first.engine
        compiled = len(engine._compiled_cache)
        with Gradebook(url) as second:
            second.update_or_create_student("s1")  # the same queries: compiled already
            assert second.engine is engine
            assert engine.pool.checkedin() == 1  # its connection, pooled between queries
        assert len(engine._compiled_cache) == compiled > 0
        assert engine.pool.checkedin() == 0  # closing still closes its connections
    assert nbgrader.api.create_engine is sqlalchemy.create_engine
    with in_process_alembic(), Gradebook(url) as outside:
        assert outside.engine is not engine


def test_a_shared_engine_reads_a_gradebook_file_replaced_between_blocks(tmp_path):
    """A worker deletes its scratch course and writes a new gradebook at the same path before each
    submission: no connection to the old file may survive the block, even one that a Gradebook
    left open (here: not closed) handed back to the pool."""
    from nb_helpers.grading.parallel.engines import shared_engines

    path, other = tmp_path / "gradebook.db", tmp_path / "other.db"
    with in_process_alembic():
        for db, student in ((path, "alice"), (other, "bob")):
            with Gradebook(f"sqlite:///{db}") as gb:
                gb.update_or_create_student(student)
        with shared_engines():
            left_open = Gradebook(f"sqlite:///{path}")
            assert [s.id for s in left_open.students] == ["alice"]
            left_open.db.commit()  # its connection goes back to the pool, still open on the file
        path.unlink()
        path.write_bytes(other.read_bytes())  # a new file (inode) at the same path
        with shared_engines():
            with Gradebook(f"sqlite:///{path}") as gb:
                assert [s.id for s in gb.students] == ["bob"]
