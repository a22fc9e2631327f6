"""What a verdict on one exercise found: `VerdictStatus`, the same word for the judge
(`nb_helpers.checks`), the grader (`nb_helpers.grading.verdict`), the diagnosis it records and the
instructor's report.

Importing this module is cheap (nothing but `typing`): the grading configuration and the report read
it without importing the checks, their lessons, NumPy or torch.
"""

from __future__ import annotations

from typing import Literal, get_args

#: passed; failed (a wrong value, shape, error...); not_implemented (left blank); timeout (the
#: exercise's verdict or a cell above it ran too long, or the notebook's time limit stopped the
#: kernel before its check); memory (ran out of memory); kernel_died (the kernel, or the process
#: computing the verdict, died); delegated (called a forbidden routine); missing (the name is not
#: defined); ungraded (no trusted check of that name). The judge (`Verdict.status`) gives passed,
#: failed, not_implemented, memory, delegated and missing; the grader adds the others, from what
#: happened around the judge.
VerdictStatus = Literal["passed", "failed", "not_implemented", "timeout", "memory", "kernel_died", "delegated",
                        "missing", "ungraded"]
VERDICT_STATUSES: tuple[VerdictStatus, ...] = get_args(VerdictStatus)

#: The statuses of a failure that is neither a wrong answer nor a blank: the report counts each.
PROBLEM_STATUSES: tuple[VerdictStatus, ...] = ("timeout", "memory", "kernel_died", "delegated", "missing", "ungraded")
