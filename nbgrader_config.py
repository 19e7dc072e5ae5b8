"""nbgrader configuration of the course "Deep Learning in der Biomedizintechnik"."""

import os

from dlbmt.grading.nbgrader_plugins import (
    FEEDBACK_TEMPLATE_FILE,
    feedback_template_dirs,
    linked_files,
)

c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "dl-bmt"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
# Only notebooks live in source/<assignment>/; nothing else may be shipped to students.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".grading", "*.keras", "*.db",
]  # fmt: skip
# nbgrader copies a submission's other files and follows symbolic links while doing so
# (to the source notebook, the graders, /dev/zero ...): no link in a submission is copied.
c.CourseDirectory.ignore += linked_files(os.path.join(os.path.dirname(__file__), "submitted"))

# Execution timeouts. c.Execute.timeout wins over c.ExecutePreprocessor.timeout, so both
# are set to the same value; SandboxedExecute reads it as its per-cell limit.
c.Execute.timeout = 600
c.ExecutePreprocessor.timeout = 600
c.SandboxedExecute.wall_timeout = 1800

# German stubs for the released notebooks; each code stub names its task.
c.ClearSolutions.code_stub = {"python": "# IHR CODE HIER\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "IHRE ANTWORT HIER"
c.GenerateAssignment.preprocessors = [  # nbgrader 0.9's list, with the task named in stubs
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.InstantiateTests",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearSolutions",
    "dlbmt.grading.nbgrader_plugins.NameTheTaskInStubs",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Hidden test code only records answers in the sandbox; the graders in graders/ judge
# them in a separate process and their scores go into the gradebook.
c.Autograde.sanitize_preprocessors = [
    # A submitted notebook that is a link (to the source notebook, say) is refused.
    "dlbmt.grading.nbgrader_plugins.RefuseLinkedNotebook",
    "nbgrader.preprocessors.ClearOutput",
    # A pasted copy of a test cell must not fail the whole submission.
    "dlbmt.grading.nbgrader_plugins.DeduplicateGradeIds",
    # Cells a student adds with nbgrader metadata earn nothing and fail nothing.
    "dlbmt.grading.nbgrader_plugins.DropUnknownGradeCells",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "dlbmt.grading.nbgrader_plugins.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "dlbmt.grading.nbgrader_plugins.SaveGraderScores",
    # The rubric of each free-text answer beside it, for formgrader (never in feedback).
    "dlbmt.grading.rubrics.AddRubrics",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Stock feedback would show the hidden test code (nbgrader #1363): remove it first,
# also from outputs where a kernel printed it.
c.GenerateFeedback.preprocessors = [
    "dlbmt.grading.rubrics.RemoveRubrics",
    "dlbmt.grading.nbgrader_plugins.ScrubHiddenTestEchoes",
    "nbgrader.preprocessors.ClearHiddenTests",
    # Free text not graded yet is "noch nicht bewertet", not 0 points.
    "dlbmt.grading.nbgrader_plugins.GetGradesWithPending",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# The feedback page in German: the course's template file extends nbgrader's "feedback".
c.HTMLExporter.template_name = "feedback"
c.HTMLExporter.template_file = FEEDBACK_TEMPLATE_FILE
c.HTMLExporter.extra_template_basedirs = feedback_template_dirs()
