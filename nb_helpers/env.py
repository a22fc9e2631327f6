"""What a lesson's setup cell calls: reproducible, single-threaded, device-aware notebooks."""

from __future__ import annotations

import os
import random
import warnings
from typing import Any

import numpy as np

from . import __version__
from .compat import inductor_deterministic
from .conventions import NBGRADER_EXECUTION_ENV

#: True while nbgrader executes the notebook (autograde / validate): lessons may skip slow demos.
GRADING = bool(os.environ.get(NBGRADER_EXECUTION_ENV))

_thread_limits: Any = None


def seed_everything(seed: int = 0) -> None:
    """Seed Python's `random`, NumPy's global RNG and torch (all devices)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device() -> "Any":
    """CUDA when a GPU is present, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("+")[0].split(".")[:3] if p.isdigit())


def check_version(released_with: str) -> None:
    """Refuse an nb_helpers older than the notebook's release; warn about any other difference."""
    installed, wanted = _version_tuple(__version__), _version_tuple(released_with)
    if installed < wanted:
        raise ImportError(
            f"this notebook needs nb_helpers {released_with} but {__version__} is installed: "
            "update it (`make lab` in the course folder, or `pip install -U` the course package)")
    if installed != wanted:
        warnings.warn(
            f"this notebook was released with nb_helpers {released_with} but {__version__} is installed; "
            "checks and demos may differ from the text", stacklevel=3)


def use_deterministic_algorithms(mode: str) -> None:
    """`torch.use_deterministic_algorithms(True, warn_only=mode == "warn")` without importing the
    torch.compile stack (torch._inductor, torch._dynamo: about 2 s) just to set Inductor's own
    deterministic flag: the setup cell stays quick, and the stack loads when something first needs
    it (a torch optimizer's first step does). `compat.inductor_deterministic` sets that flag: directly
    if Inductor is already loaded, else through the environment variable it reads when first imported."""
    import torch

    torch.set_deterministic_debug_mode(mode)  # the documented alternative interface: "warn" or "error"
    inductor_deterministic()


def prepare_lesson(released_with: str, seed: int = 0, quiet: bool = False) -> Any:
    """Check the version, seed, limit torch and BLAS to one thread on CPU, pick the device; return it.

    Also sets the course's figure style and rounded print options for NumPy and torch.

    Deterministic algorithms are enabled only where they cannot fail: on the CPU, or on CUDA
    when `CUBLAS_WORKSPACE_CONFIG` can still be set before CUDA starts.
    """
    global _thread_limits
    import torch
    from threadpoolctl import threadpool_limits

    device = pick_device()
    if device.type == "cpu":
        torch.set_num_threads(1)
        _thread_limits = threadpool_limits(limits=1)
        use_deterministic_algorithms("error")
    elif os.environ.get("CUBLAS_WORKSPACE_CONFIG") or not torch.cuda.is_initialized():
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        use_deterministic_algorithms("warn")
    seed_everything(seed)
    torch.set_printoptions(precision=4, sci_mode=False)
    np.set_printoptions(precision=4, suppress=True)
    from . import plots

    plots.use_style()
    check_version(released_with)
    if not quiet:
        print(f"nb_helpers {__version__} | torch {torch.__version__} | device: {device}")
    return device
