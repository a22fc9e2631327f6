"""Isolation of the process that runs students' code at grading time, with bubblewrap (`bwrap`).

Inside the sandbox: no network (own network namespace), a read-only view of the machine, a private
empty /tmp, and the course directory (solutions, gradebook, every submission) replaced by an empty
directory, except the Python environment and the `nb_helpers` package, bound back read-only. The
process dies with its parent and sees only its own processes, so nothing it starts outlives it.
Without bubblewrap, grading still applies the time and memory limits and says loudly what is missing.

`SandboxSettings` declares the sandbox's settings once for both preprocessors that run students'
code, the kernel's (`SandboxedExecute`) and the verdicts' (`VerdictPreprocessor`):
`c.SandboxSettings.<setting>` sets both, `c.SandboxedExecute.<setting>` or
`c.VerdictPreprocessor.<setting>` one of them (that one wins).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

from traitlets import Bool, Integer, List, Unicode
from traitlets.config import LoggingConfigurable

import nb_helpers


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


_usable: dict[str, bool] = {}


def bwrap_usable(bwrap: str | None = None) -> bool:
    """Is bubblewrap installed *and* allowed to create namespaces here (some containers forbid it)?"""
    bwrap = bwrap or bwrap_path()
    if bwrap is None:
        return False
    if bwrap not in _usable:
        try:
            probe = subprocess.run([bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                                   capture_output=True, timeout=30)
            _usable[bwrap] = probe.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _usable[bwrap] = False
    return _usable[bwrap]


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


#: matplotlib's configuration and cache folder inside the sandbox (in its private, empty /tmp).
SANDBOX_MPLCONFIGDIR = "/tmp/mpl"


@functools.cache
def matplotlib_font_cache() -> Path | None:
    """The font list matplotlib keeps for this process (`fontlist-v*.json`, built on first use),
    or None without matplotlib. Each sandbox gets it read-only: in an empty /tmp, matplotlib would
    build it again in every kernel, from every font file of the machine (0.1 s here with 38 fonts,
    seconds on a desktop with hundreds, and after 5 s it says so in the student's feedback)."""
    try:
        import matplotlib
        from matplotlib.font_manager import FontManager  # importing it builds the list if missing
    except ImportError:
        return None
    path = Path(matplotlib.get_cachedir()) / f"fontlist-v{FontManager.__version__}.json"
    return path.resolve() if path.is_file() else None


def sandbox_prefix(hidden: Iterable[str | os.PathLike], *, writable: Iterable[str | os.PathLike] = (),
                   chdir: str = "/tmp", bwrap: str | None = None) -> list[str]:
    """The bwrap command line that wraps a command.

    `hidden` directories appear empty and read-only inside; `writable` directories (the submission's
    own folder, the kernel's connection folder) are bound back read-write, even inside a hidden one.
    """
    bwrap = bwrap or bwrap_path()
    if bwrap is None:
        raise FileNotFoundError("bubblewrap (bwrap) is not installed")
    hidden_dirs = sorted({Path(h).resolve() for h in hidden if Path(h).exists()})
    writable_dirs = sorted({Path(w).resolve() for w in writable})
    needed = [Path(sys.prefix).resolve(), Path(nb_helpers.__file__).resolve().parent]
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for directory in hidden_dirs:
        args += ["--tmpfs", str(directory)]
    covered = hidden_dirs + [Path("/tmp").resolve()]  # the private /tmp hides a course or venv cloned there
    for path in needed:
        if _inside(path, covered):
            args += ["--ro-bind", str(path), str(path)]
    for path in writable_dirs:
        args += ["--bind", str(path), str(path)]
    for directory in hidden_dirs:
        args += ["--remount-ro", str(directory)]
    font_cache = matplotlib_font_cache()
    if font_cache is not None:
        args += ["--ro-bind", str(font_cache), f"{SANDBOX_MPLCONFIGDIR}/{font_cache.name}"]
    # an outside PID means nothing in the sandbox's PID namespace; 1 tells ipykernel that nobody needs
    # watching (--die-with-parent does that) and that it need not print its console banner
    args += ["--setenv", "JPY_PARENT_PID", "1", "--setenv", "HOME", "/tmp",
             "--setenv", "MPLCONFIGDIR", SANDBOX_MPLCONFIGDIR, "--setenv", "IPYTHONDIR", "/tmp/ipython", "--chdir", chdir]
    return args


def hidden_paths(config: Any, db_url: str = "", extra: Iterable[str] = ()) -> list[str]:
    """What students' code must not see: the course root (solutions, every submission), the
    gradebook's folder, the exchange and any `extra` directory."""
    from nbgrader.coursedir import CourseDirectory

    hidden = [CourseDirectory(config=config).root, *extra]
    if db_url.startswith("sqlite:///"):
        hidden.append(os.path.dirname(os.path.abspath(db_url[len("sqlite:///"):])))
    hidden.append(str(config.get("Exchange", {}).get("root", "/srv/nbgrader/exchange")))
    return hidden


_warned = False


def warn_unsandboxed(log: Any) -> None:
    """Say once, loudly, that students' code runs without isolation on this machine."""
    global _warned
    if _warned:
        return
    _warned = True
    log.warning("!" * 72)
    log.warning("bubblewrap (bwrap) is not installed or may not create namespaces here: students' code is graded "
                "WITHOUT network and filesystem isolation (time and memory limits still apply). "
                "Install it: apt-get install bubblewrap")
    log.warning("!" * 72)


class SandboxSettings(LoggingConfigurable):
    """The sandbox of the preprocessors that run students' code (a base class of each): whether to
    use bubblewrap, what more it hides, and how much memory the code may use."""

    sandbox = Bool(True, help="Run students' code under bubblewrap (no network, course files hidden; warns loudly "
                              "and still applies the time and memory limits where bubblewrap is missing).").tag(config=True)
    hidden_paths = List(Unicode(), help="More directories students' code must not see (the course root, the "
                                        "gradebook's folder and the exchange are always hidden).").tag(config=True)
    memory_limit_mb = Integer(2048, help="Memory (MiB of address space) students' code may use on top of the "
                                         "interpreter and the course's libraries (the kernel: on top of "
                                         "`SandboxedExecute.baseline_memory_mb`; a verdict: on top of what its "
                                         "process holds when the check starts); 0 disables.").tag(config=True)

    def sandbox_command(self, db_url: str = "", *, writable: Iterable[str | os.PathLike] = (),
                        chdir: str = "/tmp") -> list[str]:
        """The bwrap command line that wraps a process running students' code for the course whose
        gradebook is `db_url` (`sandbox_prefix`, hiding `hidden_paths` as well); [] when `sandbox` is
        off, or where bubblewrap cannot run (said loudly once: `warn_unsandboxed`)."""
        if not self.sandbox:
            return []
        if not bwrap_usable():
            warn_unsandboxed(self.log)
            return []
        return sandbox_prefix(hidden_paths(self.config, db_url, self.hidden_paths), writable=writable, chdir=chdir)
