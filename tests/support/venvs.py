"""Cached virtual environments for the compatibility tests, kept in .cache/ (git-ignored).

A venv's folder name ends with a hash of its interpreter and package list, so changing either
builds a new one; a lock file serialises builders, and `.ready` marks a finished build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
#: The files a pip install of the package needs (what a clone of the repository provides to pip).
PACKAGE_FILES = ("pyproject.toml", "README.md", "LICENSE", "nb_helpers")


def python_in(venv: Path) -> Path:
    """The interpreter of a venv."""
    return venv / "bin" / "python"


def site_packages(venv: Path) -> Path:
    """The site-packages folder of a venv."""
    out = subprocess.run([str(python_in(venv)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def pip(venv: Path, *args: str, timeout: float = 1200) -> str:
    """Run pip in a venv; return its stdout, raise with its output on failure."""
    proc = subprocess.run([str(python_in(venv)), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=timeout, env=clean_env())
    if proc.returncode != 0:
        raise AssertionError(f"pip {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def freeze(venv: Path) -> list[str]:
    """`pip freeze` of a venv, one requirement a line."""
    return pip(venv, "freeze").splitlines()


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would leak the test venv into another one."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(extra)
    return env


def cached_venv(name: str, python: str, requirements: list[str],
                finish: Callable[[Path], None] | None = None, recipe: str = "1") -> Path:
    """A venv under .cache/ built once with `python` and `requirements` (then `finish(venv)`).

    `recipe` goes into the hash: change it when `finish` changes what it installs.
    """
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    key = hashlib.sha256(json.dumps([version, sorted(requirements), recipe]).encode()).hexdigest()[:12]
    venv = CACHE / f"{name}-{key}"
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / f"{name}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / ".ready").exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True, env=clean_env())
        pip(venv, "install", "--quiet", "--upgrade", "pip")
        pip(venv, "install", "--quiet", *requirements)
        if finish is not None:
            finish(venv)
        (venv / ".ready").write_text("\n".join(requirements) + "\n")
    for stale in CACHE.glob(f"{name}-*"):           # builds for an older package list
        if stale.is_dir() and stale != venv:
            shutil.rmtree(stale, ignore_errors=True)
            stale.with_suffix(".lock").unlink(missing_ok=True)
    return venv


def package_copy(dest: Path) -> Path:
    """A copy of the repository's package sources (a stand-in for a clone at the release tag)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PACKAGE_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def current_base_python() -> str:
    """The interpreter this test environment was created from (the venv's base)."""
    return getattr(sys, "_base_executable", sys.executable)
