"""Packaging and environment files agree with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_environment_yml_installs_the_package_with_the_lab_extra_and_the_pins():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    deps = env["dependencies"]
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-e .[lab]" in pip_section
    assert "-c requirements/constraints.txt" in pip_section
    assert "pip" in deps


def test_environment_python_is_supported_by_the_package_and_the_instructor_tools():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    version = tuple(int(p) for p in python.split("=")[1].split("."))
    minimum = tuple(int(p) for p in re.findall(r"\d+", pyproject()["project"]["requires-python"]))
    assert version >= minimum and version >= (3, 11)  # nbgrader needs 3.11+


def test_package_requirements_are_lower_bounds_only_and_never_pin_torch():
    project = pyproject()["project"]
    for requirement in project["dependencies"]:
        assert "==" not in requirement, requirement
        assert ">=" in requirement, requirement
    assert any(r.startswith("ipywidgets>=7.6,<9") for r in project["dependencies"])


def test_constraints_pin_every_package_and_torch_to_the_cpu_release():
    lines = [l for l in (REPO / "requirements/constraints.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert all("==" in l for l in lines)
    assert "torch==2.13.0" in lines


def test_every_pyproject_dependency_is_pinned_in_the_constraints():
    pinned = {re.split("==", l)[0].lower().replace("_", "-") for l in (REPO / "requirements/constraints.txt").read_text().splitlines() if "==" in l}
    project = pyproject()["project"]
    names = [re.split(r"[<>=!\[ ]", r)[0].lower() for r in project["dependencies"] + project["optional-dependencies"]["lab"]]
    assert set(names) - pinned == set()


def test_distribution_name_is_not_the_taken_nb_helpers():
    assert pyproject()["project"]["name"] not in ("nb-helpers", "nb_helpers")
