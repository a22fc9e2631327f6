"""One SQLAlchemy engine per gradebook URL in a grading process, so that queries compile once.

nbgrader's `Gradebook` makes a new engine each time it is opened: about seven times per submission
in a worker (the converter, its preprocessors, `init_assignment`) and twice in the coordinator. A
new engine has an empty cache of compiled SQL, so every query is compiled again each time, along
with the engine's own set-up: about a tenth of a second of CPU per submission in a worker.

Inside `shared_engines()`, a `Gradebook` opened on a URL gets the engine made for that URL the
first time instead. Nothing else carries over: `Gradebook.close()` still disposes of the engine's
pool (its connections are closed), and leaving the block disposes of every pool again, so no
connection stays open between submissions (a worker replaces its scratch gradebook's file before
each one). The swap itself is `compat.nbgrader_create_engine`.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

from ...compat import nbgrader_create_engine

_engines: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}
_lock = threading.Lock()


def _engine_for(url: Any, **kwargs: Any) -> Any:
    from sqlalchemy import create_engine

    key = (str(url), tuple(sorted(kwargs.items())))
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = create_engine(url, **kwargs)
        return engine


@contextlib.contextmanager
def shared_engines() -> Iterator[None]:
    """Within the block, nbgrader's `Gradebook` reuses one engine per URL (see the module docstring)."""
    try:
        with nbgrader_create_engine(_engine_for):
            yield
    finally:
        release_connections()


def release_connections() -> None:
    """Close every pooled connection of the shared engines (their compiled queries are kept)."""
    with _lock:
        engines = list(_engines.values())
    for engine in engines:
        engine.dispose()
