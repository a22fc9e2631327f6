"""Autograde a whole class in parallel: `nb-helpers-grade <assignment>`.

One coordinator process owns the gradebook; long-lived worker processes (local cores, or the
workers of a Dask cluster) each autograde one submission at a time with nbgrader's own `Autograde`
converter and the course's configuration, in a private scratch course whose gradebook holds only
the assignment's source cells. A worker returns the autograded files as bytes; the coordinator
records the grades in the real gradebook with the configured `SaveAutoGrades` and
`AssignLatePenalties` preprocessors (the code serial `nbgrader autograde` runs) and then moves the
files into `autograded/<student>/<assignment>/` atomically.

Modules: `jobs` (what travels between processes), `scratch` (the scratch gradebook), `engines`
(one database engine per gradebook), `worker` (one submission, in a worker), `preload` (what the
local workers import before they start), `record` (the coordinator's writes), `cluster` (local or
Dask workers), `cli` (the command).

Importing the package is cheap (no nbgrader, no Dask): the command starts its local workers'
fork server, whose imports take seconds, before it imports anything heavy itself.
"""

from ...compat import skip_iri_format_checks

# The coordinator and each worker read notebooks: they skip jsonschema's slow `iri` format checks.
skip_iri_format_checks()
