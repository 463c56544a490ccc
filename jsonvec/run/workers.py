"""Worker processes for ``jsonvec encode --jobs N``: batches encoded on every core, in order.

No process-pool library: a pool's manager thread, queues and resource tracker are what hung
and leaked before (a worker killed mid-message left the pool waiting for good; workers
outlived a parent killed with SIGKILL). Instead:

- each worker is a process that builds its encoder once and then encodes the batches it
  is sent, one after another. On Linux it is forked from the main process, before the
  main process has anything to write (a forked worker starts in milliseconds, where a fresh
  interpreter spends 0.2-0.3 s of a core importing numpy and jsonvec, a third of the work
  of a 50 MB input on two cores); it closes every descriptor but its own at once and never
  returns into the main process's code. Elsewhere it is a fresh interpreter
  (``python -m jsonvec.run.workers``);
- ``--jobs N`` is the main process and N-1 workers: a batch goes to a worker that has
  fewer than two batches at hand, and when none has, the main process encodes it itself
  (see :func:`encode_in_workers`), so no core waits and none runs two busy processes;
- batches travel through shared memory: every worker has ``_SLOTS`` slots (a memory file
  each, mapped by both processes). The main process copies a batch into a slot as one
  block of bytes and three arrays (where each record starts and ends, its line), as it was
  cut from the input (:mod:`jsonvec.records.batches`): it does no work per line. The worker
  encodes the records into the same slot's vector area. Commands on the pipes are a few
  bytes, replies a few bytes more (ids and invalid lines); the main process never has more
  batches at a worker than it has slots, and reads replies in batch order, so neither side
  can wait on the other for good;
- a worker dies with the main process, whatever killed it: Linux delivers it SIGKILL when
  its parent dies (``PR_SET_PDEATHSIG``), and anywhere its command pipe reaches end-of-file;
  it ignores SIGINT (the main process answers Ctrl-C) and holds none of the main process's
  pipes but its own;
- a worker that dies unexpectedly is an error of the run (its pipe ends), never a wait.

Vectors are bit-identical whatever the number of workers (see :mod:`jsonvec.encoding.encoder`), and
results are used in input order, so the output does not depend on it either.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import mmap
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from typing import IO, Any, NoReturn, Protocol

import numpy as np
from numpy.typing import NDArray

from jsonvec.errors import EncodeError
from jsonvec.records.batches import Batch
from jsonvec.run.batches import BatchEncoder, Encoded

_SLOTS = 4  # batches in flight per worker
_QUEUE = 2  # batches a worker is given ahead: one to encode, one to start on next
_STOP_SECONDS = 5.0  # how long a worker may take to end after its pipe closes
_PR_SET_PDEATHSIG = 1
#: a worker is one core's worth of work: numerical libraries must not start threads of their
#: own in it (OpenBLAS's would spin on the cores the other workers use)
_ONE_THREAD = dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), "1")


#: how workers start: "fork" (Linux) or "spawn" (a fresh interpreter)
START = "fork" if sys.platform.startswith("linux") else "spawn"


def available() -> bool:
    """Whether worker processes can be used here (they need inheritable file descriptors)."""
    return os.name == "posix"


def _shared_file() -> int:
    """A file descriptor of a new file in memory, to map in two processes."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("jsonvec-batch", 0)
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    handle = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - kept open by its fd
    fd = os.dup(handle.fileno())
    handle.close()
    return fd


def _send(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(4, "little") + data)
    while view:  # an unbuffered stream may take part of it
        written = stream.write(view)
        view = view[written or 0 :]
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    parts, left = [], size
    while left:
        part = stream.read(left)
        if not part:
            raise EOFError
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _receive(stream: IO[bytes]) -> Any:
    size = int.from_bytes(_read_exactly(stream, 4), "little")
    return pickle.loads(_read_exactly(stream, size))


class _Slot:
    """Shared memory for one batch: the vectors first, then the batch's lines."""

    def __init__(self, vector_bytes: int) -> None:
        self.fd = _shared_file()
        self.vector_bytes = vector_bytes
        self.size = 0
        self.map: mmap.mmap | None = None
        self.reserve(vector_bytes + (1 << 20))

    def reserve(self, size: int) -> None:
        """Grow to at least ``size`` bytes (a batch of long lines)."""
        if size <= self.size:
            return
        size = max(size, 2 * self.size)
        os.ftruncate(self.fd, size)
        old, self.map = self.map, mmap.mmap(self.fd, size)
        if old is not None:
            with contextlib.suppress(BufferError):  # views of it still held keep it mapped
                old.close()
        self.size = size

    def close(self) -> None:
        if self.map is not None:
            with contextlib.suppress(BufferError):  # a view still held keeps it mapped
                self.map.close()
        os.close(self.fd)


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
        self.slots = [_Slot(vector_bytes) for _ in range(_SLOTS)]
        config = {**config, "fds": [slot.fd for slot in self.slots]}
        self.process: _Process
        if START == "fork":
            self._fork(config)
        else:
            self._spawn(config)

    def _spawn(self, config: dict[str, Any]) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "jsonvec.run.workers", str(os.getpid())],
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
            _send(self.commands, config)
        except BaseException:  # even Ctrl-C here: the process must not be left behind
            self.stop(now=True)
            raise

    def _fork(self, config: dict[str, Any]) -> None:
        commands_in, commands_out = os.pipe()
        replies_in, replies_out = os.pipe()
        parent = os.getpid()
        _prctl()
        with warnings.catch_warnings():
            # Python 3.12+ warns of forking a process with threads (numerical libraries'
            # among them): the child uses none of their locks, see _forked_worker
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            _forked_worker(parent, config, commands_in, replies_out)
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
            _send(self.commands, command)
        except (BrokenPipeError, OSError) as exc:
            raise EncodeError("a worker process stopped unexpectedly (out of memory?)") from exc

    def ready(self) -> bool:
        """Whether a reply is waiting to be read (or the worker is gone: reading says so)."""
        return bool(select.select([self.replies], [], [], 0)[0])

    def result(self, slot_index: int) -> tuple[int, list[Any], list[tuple[int, str]], int]:
        """The reply for the batch in ``slot_index``: rows, ids, invalid lines, CRC-32."""
        try:
            reply = _receive(self.replies)
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
    free = deque((worker, slot) for slot in range(_SLOTS) for worker in range(len(pool)))
    given = [0] * len(pool)  # batches given to each worker and not taken back
    pending: deque[_Pending] = deque()
    limit = len(pool) * _SLOTS + 2  # batches in flight: bounded memory
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


# -- the worker's side --------------------------------------------------------------------


@functools.cache
def _prctl() -> Any:
    """Linux's ``prctl``, found before any fork (the child then needs no loader lock)."""
    import ctypes  # noqa: PLC0415

    try:
        return ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent(parent: int) -> None:
    """Be killed when the main process dies (Linux), and stop now if it is gone already."""
    if sys.platform.startswith("linux") and _prctl() is not None:
        with contextlib.suppress(OSError):
            _prctl()(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        raise SystemExit(0)


def _serve(commands: IO[bytes], replies: IO[bytes], config: dict[str, Any] | None = None) -> None:
    """Encode the batches the main process sends, until its pipe closes (``config`` is the
    run's settings, read from the pipe first if not given)."""
    from jsonvec.codebook.codebook import Codebook  # noqa: PLC0415
    from jsonvec.codebook.settings import Settings  # noqa: PLC0415
    from jsonvec.encoding.encoder import Encoder  # noqa: PLC0415

    if config is None:
        try:
            config = _receive(commands)
        except EOFError:  # the main process ended before it sent anything: nothing to do
            return
    params = config["codebook"]
    codebook = Codebook(
        dim=params["dim"],
        seed=params["seed"],
        settings=Settings.from_dict(params["settings"]),
        family=params["family"],
    )
    work = BatchEncoder(Encoder(codebook, compiled=config["compiled"]), config["id_field"])
    maps: dict[int, mmap.mmap] = {}
    while True:
        try:
            slot, size, nbytes, count, first = _receive(commands)
        except EOFError:
            return
        if slot not in maps or len(maps[slot]) != size:
            if slot in maps:
                maps[slot].close()
            maps[slot] = mmap.mmap(config["fds"][slot], size)
        try:
            reply = _encode(work, maps[slot], (config["vector_bytes"], nbytes), count, first)
        except Exception:
            reply = ("error", traceback.format_exc())
        try:
            _send(replies, reply)
        except OSError:  # the main process is gone (it stopped the run): so are we
            return


def _forked_worker(parent: int, config: dict[str, Any], commands: int, replies: int) -> NoReturn:
    """The life of a forked worker: it never returns into the main process's code.

    It keeps only its pipes, its slots and stderr (stdin and stdout become ``/dev/null``: a
    worker must not hold the caller's pipes open), builds its own encoder (the main
    process's objects may hold locks of other threads), and leaves with ``os._exit``, so
    nothing of the main process (buffers, exit handlers) runs twice.
    """
    status = 1
    try:
        _die_with_parent(parent)
        _keep_only({commands, replies, *config["fds"]})
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with os.fdopen(commands, "rb") as stream, os.fdopen(replies, "wb") as answers:
            _serve(stream, answers, config)
        status = 0
    except SystemExit:  # the main process is gone already
        status = 0
    except BaseException:  # the main process reports a worker that stopped: one line
        status = 1
    finally:
        os._exit(status)


def _keep_only(keep: set[int]) -> None:
    """Close every file descriptor but ``keep`` and stderr; stdin and stdout read and write
    ``/dev/null``."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own descriptor, gone
                os.close(fd)


def _encode(
    work: BatchEncoder, shared: mmap.mmap, where: tuple[int, int], count: int, first: int
) -> tuple[Any, ...]:
    """Encode the batch in ``shared`` into its vector area: the reply's fields. ``where``
    says where its bytes are (their offset and length); where each record starts and ends,
    and the line it is on, follow them."""
    at, nbytes = where
    data = shared[at : at + nbytes]
    spans = np.frombuffer(shared, dtype=np.int64, count=3 * count, offset=at + nbytes)
    starts, ends, linenos = spans.copy().reshape(3, count)
    batch = Batch(first, data, starts, ends, linenos, [(0, "")])
    dim = work.encoder.dim
    out = np.frombuffer(shared, dtype=np.float32, count=count * dim).reshape(count, dim)
    encoded = work(batch, out)
    rows = len(encoded.ids)
    crc = zlib.crc32(out[:rows].data) if rows else 0
    reasons = [reason for _, _, reason, _ in encoded.invalid]
    return ("ok", rows, encoded.ids, list(zip(encoded.invalid_rows, reasons, strict=True)), crc)


def main() -> None:
    """``python -m jsonvec.run.workers PARENT_PID``: a worker, talking on its stdin and stdout."""
    _die_with_parent(int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # records are trees, freed by reference counting (see jsonvec.run.stream)
    _serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
