"""Run a command under an address-space limit: `python -m nb_helpers.grading.rlimit MIB -- CMD...`.

Used to start the student's kernel at grading time with a memory cap, with or without bubblewrap
(which sets no limit itself). The limit is inherited by everything the command starts.
"""

from __future__ import annotations

import os
import resource
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[1] != "--":
        sys.exit("usage: python -m nb_helpers.grading.rlimit MIB -- COMMAND [ARGS...]")
    limit_mb, command = int(args[0]), args[2:]
    if limit_mb > 0:
        limit = limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
