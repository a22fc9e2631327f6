"""The package's layout: reference implementations apart from figure and widget code.

A reference module is one that holds the `reference` of a registered check. Importing it must not
import matplotlib or ipywidgets: figures, widgets and demos live in their own modules (`plots`,
`widgets`, `complexity`, `regularization_demos`, `ravine`, `optimizer_race`), so that the checks and
the grader load only what they compare with.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import nb_helpers.checks as checks

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
    probe = textwrap.dedent(f"""
        import importlib, sys
        importlib.import_module({module!r})
        loaded = sorted(name for name in ("matplotlib", "ipywidgets") if name in sys.modules)
        print(",".join(loaded))
    """)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={"OMP_NUM_THREADS": "1", "PATH": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "", f"importing {module} imports {proc.stdout.strip()}"
