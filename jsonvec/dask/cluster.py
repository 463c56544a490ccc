"""The cluster a run uses: a running one at a scheduler's address, or a local one started for
the run and closed after it, however the run ends.

A worker that dies (killed, out of memory) takes its running task with it; Dask runs the
task again on another worker, up to ``distributed.scheduler.allowed-failures`` times (3 by
default). Every task of a run can be run again: it writes its part under a name of its own,
and the part has no name until it is complete (:mod:`jsonvec._utils.atomic`), so a run that
recovers has each record exactly once; a run where Dask gives up fails with one line
(:class:`ClusterError`) and lists nothing new.

A local cluster is ``distributed.LocalCluster`` with one single-threaded worker process per
core (an encoder is single-threaded: a worker process is the unit of parallelism), listening
on the loopback interface only, without a dashboard. Its worker processes die with this
process even when it is killed outright (``SIGKILL``): distributed starts each with a pipe
from this process and the worker exits at once when that pipe closes (tested).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from jsonvec._utils.interrupts import check_interrupted
from jsonvec.errors import ClusterError

#: the loggers of distributed that report a closing cluster's connections as errors
_NOISY = ("distributed", "tornado", "asyncio")


@contextlib.contextmanager
def connect(
    scheduler: str | None = None, *, workers: int | None = None, timeout: str = "20s"
) -> Iterator[Any]:
    """A ``distributed.Client`` of the cluster at ``scheduler`` (``tcp://host:8786``), or of
    a local cluster of ``workers`` processes (default: this machine's cores) that is closed
    when the block ends; :class:`ClusterError` when the scheduler cannot be reached.

    Examples
    --------
    >>> with connect(workers=1) as client:
    ...     len(client.scheduler_info()["workers"])
    1
    """
    distributed: Any = importlib.import_module("distributed")
    with _quiet_logs():
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout=timeout)
            except (OSError, ValueError) as exc:
                raise ClusterError(
                    f"cannot reach the Dask scheduler at {scheduler}: {exc}"
                ) from exc
            with client:
                yield client
            return
        cluster = distributed.LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # no dashboard, but the scheduler's HTTP routes (health, metrics) still listen:
            # on a free loopback port, not 8787, which a second run at the same time would
            # find taken and warn about on stderr
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,  # workers share this stderr: see _quiet_logs
        )
        with cluster, distributed.Client(cluster) as client:
            yield client


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """distributed logs a closing cluster's dropped connections and cancelled tasks as
    warnings and errors with tracebacks (``CommClosedError``), which are no errors of the
    run: only critical records pass, in this process and (``silence_logs``) in the workers
    of a local cluster. Both the loggers and the handlers of their roots are set: a child
    such as ``distributed.client`` has a level of its own, and its records still reach the
    root's handler."""
    loggers = [logging.getLogger(name) for name in _NOISY]
    saved: list[tuple[logging.Logger | logging.Handler, int]] = []
    for logger in loggers:
        items: list[logging.Logger | logging.Handler] = [logger, *logger.handlers]
        for item in items:
            saved.append((item, item.level))
            item.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for item, level in saved:
            item.setLevel(level)


def progress_bar(futures: list[Any]) -> None:
    """Dask's own progress bar, on stderr (Dask draws on stdout, which may hold output)."""
    progress: Any = importlib.import_module("distributed").progress
    with contextlib.redirect_stdout(sys.stderr):
        progress(futures, multi=False)


def run_tasks(client: Any, progress: bool, tasks: list[Any]) -> list[Any]:
    """Compute ``tasks`` on ``client`` (with Dask's progress bar if asked), or on Dask's
    current scheduler when it is None; their results in order."""
    if not tasks:
        return []
    if client is None:
        return list(importlib.import_module("dask").compute(*tasks))
    distributed: Any = importlib.import_module("distributed")
    futures = client.compute(tasks)
    try:
        if progress:
            progress_bar(futures)
        while True:
            check_interrupted()
            try:
                distributed.wait(futures, timeout=0.5)
                break
            except TimeoutError:
                continue
        check_interrupted()
        return list(client.gather(futures))
    except distributed.KilledWorker as exc:
        tries = exc.allowed_failures + 1
        raise ClusterError(
            f"workers died running one task of the run, {tries} time{'s' * (tries > 1)} "
            "(out of memory?); Dask gave up (distributed.scheduler.allowed-failures)"
        ) from exc
    except (distributed.comm.CommClosedError, asyncio.CancelledError) as exc:
        raise ClusterError(f"the Dask cluster went away mid-run ({type(exc).__name__})") from exc
    except BaseException:
        # an interrupt or an error: no task of the run may start after it (a task still
        # running finishes: Dask cannot stop it; see Output.staging)
        with contextlib.suppress(Exception):
            client.cancel(futures)
        raise
