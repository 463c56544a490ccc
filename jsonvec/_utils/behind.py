"""Writes that run behind the encoding, in a thread of their own.

Writing a batch of vectors (Parquet's encoding of 1,024 floats a row, or copying 4 MB into the
page cache) releases the GIL, so a writer thread does it on another core while the next batch
is encoded. Writes run in the order they were handed over, at most ``depth`` waiting; the
first error is raised to the caller at its next call, and nothing is written after it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable

_STOP = None


class Behind:
    """A queue of writes run in order by one thread.

    Parameters
    ----------
    depth : int
        Writes that may wait; handing over one more waits for the first to be done.
    """

    def __init__(self, depth: int = 2) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="jsonvec-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            task = self._queue.get()
            if task is _STOP:
                return
            if self._error is not None:
                continue  # after an error, the rest is dropped
            try:
                task()
            except BaseException as exc:
                self._error = exc

    def submit(self, task: Callable[[], None]) -> None:
        """Run ``task`` after the writes before it; raises an earlier write's error."""
        self.check()
        self._queue.put(task)

    def check(self) -> None:
        """Raise the error of a write that failed, if one did."""
        if self._error is not None:
            raise self._error

    def finish(self) -> None:
        """Wait for every write handed over, then raise the first error, if any."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self.check()

    def cancel(self) -> None:
        """Stop after the write under way; drop the rest (an error is not raised)."""
        if not self._thread.is_alive():
            return
        self._error = self._error or CancelledError()
        while True:  # make room for the stop sign
            try:
                self._queue.put_nowait(_STOP)
                break
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
        self._thread.join()


class CancelledError(Exception):
    """The writes were cancelled."""
