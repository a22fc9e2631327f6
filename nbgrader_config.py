"""nbgrader configuration of the course: run nbgrader commands from the repository root.

  nbgrader generate_assignment 01_activation_functions   solutions/ -> notebooks/
  nbgrader autograde 01_activation_functions             verdicts recomputed outside the kernel
  nbgrader generate_feedback 01_activation_functions
  nbgrader export --to grades.csv
"""

from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, GetGrades, IgnorePattern, LimitOutput, SaveAutoGrades,
)
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor

from nb_helpers.grading.diagnosis import RecordDiagnosis
from nb_helpers.grading.execute import SandboxedExecute
from nb_helpers.grading.feedback import ProgressTable
from nb_helpers.grading.intake import check_submission
from nb_helpers.grading.schema import check_schemas_once
from nb_helpers.grading.verdict import StartVerdicts, VerdictPreprocessor

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "nn-training-course"
c.CourseDirectory.root = "."  # the repository itself (relative: the course moves with its clone)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Validate each notebook against the schema once, after all the preprocessors, rather than after
# each of them (a dozen validations per notebook, about 0.1-0.2 s); a notebook that ends up invalid
# still fails as before.
c.Exporter.optimistic_validation = True
# nbgrader checks each cell's nbgrader metadata with jsonschema.validate, which checks the schema
# itself again on every call (nine tenths of the time): check it once per process instead.
check_schemas_once()
# Students may delete a check cell; put it back and grade it rather than leave it ungraded.
c.OverwriteCells.add_missing_cells = True
# A renamed, missing or unreadable notebook: say so, per student, in words (everyone else is graded).
c.BaseConverter.pre_convert_hook = check_submission
# Limits on the student's code; change them here (or in a course's own nbgrader_config.py).
# The sandbox's settings hold for the kernel (SandboxedExecute) and the verdicts (VerdictPreprocessor)
# alike; c.SandboxedExecute.<setting> or c.VerdictPreprocessor.<setting> changes one of them only.
c.SandboxSettings.sandbox = True               # bubblewrap: no network, course files hidden (warns loudly if missing)
c.SandboxSettings.memory_limit_mb = 2048       # memory the student's code may use on top of the libraries
c.SandboxSettings.hidden_paths = []            # more directories students' code must not see
c.SandboxedExecute.timeout = 120               # seconds a cell may run in the student's kernel (feedback run)
c.SandboxedExecute.notebook_timeout = 600      # seconds the whole notebook may run; later exercises are not graded
c.SandboxedExecute.max_cell_output_bytes = 2_000_000  # output kept per cell; the rest is dropped as it arrives
c.VerdictPreprocessor.check_timeout = 30.0     # seconds one exercise's verdict may take
c.VerdictPreprocessor.time_limits = {}         # seconds per exercise, overriding a check's own limit (train_digits: 60 s)
c.VerdictPreprocessor.cell_timeout = 10.0      # seconds each solution cell above a check may run in the verdict
c.VerdictPreprocessor.credit = "all"           # all or nothing per exercise; "fraction": the fraction of cases passed

# The grade of every check cell comes from VerdictPreprocessor, which recomputes it outside the
# student's kernel and replaces the cell's outputs before SaveAutoGrades reads them; StartVerdicts
# has those verdicts computed while the kernel runs (they depend only on the cells' sources).
# SandboxedExecute runs the kernel (for the student's feedback) in the sandbox; a dead, hung or
# overlong kernel no longer makes nbgrader drop the whole submission: it costs the exercises it prevented.
# RecordDiagnosis stores what each verdict found (status, the declared mistake matched, the hint) in
# the gradebook's database, table nb_helpers_diagnosis, for `nb-helpers-grade report LESSON`.
c.Autograde.autograde_preprocessors = [
    StartVerdicts,
    SandboxedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    VerdictPreprocessor,
    SaveAutoGrades,
    RecordDiagnosis,
    AssignLatePenalties,
    CheckCellMetadata,
]
# The feedback starts with the student's progress table (the one `nb_helpers.progress()` shows in the
# lesson), built from the graded check cells; nbgrader's own two preprocessors run first.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ProgressTable]
# Secret of this offering for the hidden cases: set NB_HELPERS_GRADING_SEED in the environment
# (or c.VerdictPreprocessor.instructor_seed here, outside version control).
