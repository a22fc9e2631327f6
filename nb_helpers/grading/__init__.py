"""Grading outside the student's kernel.

At autograde, `VerdictPreprocessor` (registered in `nbgrader_config.py`) recomputes every check
cell's verdict: a fork server (`forkserver.py`, imports once) forks one child per exercise that runs
the lesson's setup cell and the student's solution cells and sends back only plain data; the judge
compares it with the reference in the trusted grading process and writes the check cell's output.
"""
