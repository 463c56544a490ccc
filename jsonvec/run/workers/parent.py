"""The main process's side: starting workers, giving each its next batch, encoding the rest
here, and taking results back in input order (the design: :mod:`jsonvec.run.workers`)."""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import signal
import subprocess
import sys
import time
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from typing import IO, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from jsonvec.errors import EncodeError
from jsonvec.records.batches import Batch
from jsonvec.run.batches import BatchEncoder, Encoded
from jsonvec.run.workers.channel import SLOTS, Slot, receive, send
from jsonvec.run.workers.child import forked_worker, prctl

_QUEUE = 2  # batches a worker is given ahead: one to encode, one to start on next


_STOP_SECONDS = 5.0  # how long a worker may take to end after its pipe closes


#: a worker is one core's worth of work: numerical libraries must not start threads of their
#: own in it (OpenBLAS's would spin on the cores the other workers use)
_ONE_THREAD = dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), "1")


#: how workers start: "fork" (Linux) or "spawn" (a fresh interpreter)
START = "fork" if sys.platform.startswith("linux") else "spawn"


def available() -> bool:
    """Whether worker processes can be used here (they need inheritable file descriptors)."""
    return os.name == "posix"


class _Process(Protocol):
    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class _Forked:
    """A forked worker, as much of :class:`subprocess.Popen` as :class:`_Worker` uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.0005
        while self.returncode is None:
            pid, status = os.waitpid(self.pid, 0 if deadline is None else os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                break
            assert deadline is not None
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
            time.sleep(pause)
            pause = min(2 * pause, 0.05)
        return self.returncode


class _Worker:
    """One worker process and its slots."""

    def __init__(self, config: dict[str, Any], vector_bytes: int) -> None:
        self.slots = [Slot(vector_bytes) for _ in range(SLOTS)]
        config = {**config, "fds": [slot.fd for slot in self.slots]}
        self.process: _Process
        if START == "fork":
            self._fork(config)
        else:
            self._spawn(config)

    def _spawn(self, config: dict[str, Any]) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "jsonvec.run.workers.child", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # replies are polled with select: nothing may wait in a buffer
            pass_fds=config["fds"],
            env={**os.environ, **_ONE_THREAD},
        )
        assert process.stdin is not None
        assert process.stdout is not None
        self.process = process
        self.commands: IO[bytes] = process.stdin
        self.replies: IO[bytes] = process.stdout
        try:
            send(self.commands, config)
        except BaseException:  # even Ctrl-C here: the process must not be left behind
            self.stop(now=True)
            raise

    def _fork(self, config: dict[str, Any]) -> None:
        commands_in, commands_out = os.pipe()
        replies_in, replies_out = os.pipe()
        parent = os.getpid()
        prctl()
        with warnings.catch_warnings():
            # Python 3.12+ warns of forking a process with threads (numerical libraries'
            # among them): the child uses none of their locks, see forked_worker
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            forked_worker(parent, config, commands_in, replies_out)
        os.close(commands_in)
        os.close(replies_out)
        self.process = _Forked(pid)
        self.commands = os.fdopen(commands_out, "wb", buffering=0)
        self.replies = os.fdopen(replies_in, "rb", buffering=0)

    def submit(self, slot_index: int, batch: Batch) -> None:
        """Copy ``batch`` into a slot and ask for it to be encoded."""
        slot = self.slots[slot_index]
        # the batch's bytes, then where each record's text starts and ends (a record of a JSON
        # document may hold line breaks) and the line it is on (line 1 may start with a byte
        # order mark): all in shared memory, so that a command is a few bytes and the pipe
        # never fills (a full pipe would hold this process up until the worker reads it)
        data = batch.data
        spans = np.concatenate([batch.starts, batch.ends, batch.linenos]).tobytes()
        try:
            slot.reserve(slot.vector_bytes + len(data) + len(spans))
        except OSError as exc:
            raise EncodeError(f"cannot share a batch with the workers: {exc.strerror}") from exc
        assert slot.map is not None
        at = slot.vector_bytes
        slot.map[at : at + len(data)] = data
        slot.map[at + len(data) : at + len(data) + len(spans)] = spans
        command = (slot_index, slot.size, len(data), len(batch), batch.first)
        try:
            send(self.commands, command)
        except (BrokenPipeError, OSError) as exc:
            raise EncodeError("a worker process stopped unexpectedly (out of memory?)") from exc

    def ready(self) -> bool:
        """Whether a reply is waiting to be read (or the worker is gone: reading says so)."""
        return bool(select.select([self.replies], [], [], 0)[0])

    def result(self, slot_index: int) -> tuple[int, list[Any], list[tuple[int, str]], int]:
        """The reply for the batch in ``slot_index``: rows, ids, invalid lines, CRC-32."""
        try:
            reply = receive(self.replies)
        except (EOFError, OSError) as exc:
            raise EncodeError("a worker process stopped unexpectedly (out of memory?)") from exc
        if reply[0] == "error":
            raise RuntimeError(f"a worker process failed:\n{reply[1]}")
        _, rows, ids, invalid, crc = reply
        return rows, ids, invalid, crc

    def vectors(self, slot_index: int, rows: int, dim: int) -> NDArray[np.float32]:
        slot = self.slots[slot_index]
        assert slot.map is not None
        return np.frombuffer(slot.map, dtype=np.float32, count=rows * dim).reshape(rows, dim)

    def stop(self, now: bool) -> None:
        """End the worker: at once (``now``), or by closing its pipe and waiting a little."""
        with contextlib.suppress(OSError):
            self.commands.close()
        if now:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        try:
            self.process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            self.replies.close()
        for slot in self.slots:
            slot.close()


def encode_batches(
    batches: Iterable[Batch], work: BatchEncoder, jobs: int = 1, batch_size: int = 1024
) -> Iterator[Encoded]:
    """Encode ``batches`` in order, on ``jobs`` cores: this process and ``jobs - 1`` worker
    processes, when there is more than one job and a second batch exists (a small input
    never pays for workers), else in this process alone.

    An :class:`Encoded`'s vectors are valid until the next result is asked for.
    """
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return
    second = next(it, None)
    if second is not None and jobs > 1 and available():
        pool = _start(work, jobs - 1, batch_size)
        if pool is not None:  # else no shared memory here (a file size limit): one process
            yield from encode_in_workers(
                itertools.chain([first, second], it), work, pool, batch_size
            )
            return
    out = np.empty((max(batch_size, len(first)), work.encoder.dim), dtype=np.float32)
    for batch in itertools.chain([first] if second is None else [first, second], it):
        if len(batch) > len(out):
            out = np.empty((len(batch), work.encoder.dim), dtype=np.float32)
        yield work(batch, out)


def _start(work: BatchEncoder, count: int, batch_size: int) -> list[_Worker] | None:
    """``count`` workers, or None if their shared memory cannot be made."""
    encoder = work.encoder
    config = {
        "codebook": encoder.codebook.params(),
        "id_field": work.id_field,
        "compiled": encoder.compiled,
        "vector_bytes": batch_size * encoder.dim * 4,
    }
    pool: list[_Worker] = []
    try:
        for _ in range(count):
            pool.append(_Worker(config, batch_size * encoder.dim * 4))
    except OSError:
        for worker in pool:
            worker.stop(now=True)
        return None
    except BaseException:
        for worker in pool:
            worker.stop(now=True)
        raise
    return pool


#: a batch on its way: sent to a worker (its batch, worker and slot) or encoded here
_Pending = tuple[Batch, int, int] | Encoded


def encode_in_workers(
    batches: Iterable[Batch], work: BatchEncoder, pool: list[_Worker], batch_size: int
) -> Iterator[Encoded]:
    """Encode ``batches`` in the worker processes of ``pool`` and in this process; results
    in input order.

    Each batch goes to a worker that has fewer than ``_QUEUE`` batches given and not yet
    taken back (and a free slot); when none has, this process encodes the batch itself
    instead of waiting. So every worker always has its next batch at hand, and this process,
    which also reads the input and writes the output, encodes what its own share of a core
    leaves time for: no core waits while there is work, none is asked to run two processes,
    and workers still starting (a fresh interpreter takes a while) hold nothing up. (Giving
    workers every free slot instead left this process waiting on their results, its own
    core idle, a third of the time.) A worker's vectors live in its shared memory until the
    next result is asked for; so its slot is free again only then.
    """
    dim = work.encoder.dim
    free = deque((worker, slot) for slot in range(SLOTS) for worker in range(len(pool)))
    given = [0] * len(pool)  # batches given to each worker and not taken back
    pending: deque[_Pending] = deque()
    limit = len(pool) * SLOTS + 2  # batches in flight: bounded memory
    finished = False
    try:
        for batch in batches:
            place = next((entry for entry in free if given[entry[0]] < _QUEUE), None)
            if place is not None:
                free.remove(place)
                worker, slot = place
                pool[worker].submit(slot, batch)
                given[worker] += 1
                pending.append((batch, worker, slot))
            else:
                out = np.empty((len(batch), dim), dtype=np.float32)
                pending.append(work(batch, out))
            # results ready (or too many waiting) go out, in order
            while pending and (len(pending) >= limit or _done(pending[0], pool)):
                yield from _next(pending, pool, work, dim, free, given)
        while pending:
            yield from _next(pending, pool, work, dim, free, given)
        finished = True
    finally:
        for process in pool:
            process.stop(now=not finished)


def _done(entry: _Pending, pool: list[_Worker]) -> bool:
    return isinstance(entry, Encoded) or pool[entry[1]].ready()


def _next(
    pending: deque[_Pending],
    pool: list[_Worker],
    work: BatchEncoder,
    dim: int,
    free: deque[tuple[int, int]],
    given: list[int],
) -> Iterator[Encoded]:
    """Yield the oldest result; a worker's slot is free again once the caller is done."""
    entry = pending.popleft()
    if isinstance(entry, Encoded):
        yield entry
        return
    result = _collect(entry, pool, work, dim)
    given[entry[1]] -= 1
    yield result
    free.append((entry[1], entry[2]))


def _collect(
    entry: tuple[Batch, int, int], pool: list[_Worker], work: BatchEncoder, dim: int
) -> Encoded:
    batch, worker, slot = entry
    rows, ids, invalid, crc = pool[worker].result(slot)
    bad = {index for index, _ in invalid}
    texts = None
    if work.keep_records:
        texts = [batch.text(i).decode("utf-8") for i in range(len(batch)) if i not in bad]
    rejected = [
        (batch.source(index), int(batch.linenos[index]), reason, batch.raw(index))
        for index, reason in invalid
    ]
    return Encoded(ids, pool[worker].vectors(slot, rows, dim), texts, rejected, crc)
