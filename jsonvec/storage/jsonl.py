"""The JSON Lines vector output: one ``{"id", "vector", "codebook", "encoding"}`` object a
line, to stdout or to a file renamed into place on commit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec._utils.atomic import AtomicFile
from jsonvec.storage.layout import ID_COLUMN, VECTOR_COLUMN
from jsonvec.storage.sink import Ids, write_error
from jsonvec.storage.stdout import StdoutWriter
from jsonvec.version import ENCODING


def _jsonl(ids: Ids, vectors: NDArray[np.float32], codebook: str) -> bytes:
    return b"".join(
        orjson.dumps(
            {ID_COLUMN: i, VECTOR_COLUMN: v, "codebook": codebook, "encoding": ENCODING},
            option=orjson.OPT_SERIALIZE_NUMPY,
        )
        + b"\n"
        for i, v in zip(ids, vectors, strict=True)
    )


class JsonlSink:
    """Streams JSON Lines to stdout (:class:`~jsonvec.storage.stdout.StdoutWriter`): each batch
    is written in full before the next, and nothing can be taken back on abort.

    A reader that went away is a :class:`~jsonvec.errors.PipeClosedError` (it counts the
    lines written), any other failure to write an :class:`~jsonvec.errors.OutputError`.
    """

    def __init__(self, out: StdoutWriter, codebook: str) -> None:
        self.out = out
        self.codebook = codebook

    def write(
        self,
        ids: Ids,
        vectors: NDArray[np.float32],
        records: Sequence[str] | None = None,
        crc: int | None = None,
    ) -> None:
        self._put(_jsonl(ids, vectors, self.codebook))

    def _put(self, data: bytes) -> None:
        self.out.write(data)

    def commit(self) -> None:
        """Every line is written already."""

    def abort(self) -> None:
        """What was written stays written."""


class AtomicJsonlSink(JsonlSink):
    """JSON Lines into a file, renamed into place on commit."""

    def __init__(self, path: str, codebook: str) -> None:
        self._file = AtomicFile(path)
        self.codebook = codebook

    def _put(self, data: bytes) -> None:
        try:
            self._file.file.write(data)
        except OSError as exc:
            raise write_error(self._file.path, exc) from exc

    def commit(self) -> None:
        self._file.commit()

    def abort(self) -> None:
        self._file.abort()
