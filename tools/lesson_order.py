"""Regenerate nb_helpers/lesson_order.py, the order of each lesson's exercises in its notebook that
`nb_helpers.progress()` lists them in, from solutions/*/ (run it after adding or moving an exercise):

    python -m tools.lesson_order
"""

from __future__ import annotations

import os
from pathlib import Path

from nb_helpers.progress import write_order

if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    print(write_order(), end="")
