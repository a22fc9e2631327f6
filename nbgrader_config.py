"""nbgrader configuration of the course: run nbgrader commands from the repository root.

  nbgrader generate_assignment 01_activation_functions   solutions/ -> notebooks/
  nbgrader autograde 01_activation_functions             verdicts recomputed outside the kernel
  nbgrader generate_feedback 01_activation_functions
  nbgrader export --to grades.csv
"""

from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades,
)
from nbconvert.preprocessors import ClearMetadataPreprocessor

from nb_helpers.grading.execute import ResilientExecute
from nb_helpers.grading.verdict import VerdictPreprocessor

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "nn-training-course"
c.CourseDirectory.root = "."  # the repository itself (relative: the course moves with its clone)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Students may delete a check cell; put it back and grade it rather than leave it ungraded.
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = 120  # seconds per cell in the student's kernel (feedback only; verdicts have their own limit)
c.ResilientExecute.timeout = 120

# The grade of every check cell comes from VerdictPreprocessor, which recomputes it outside the
# student's kernel and replaces the cell's outputs before SaveAutoGrades reads them.
# ResilientExecute: a dead or hung kernel no longer makes nbgrader drop the whole submission.
c.Autograde.autograde_preprocessors = [
    ResilientExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    VerdictPreprocessor,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.VerdictPreprocessor.check_timeout = 30.0
c.VerdictPreprocessor.memory_limit_mb = 2048
c.VerdictPreprocessor.sandbox = True  # bubblewrap: no network, course files hidden (warns loudly if missing)
# Secret of this offering for the hidden cases: set NB_HELPERS_GRADING_SEED in the environment
# (or c.VerdictPreprocessor.instructor_seed here, outside version control).
