"""What the main process and a worker share: slots of shared memory (a batch in, its vectors
out) and pickled messages on a pipe, each preceded by its length."""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import tempfile
from typing import IO, Any

SLOTS = 4  # batches in flight per worker


def shared_file() -> int:
    """A file descriptor of a new file in memory, to map in two processes."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("jsonvec-batch", 0)
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    handle = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - kept open by its fd
    fd = os.dup(handle.fileno())
    handle.close()
    return fd


def send(stream: IO[bytes], message: Any) -> None:
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


def receive(stream: IO[bytes]) -> Any:
    size = int.from_bytes(_read_exactly(stream, 4), "little")
    return pickle.loads(_read_exactly(stream, size))


class Slot:
    """Shared memory for one batch: the vectors first, then the batch's lines."""

    def __init__(self, vector_bytes: int) -> None:
        self.fd = shared_file()
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
