"""What every vector output is: a sink written batch by batch, then committed or aborted;
and a failed write in one line, in the system's words."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from jsonvec.errors import OutputError

Ids = Sequence[int] | Sequence[str]


class VectorSink(Protocol):
    """Where encoded vectors go, batch by batch."""

    def write(
        self,
        ids: Ids,
        vectors: NDArray[np.float32],
        records: Sequence[str] | None = None,
        crc: int | None = None,
    ) -> None:
        """Append rows: ``vectors`` is (n, dim) float32; ``ids`` and ``records`` have n entries.

        ``records`` (the original JSON texts) are kept only by sinks that store them; ``crc``
        is the CRC-32 of ``vectors``' data when the caller has it (a worker computed it).
        """

    def commit(self) -> None:
        """Finish the output and make it visible."""

    def abort(self) -> None:
        """Drop everything written; the target keeps its previous content."""


def write_error(target: object, exc: OSError) -> OutputError:
    return OutputError(f"{target}: cannot write: {failure_reason(exc)}")


_ERRNO = re.compile(r"\[errno (\d+)\]")


def failure_reason(exc: BaseException) -> str:
    """Why a write failed, in the system's words (Arrow's messages carry an errno)."""
    found = _ERRNO.search(str(exc))
    if found:
        return os.strerror(int(found.group(1)))
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
