"""Print which contract clauses each exercise's check exercises (`python -m tools.clause_coverage`).

One row per exercise, one column per clause of `nb_helpers.checks.clauses.CLAUSES`: the number of
declared wrong answers that violate that clause alone ("G" for a clause exercised by a generic
test for every check, "·" where the clause is not part of the exercise's contract, "MISSING" where
it is and nothing exercises it). Exits 1 when a clause is missing, as `tests/test_clauses.py` fails.
"""

from __future__ import annotations

import sys
from collections import Counter

from nb_helpers import checks  # noqa: F401 - registers every lesson
from nb_helpers.checks.clauses import CLAUSES, CONTRACT, GENERIC
from nb_helpers.checks.declaration import REGISTRY

SHORT = {"value": "value", "shape": "shape", "dtype": "dtype", "stability": "stab.", "per_slice": "slice",
         "in_place": "inpl.", "no_mutation": "nomut", "generator": "gen.", "errors": "err.",
         "randomness": "rand.", "state": "state", "autograd": "grad", "delegation": "deleg"}


def main() -> int:
    columns = list(CLAUSES)
    print(f"{'exercise':<28}" + "".join(f"{SHORT.get(c, c[:5]):>8}" for c in columns))
    gaps = 0
    for check in sorted(REGISTRY.values(), key=lambda c: (c.lesson, c.id)):
        counts = Counter(w.clause for w in check.wrong)
        cells = []
        for clause in columns:
            if clause not in CONTRACT.get(check.id, ()):
                cells.append("·")
            elif clause in GENERIC:
                cells.append("G")
            elif counts[clause]:
                cells.append(str(counts[clause]))
            else:
                cells.append("MISSING")
                gaps += 1
        print(f"{check.id:<28}" + "".join(f"{cell:>8}" for cell in cells))
    print(f"\n{len(REGISTRY)} exercises; {gaps} contract clause(s) with nothing that exercises them")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
