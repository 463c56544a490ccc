"""The exception hierarchy: every error jsonvec raises on purpose is a :class:`JsonvecError`.

The command line maps these to a one-line ``Error: ...`` message and exit status 1 (2 for a
:class:`UsageError`); anything else that escapes is a bug and keeps its traceback. Every
error survives pickling (errors raised in worker processes travel back to their caller).
"""

from __future__ import annotations


class JsonvecError(Exception):
    """Root of every error that jsonvec reports to a user."""


class CodebookError(JsonvecError):
    """A codebook file cannot be read, or a codebook parameter is invalid."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}" if source else problem)
        self.source = source
        self.problem = problem

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.source, self.problem))


class InvalidLineError(JsonvecError):
    """One line of JSON Lines input is not a record jsonvec can encode.

    Carries the input's name, the 1-based line number and the raw bytes of the line, so a
    caller can report it as ``FILE:LINE: reason`` or copy the line to a rejects file.
    """

    def __init__(self, source: str, lineno: int, reason: str, line: bytes = b"") -> None:
        super().__init__(f"{source}:{lineno}: {reason}")
        self.source = source
        self.lineno = lineno
        self.reason = reason
        self.line = line

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.source, self.lineno, self.reason, self.line))


class InputError(JsonvecError):
    """An input cannot be opened or read (missing file, truncated gzip, I/O error)."""


class EncodeError(JsonvecError):
    """A JSON value cannot be encoded (for example a number jsonvec cannot represent)."""


class OutputError(JsonvecError):
    """An output cannot be written (unknown format, full disk, permission denied)."""


class PipeClosedError(OutputError):
    """stdout was closed by its reader (``| head``): the lines already written stay written.

    ``lines`` counts the complete lines written before it closed. The command line ends with
    status 141, as a program killed by SIGPIPE does, and prints nothing.
    """

    def __init__(self, name: str = "stdout", lines: int = 0) -> None:
        noun = "line" if lines == 1 else "lines"
        super().__init__(f"{name} was closed by its reader after {lines:,} complete {noun}")
        self.name = name
        self.lines = lines

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.name, self.lines))


class UsageError(JsonvecError):
    """A request that cannot be carried out as given, such as an output that is also an input.

    The command line reports it like a bad option: exit status 2.
    """


class ArgumentError(UsageError, TypeError, ValueError):
    """An argument of a Python call of the wrong type or value (a path given as a number, a
    codebook as a string). Also a ``TypeError`` and a ``ValueError``, as Python's own
    functions raise for such arguments."""


class TooManyInvalidError(JsonvecError):
    """A skipping run met more invalid lines than it was allowed."""


# -- reading and writing vectors


class VectorsError(JsonvecError):
    """A vectors file is missing, unreadable, damaged or inconsistent with the others."""


class NotFoundError(JsonvecError):
    """An id is not in the collection."""


class AmbiguousIdError(JsonvecError):
    """An id is held by more than one record, so it cannot pick one."""


# -- paths and queries


class PathError(JsonvecError):
    """A path string is malformed."""


class MissingPathError(JsonvecError):
    """A path does not exist in a value."""


class WhereError(JsonvecError):
    """A --where condition that cannot be read."""


class ProbeError(JsonvecError):
    """A path that cannot be read back from record vectors."""


class SearchError(JsonvecError):
    """A query does not fit the vectors (wrong dimension)."""


class CodebookMismatchError(JsonvecError):
    """The query codebook is not the one the vectors were encoded with."""


# -- indexes and clusters


class AnnIndexError(JsonvecError):
    """An ANN index is missing, damaged, stale, or the extra is not installed."""


class ClusterError(JsonvecError):
    """The Dask cluster cannot be reached or used."""
