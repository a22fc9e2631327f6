"""The setup cell's `prepare_lesson`: deterministic torch, one thread, without slow imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

PROBE = """
import json, sys
import nb_helpers
from nb_helpers.env import prepare_lesson
prepare_lesson(nb_helpers.__version__, quiet=True)
import torch
state = {"deterministic": torch.are_deterministic_algorithms_enabled(),
         "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
         "threads": torch.get_num_threads(),
         "compile_stack_loaded": "torch._dynamo" in sys.modules or "torch._inductor" in sys.modules}
import torch._inductor.config
state["inductor_deterministic"] = torch._inductor.config.deterministic
print(json.dumps(state))
"""


def probe() -> dict:
    """The torch state after the setup cell, in a fresh interpreter on the CPU."""
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_DETERMINISTIC"}
    env["CUDA_VISIBLE_DEVICES"] = ""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cpu_lessons_get_deterministic_algorithms_that_raise_and_one_thread():
    state = probe()
    assert state["deterministic"] and not state["warn_only"]
    assert state["threads"] == 1


def test_setting_determinism_does_not_load_the_compile_stack_but_inductor_still_inherits_it():
    # torch.use_deterministic_algorithms imports torch._inductor (about 2 s) to set its flag
    state = probe()
    assert not state["compile_stack_loaded"]
    assert state["inductor_deterministic"]


def test_inductor_loaded_before_the_setup_cell_gets_the_flag_directly():
    from nb_helpers.env import use_deterministic_algorithms

    import torch
    import torch._inductor.config as inductor

    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
              inductor.deterministic)
    try:
        inductor.deterministic = False
        use_deterministic_algorithms("warn")
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        assert inductor.deterministic
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        inductor.deterministic = before[2]
