"""Autograde a whole class in parallel: `nb-helpers-grade <assignment>`.

One coordinator process owns the gradebook; long-lived worker processes (local cores, or the
workers of a Dask cluster) each autograde one submission at a time with nbgrader's own `Autograde`
converter and the course's configuration, in a private scratch course whose gradebook holds only
the assignment's source cells. A worker returns the autograded files as bytes; the coordinator
records the grades in the real gradebook with the configured `SaveAutoGrades` and
`AssignLatePenalties` preprocessors (the code serial `nbgrader autograde` runs) and then moves the
files into `autograded/<student>/<assignment>/` atomically.

Modules: `jobs` (what travels between processes), `scratch` (the scratch gradebook), `worker`
(one submission, in a worker), `record` (the coordinator's writes), `cluster` (local or Dask
workers), `cli` (the command).
"""
