"""Where the workers come from: a local cluster of worker processes, or a Dask scheduler's workers."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any, Iterator


class ClusterError(RuntimeError):
    """The workers cannot be reached or cannot grade (a usage problem, reported without a traceback)."""


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def open_client(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A Dask client: on `scheduler` when given, else on `workers` local worker processes."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("dask and distributed are not installed: pip install 'nn-training-course[grading]'") from None

    if scheduler:
        logging.getLogger("distributed").setLevel(logging.ERROR)
        try:
            client = Client(scheduler, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            try:
                client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                raise ClusterError(f"the Dask scheduler at {scheduler} has no workers") from None
            _check_workers(client)
            yield client
        finally:
            client.close()
        return

    logging.getLogger("distributed").setLevel(logging.ERROR)
    # one task per worker at a time: a dying worker takes down only the submission it was grading
    dask.config.set({"distributed.scheduler.worker-saturation": 1.0})
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                           dashboard_address=":0", silence_logs=logging.ERROR,
                           preload=["nb_helpers.grading.parallel.preload"])
    try:
        with Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        cluster.close()


def _check_workers(client: Any) -> None:
    """Every worker must grade with the coordinator's versions of the course package and nbgrader."""
    from importlib import metadata

    for dist in ("nn-training-course", "nbgrader"):
        here = metadata.version(dist)
        for address, there in client.run(metadata.version, dist, on_error="return").items():
            if there != here:
                found = "not installed" if isinstance(there, Exception) else there
                raise ClusterError(f"Dask worker {address} has {dist} {found}, the coordinator {here}: install "
                                   "the same versions of the course package and nbgrader on every worker")
