"""The package's layout: reference implementations apart from figure and widget code.

A reference module is one that holds the `reference` of a registered check. Importing it must not
import matplotlib or ipywidgets: figures, widgets and demos live in their own modules (`plots`,
`widgets`, `complexity`, `regularization_demos`, `ravine`, `optimizer_race`), so that the checks and
the grader load only what they compare with.
"""

from __future__ import annotations

import pytest

import nb_helpers.checks as checks
from tests.support.probes import modules_loaded_by

#: Modules of figures, widgets and the lessons' demos (never a reference module).
FIGURE_MODULES = {"nb_helpers.plots", "nb_helpers.widgets", "nb_helpers.complexity", "nb_helpers.regularization_demos",
                  "nb_helpers.ravine", "nb_helpers.optimizer_race"}


def reference_modules() -> list[str]:
    return sorted({check.reference.__module__ for check in checks.REGISTRY.values()})


def test_every_check_has_a_reference_in_a_reference_module():
    modules = reference_modules()
    assert modules and all(m.startswith("nb_helpers.") for m in modules)
    assert not set(modules) & FIGURE_MODULES


@pytest.mark.parametrize("module", reference_modules())
def test_reference_module_imports_neither_matplotlib_nor_ipywidgets(module):
    loaded = modules_loaded_by(f"import {module}")
    assert not {"matplotlib", "ipywidgets"} & loaded, f"importing {module} imports matplotlib or ipywidgets"