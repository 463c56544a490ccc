"""The worker's side: a process that builds its encoder once, then encodes the batches the
main process puts in its slots until its pipe closes; forked (Linux) or a fresh interpreter
(``python -m jsonvec.run.workers.child PARENT_PID``)."""

from __future__ import annotations

import contextlib
import functools
import gc
import mmap
import os
import signal
import sys
import traceback
import zlib
from typing import IO, Any, NoReturn

import numpy as np

from jsonvec.records.batches import Batch
from jsonvec.run.batches import BatchEncoder
from jsonvec.run.workers.channel import receive, send

_PR_SET_PDEATHSIG = 1


@functools.cache
def prctl() -> Any:
    """Linux's ``prctl``, found before any fork (the child then needs no loader lock)."""
    import ctypes  # noqa: PLC0415

    try:
        return ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent(parent: int) -> None:
    """Be killed when the main process dies (Linux), and stop now if it is gone already."""
    if sys.platform.startswith("linux") and prctl() is not None:
        with contextlib.suppress(OSError):
            prctl()(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        raise SystemExit(0)


def serve(commands: IO[bytes], replies: IO[bytes], config: dict[str, Any] | None = None) -> None:
    """Encode the batches the main process sends, until its pipe closes (``config`` is the
    run's settings, read from the pipe first if not given)."""
    from jsonvec.codebook.codebook import Codebook  # noqa: PLC0415
    from jsonvec.codebook.settings import Settings  # noqa: PLC0415
    from jsonvec.encoding.encoder import Encoder  # noqa: PLC0415

    if config is None:
        try:
            config = receive(commands)
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
            slot, size, nbytes, count, first = receive(commands)
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
            send(replies, reply)
        except OSError:  # the main process is gone (it stopped the run): so are we
            return


def forked_worker(parent: int, config: dict[str, Any], commands: int, replies: int) -> NoReturn:
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
            serve(stream, answers, config)
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
    """``python -m jsonvec.run.workers.child PARENT_PID``: a worker on its stdin and stdout."""
    _die_with_parent(int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # records are trees, freed by reference counting (see jsonvec.run.stream)
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
