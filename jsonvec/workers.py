"""Worker processes for ``jsonvec encode --jobs N``: batches encoded on every core, in order.

No process-pool library: a pool's manager thread, queues and resource tracker are what hung
and leaked before (a worker killed mid-message left the pool waiting for good; workers
outlived a parent killed with SIGKILL). Instead:

- each worker is a fresh Python process (``python -m jsonvec.workers``) that builds its
  encoder once and then encodes the batches it is sent, one after another;
- batches travel through shared memory: every worker has two slots (a memory file each,
  mapped by both processes). The main process copies a batch's lines into a slot; the worker
  encodes the records into the same slot's vector area. Commands on the pipes are a few
  bytes, replies a few bytes more (ids and invalid lines); the main process sends at most two
  batches to a worker before it reads that worker's reply, and reads replies in batch order,
  so neither side can wait on the other for good;
- a worker dies with the main process, whatever killed it: Linux delivers it SIGKILL when
  its parent dies (``PR_SET_PDEATHSIG``), and anywhere its command pipe reaches end-of-file;
  it ignores SIGINT (the main process answers Ctrl-C) and holds none of the main process's
  pipes but its own;
- a worker that dies unexpectedly is an error of the run (its pipe ends), never a wait.

Vectors are bit-identical whatever the number of workers (see :mod:`jsonvec.encoder`), and
results are used in input order, so the output does not depend on it either.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import mmap
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.batches import BatchEncoder, Encoded
from jsonvec.errors import EncodeError
from jsonvec.reader import Batch

_SLOTS = 2  # batches in flight per worker
_STOP_SECONDS = 5.0  # how long a worker may take to end after its pipe closes
_PR_SET_PDEATHSIG = 1


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
    stream.write(len(data).to_bytes(4, "little") + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(4)
    if len(header) < 4:
        raise EOFError
    size = int.from_bytes(header, "little")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


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


class _Worker:
    """One worker process and its slots."""

    def __init__(self, config: dict[str, Any], vector_bytes: int) -> None:
        self.slots = [_Slot(vector_bytes) for _ in range(_SLOTS)]
        fds = [slot.fd for slot in self.slots]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jsonvec.workers", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=fds,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.commands: IO[bytes] = self.process.stdin
        self.replies: IO[bytes] = self.process.stdout
        try:
            _send(self.commands, {**config, "fds": fds})
        except BaseException:  # even Ctrl-C here: the process must not be left behind
            self.stop(now=True)
            raise

    def submit(self, slot_index: int, batch: Batch) -> None:
        """Copy ``batch`` into a slot and ask for it to be encoded."""
        slot = self.slots[slot_index]
        lines = b"".join(raw if raw.endswith(b"\n") else raw + b"\n" for raw in batch.raws)
        try:
            slot.reserve(slot.vector_bytes + len(lines))
        except OSError as exc:
            raise EncodeError(f"cannot share a batch with the workers: {exc.strerror}") from exc
        assert slot.map is not None
        slot.map[slot.vector_bytes : slot.vector_bytes + len(lines)] = lines
        command = (slot_index, slot.size, len(lines), len(batch), batch.bom, batch.first)
        try:
            _send(self.commands, command)
        except (BrokenPipeError, OSError) as exc:
            raise EncodeError("a worker process stopped unexpectedly (out of memory?)") from exc

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
    """Encode ``batches`` in order: in ``jobs`` worker processes when there is more than one
    and a second batch exists (a small input never pays for them), else in this process.

    An :class:`Encoded`'s vectors are valid until the next result is asked for.
    """
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return
    second = next(it, None)
    if second is not None and jobs > 1 and available():
        pool = _start(work, jobs, batch_size)
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


def _start(work: BatchEncoder, jobs: int, batch_size: int) -> list[_Worker] | None:
    """``jobs`` workers, or None if their shared memory cannot be made."""
    encoder = work.encoder
    config = {
        "codebook": encoder.codebook.params(),
        "id_field": work.id_field,
        "compiled": encoder.compiled,
        "vector_bytes": batch_size * encoder.dim * 4,
    }
    pool: list[_Worker] = []
    try:
        for _ in range(jobs):
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


def encode_in_workers(
    batches: Iterable[Batch], work: BatchEncoder, pool: list[_Worker], batch_size: int
) -> Iterator[Encoded]:
    """Encode ``batches`` in the worker processes of ``pool``; results in input order.

    An :class:`Encoded`'s vectors live in shared memory until the next result is asked for.
    """
    dim = work.encoder.dim
    jobs = len(pool)
    pending: deque[tuple[Batch, int, int]] = deque()  # batch, worker, slot
    finished = False
    try:
        for count, batch in enumerate(batches):
            index, slot = count % jobs, (count // jobs) % _SLOTS
            pool[index].submit(slot, batch)
            pending.append((batch, index, slot))
            if len(pending) == jobs * _SLOTS:
                yield _collect(pending.popleft(), pool, work, dim)
        while pending:
            yield _collect(pending.popleft(), pool, work, dim)
        finished = True
    finally:
        for process in pool:
            process.stop(now=not finished)


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
        (batch.source(index), batch.linenos[index], reason, batch.raws[index])
        for index, reason in invalid
    ]
    return Encoded(ids, pool[worker].vectors(slot, rows, dim), texts, rejected, crc)


# -- the worker's side --------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Be killed when the main process dies (Linux), and stop now if it is gone already."""
    if sys.platform.startswith("linux"):
        import ctypes  # noqa: PLC0415

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        raise SystemExit(0)


def _serve(commands: IO[bytes], replies: IO[bytes]) -> None:
    """Encode the batches the main process sends, until its pipe closes."""
    from jsonvec.codebook import Codebook  # noqa: PLC0415
    from jsonvec.encoder import Encoder  # noqa: PLC0415
    from jsonvec.settings import Settings  # noqa: PLC0415

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
            slot, size, nbytes, count, bom, first = _receive(commands)
        except EOFError:
            return
        if slot not in maps or len(maps[slot]) != size:
            if slot in maps:
                maps[slot].close()
            maps[slot] = mmap.mmap(config["fds"][slot], size)
        try:
            reply = _encode(work, maps[slot], config["vector_bytes"], nbytes, count, bom, first)
        except Exception:
            import traceback  # noqa: PLC0415

            reply = ("error", traceback.format_exc())
        try:
            _send(replies, reply)
        except OSError:  # the main process is gone (it stopped the run): so are we
            return


def _encode(
    work: BatchEncoder,
    shared: mmap.mmap,
    vector_bytes: int,
    nbytes: int,
    count: int,
    bom: int,
    first: int,
) -> tuple[Any, ...]:
    """Encode the batch in ``shared`` into its vector area: the reply's fields."""
    raws = shared[vector_bytes : vector_bytes + nbytes].split(b"\n")[:count]
    batch = Batch(first=first, raws=raws, linenos=[0] * count, runs=[(0, "")], bom=bom)
    dim = work.encoder.dim
    out = np.frombuffer(shared, dtype=np.float32, count=count * dim).reshape(count, dim)
    encoded = work(batch, out)
    rows = len(encoded.ids)
    crc = zlib.crc32(out[:rows].data) if rows else 0
    reasons = [reason for _, _, reason, _ in encoded.invalid]
    return ("ok", rows, encoded.ids, list(zip(encoded.invalid_rows, reasons, strict=True)), crc)


def main() -> None:
    """``python -m jsonvec.workers PARENT_PID``: a worker, talking on its stdin and stdout."""
    _die_with_parent(int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # records are trees, freed by reference counting (see jsonvec.pipeline)
    _serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
