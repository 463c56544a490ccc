"""The one writer of stdout: every write is complete, or an error that says how far it got.

A pipe may take only part of a write: ``write(2)`` to a pipe whose reader leaves returns the
bytes it took, and Python's unbuffered stdout (``PYTHONUNBUFFERED=1``, ``python -u``, common
in containers) hands that count back without a word, so a run could end well with most of its
output lost. Here a write is repeated until every byte is taken. A reader that went away is a
:class:`~jsonvec.errors.PipeClosedError` carrying the number of complete lines written (the
command line ends with status 141 and no message, as ``cat`` does, and ``encode --summary``
counts those lines as the records written); any other failure (a full disk under ``>
file``) is an :class:`~jsonvec.errors.OutputError`. Every command writes stdout through it.
"""

from __future__ import annotations

import errno
import select
import sys
from typing import Any, BinaryIO

from jsonvec.errors import OutputError, PipeClosedError


class StdoutWriter:
    """Writes bytes to ``stream`` (default: this process's stdout, looked up at each write)
    in full, counting the complete lines written.

    Examples
    --------
    >>> import io
    >>> out = io.BytesIO()
    >>> writer = StdoutWriter(out)
    >>> writer.write(b'{"a": 1}\\n{"a": 2}\\n')
    >>> writer.lines, out.getvalue().count(b"\\n")
    (2, 2)
    """

    def __init__(self, stream: BinaryIO | None = None, name: str = "stdout") -> None:
        self._stream = stream
        self.name = name
        self.lines = 0  # complete lines written
        self.bytes = 0

    def write(self, data: bytes) -> None:
        """Write all of ``data``, or raise with :attr:`lines` counting what was written."""
        target = self._target()
        view = memoryview(data)
        done = 0
        try:
            while done < len(view):
                taken = target.write(view[done:])
                if taken is None:  # a non-blocking stream that is full: wait until it is not
                    _wait_writable(target)
                    continue
                done += taken
        except OSError as exc:
            self._count(bytes(view[:done]))
            raise self._failure(exc) from exc
        self._count(data)

    def write_lines(self, lines: list[str] | list[bytes]) -> None:
        """Write each of ``lines`` followed by a newline, in one write."""
        encoded = [line.encode() if isinstance(line, str) else line for line in lines]
        self.write(b"".join(line + b"\n" for line in encoded))

    def _count(self, written: bytes) -> None:
        self.lines += written.count(b"\n")
        self.bytes += len(written)

    def _target(self) -> Any:
        """What to write to: the unbuffered file under a buffered stream (a buffer would take
        bytes it may never deliver), after what the buffers above it hold."""
        stream: Any = self._stream
        try:
            if stream is None:
                if sys.stdout is None:
                    raise OutputError(f"{self.name}: there is no stdout")
                sys.stdout.flush()
                stream = sys.stdout.buffer
            raw = getattr(stream, "raw", None)
            if raw is None:
                return stream
            stream.flush()
        except OSError as exc:
            raise self._failure(exc) from exc
        return raw

    def _failure(self, exc: OSError) -> OutputError:
        """A reader that went away, or any other failure to write, in jsonvec's words."""
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            return PipeClosedError(self.name, self.lines)
        return OutputError(f"{self.name}: cannot write: {exc.strerror or exc}")


def _wait_writable(stream: Any) -> None:
    try:
        select.select([], [stream.fileno()], [])
    except (AttributeError, ValueError, OSError) as exc:
        raise OutputError("stdout: cannot write: the stream would block") from exc
