"""The grading benchmark's bookkeeping: which submissions count as each worker's warm-up, and the
medians of repeated runs."""

from tools.bench import first_and_later


def graded(student: str, worker: str, started: float) -> dict:
    return {"student": student, "worker": worker, "started": started, "seconds": 10.0}


def test_each_workers_first_submission_is_its_warm_up():
    report = [graded("s2", "a", 30.0), graded("s0", "a", 5.0), graded("s1", "b", 5.2), graded("s3", "b", 31.0),
              graded("s4", "a", 50.0)]
    first, later = first_and_later(report)
    assert sorted(g["student"] for g in first) == ["s0", "s1"]
    assert sorted(g["student"] for g in later) == ["s2", "s3", "s4"]


def test_with_one_submission_per_worker_every_submission_also_counts_as_a_later_one():
    report = [graded("s0", "a", 5.0), graded("s1", "b", 5.1)]
    first, later = first_and_later(report)
    assert len(first) == 2 and later == report


def test_repeated_runs_report_each_figures_median_and_keep_every_run():
    from tools.bench import median_of_runs

    runs = [{"ratio": 1.5, "overhead_s_per_submission": 2.0}, {"ratio": 1.9, "overhead_s_per_submission": 0.4},
            {"ratio": 1.8, "overhead_s_per_submission": 0.9}]
    merged = median_of_runs(runs)
    assert (merged["ratio"], merged["overhead_s_per_submission"]) == (1.8, 0.9)
    assert merged["runs"] == runs
