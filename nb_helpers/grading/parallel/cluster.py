"""Where the workers come from: a local cluster of worker processes, or a Dask scheduler's workers."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator

#: Dask settings for the local cluster. Grading tasks are long (seconds) and hold no data, so the
#: scheduler queues them (one per worker: a dying worker takes down only the submission it was
#: grading) and the bookkeeping meant for many short tasks is off. With the defaults, the idle
#: scheduler and workers alone burn about a quarter of a core (10 ms stack sampling in every worker,
#: 20 ms event-loop ticks, work stealing, the memory manager): on two cores, that is time taken
#: from the students' kernels.
LOCAL_DASK_CONFIG: dict[str, Any] = {
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.scheduler.work-stealing": False,
    "distributed.scheduler.active-memory-manager.start": False,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "1s",
    # The nannies would set MALLOC_TRIM_THRESHOLD_=65536 in the workers (and in the coordinator),
    # so that a worker hands Dask's freed data back to the system at once; ours hold no such data,
    # and their notebooks' allocations would be given back and faulted in again (see environ.py).
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # Workers are forked from one process that has imported nbgrader, torch and the checks once
    # (about 6 s of CPU), rather than spawned, each importing them again (where there is no fork
    # server, as on Windows, they are spawned).
    "distributed.worker.multiprocessing-method":
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn",
}

#: Imported by the local workers' fork server before it forks them, and by each worker (Dask preload).
PRELOAD = "nb_helpers.grading.parallel.preload"


class ClusterError(RuntimeError):
    """The workers cannot be reached or cannot grade (a usage problem, reported without a traceback)."""


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def start_fork_server() -> None:
    """Start the process the local workers are forked from, now, importing PRELOAD and Dask (about
    6 s of CPU): called before the coordinator imports Dask and nbgrader itself (about 3 s), so that
    the two run on two cores side by side rather than one after the other. Dask's local cluster
    then forks its workers from it (multiprocessing keeps one fork server per process). Does nothing
    where the workers are spawned, or where the fork server already runs."""
    if LOCAL_DASK_CONFIG["distributed.worker.multiprocessing-method"] != "forkserver":
        return
    from multiprocessing import forkserver

    # instead of Dask's list (distributed and its dependencies); ours first, as its package keeps
    # jsonschema's IRI parsers out (see nb_helpers.grading.parallel)
    multiprocessing.get_context("forkserver").set_forkserver_preload([PRELOAD, "distributed"])
    forkserver.ensure_running()  # returns at once: the server imports in the background


def _dask() -> tuple[Any, Any, Any]:
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("dask and distributed are not installed: pip install 'nn-training-course[grading]'") from None
    return dask, Client, LocalCluster


@contextlib.contextmanager
def open_client(scheduler: str | None, workers: int) -> Iterator[Callable[[], Any]]:
    """Yields a function that returns a Dask client: on `scheduler` when given, else on `workers`
    local worker processes. The local cluster starts at once, in the background: its workers import
    their libraries while the coordinator reads the course, and the first call waits for them."""
    if not scheduler:
        start_fork_server()
    dask, Client, LocalCluster = _dask()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
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
            yield lambda: client
        finally:
            client.close()
        return

    def start() -> Any:
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                            dashboard_address=None, silence_logs=logging.ERROR,
                            preload=[PRELOAD])

    clients: list[Any] = []

    def get_client(cluster: Future) -> Any:
        if not clients:
            clients.append(Client(cluster.result(), set_as_default=False))
        return clients[0]

    with dask.config.set(LOCAL_DASK_CONFIG), ThreadPoolExecutor(1, thread_name_prefix="nbh-cluster") as pool:
        cluster = pool.submit(start)
        try:
            yield lambda: get_client(cluster)
        finally:
            for client in clients:
                client.close()
            with contextlib.suppress(Exception):  # a cluster that failed to start has nothing to close
                cluster.result().close()


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
