"""A tiny class for trying the grading pipeline (`make grade`): the course's configuration,
with this folder as the course root and the repository's solutions/ as the source."""

c = get_config()  # noqa: F821
load_subconfig("../../nbgrader_config.py")  # noqa: F821 - the course's preprocessors and limits

c.CourseDirectory.course_id = "sample-class"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "../../solutions"
c.CourseDirectory.release_directory = "release"
