"""The ``.npy`` vector output: rows streamed into ``NAME.npy`` (in the stored type the
metadata names, :mod:`jsonvec.storage.dtypes`), ids into ``NAME.npy.ids``, the metadata with
count and CRC-32 into ``NAME.npy.meta``, all renamed into place together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec._utils.atomic import AtomicFile
from jsonvec._utils.behind import Behind
from jsonvec.errors import OutputError
from jsonvec.storage.checksum import extend
from jsonvec.storage.dtypes import NUMPY, Dtype, dtype_named, pack
from jsonvec.storage.layout import sidecar_paths
from jsonvec.storage.sink import Ids, write_error

_NPY_HEADER = 128  # bytes reserved for the .npy header, rewritten with the final count


def npy_header(rows: int, dim: int, dtype: Dtype = "float32") -> bytes:
    """A version 1.0 ``.npy`` header of fixed length for a (rows, dim) array of ``dtype``."""
    descr = NUMPY[dtype].str
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {dim}), }}"
    body = text.encode("latin1").ljust(_NPY_HEADER - 10 - 1) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body


class NpySink:
    """Streams rows into ``NAME.npy`` and ids into ``NAME.npy.ids``; writes ``NAME.npy.meta``.

    The three files are renamed into place together at commit, the array last.
    """

    def __init__(self, path: str, dim: int, metadata: dict[str, Any]) -> None:
        ids_path, meta_path = sidecar_paths(path)
        self.dim = dim
        self.rows = 0
        self.metadata = metadata
        self.dtype = dtype_named(metadata.get("dtype", "float32"))
        self.crc32 = 0  # of the array's data, stored in the metadata and checked when read
        self._array = AtomicFile(path)
        opened = [self._array]
        try:
            for extra in (ids_path, meta_path):
                opened.append(AtomicFile(extra))
        except OutputError:
            for handle in opened:
                handle.abort()
            raise
        _, self._ids, self._meta = opened
        self._files = (self._ids, self._meta, self._array)
        self._behind = Behind()
        try:
            self._guard(lambda: self._array.file.write(npy_header(0, dim, self.dtype)))
        except OutputError:
            self.abort()
            raise

    def _guard(self, action: Any) -> None:
        try:
            action()
        except OSError as exc:
            raise write_error(self._array.path, exc) from exc

    def write(
        self,
        ids: Ids,
        vectors: NDArray[np.float32],
        records: Sequence[str] | None = None,
        crc: int | None = None,
    ) -> None:
        data = pack(vectors, self.dtype)  # a copy: the caller reuses its own
        lines = b"".join(orjson.dumps(i) + b"\n" for i in ids)
        known = crc if self.dtype == "float32" else None  # the caller's is of float32 data
        self._behind.submit(lambda: self._write(data, lines, known))
        self.rows += len(ids)

    def _write(self, data: NDArray[Any], lines: bytes, crc: int | None) -> None:
        """Write one batch and add it to the checksum (in the writer thread, behind the
        encoding, in batch order)."""
        self.crc32 = extend(self.crc32, data.data, crc)
        self._guard(lambda: (self._array.file.write(data.data), self._ids.file.write(lines)))
        self._guard(self._array.sync_behind)

    def commit(self) -> None:
        def finish() -> None:
            meta = {**self.metadata, "count": self.rows, "crc32": self.crc32}
            self._array.file.seek(0)
            self._array.file.write(npy_header(self.rows, self.dim, self.dtype))
            self._meta.file.write(orjson.dumps(meta, option=orjson.OPT_INDENT_2) + b"\n")

        try:
            self._behind.finish()
            self._guard(finish)
            for handle in self._files:  # every file on disk before any is put in place
                handle.prepare()
            for handle in self._files:
                handle.commit()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self._behind.cancel()
        for handle in self._files:
            handle.abort()
