"""Vector outputs: Parquet, ``.npy`` with sidecars, and JSON Lines.

Every file output is written atomically (:mod:`jsonvec._utils.atomic`): until
:meth:`VectorSink.commit` nothing appears at the target, and :meth:`VectorSink.abort` leaves the
previous file intact.

Layouts (read by other tools):

- ``.parquet``: column ``id`` (int64 positions, or strings from ``--id-field``) and column
  ``vector`` as ``fixed_size_list<float32>[dim]``, one row group per batch; the schema
  metadata key ``jsonvec`` holds JSON with the codebook fingerprint, the encoding rules
  (``version.ENCODING``), dim and jsonvec version;
  the file metadata key ``jsonvec.crc32`` the CRC-32 of the vectors' float32 data in row
  order (the same sum as for ``.npy``), written last.
- ``.npy``: float32 C-order array (n, dim), memory-mappable; ``NAME.npy.ids`` holds one id
  per line as JSON, row-aligned; ``NAME.npy.meta`` holds the same metadata as Parquet (JSON)
  plus the count and a CRC-32 of the array's data. The sidecars' names end in no JSON suffix,
  so a glob over JSON inputs (``*.jsonl``, ``*.json``) never feeds them back into a run;
  files written by jsonvec 0.2 (``NAME.ids.jsonl``, ``NAME.meta.json``) are still read.
- ``.jsonl`` or ``-`` (stdout): one ``{"id": ..., "vector": [...], "codebook": FINGERPRINT,
  "encoding": 3}`` per line (the fingerprint on every line, so that lines of several runs
  cannot be mixed unnoticed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec._utils.atomic import AtomicFile
from jsonvec._utils.behind import Behind
from jsonvec.errors import OutputError
from jsonvec.storage.checksum import extend
from jsonvec.storage.layout import FORMATS, ID_COLUMN, VECTOR_COLUMN, IdKind, sidecar_paths
from jsonvec.storage.stdout import StdoutWriter
from jsonvec.version import ENCODING

Ids = Sequence[int] | Sequence[str]
_NPY_HEADER = 128  # bytes reserved for the .npy header, rewritten with the final count


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


def output_format(target: str) -> str:
    """``"-"`` or the suffix that selects the writer; :class:`OutputError` if unknown."""
    if target == "-":
        return "-"
    suffix = Path(target).suffix.lower()
    if suffix not in FORMATS:
        raise OutputError(
            f"{target}: cannot tell the output format; use a name ending in "
            f"{', '.join(FORMATS)}, or - for stdout"
        )
    return suffix


def written_files(target: str) -> list[tuple[str, str]]:
    """``(role, path)`` of every file a run writes for ``target`` (``-``: stdout)."""
    if output_format(target) != ".npy":
        return [("output", target)]
    ids_path, meta_path = sidecar_paths(target)
    return [("output", target), ("ids file", str(ids_path)), ("metadata file", str(meta_path))]


def open_sink(
    target: str,
    dim: int,
    metadata: dict[str, Any],
    id_kind: IdKind,
    stdout: BinaryIO | StdoutWriter | None = None,
    keep_records: bool = False,
) -> VectorSink:
    """The sink for ``target`` (chosen by suffix; ``-`` is ``stdout``, by default this
    process's).

    ``keep_records`` adds a ``record`` column with each record's JSON text (Parquet only).
    """
    fmt = output_format(target)
    if keep_records and fmt != ".parquet":
        raise OutputError(f"{target}: only a .parquet output can keep the records")
    if fmt == "-":
        out = stdout if isinstance(stdout, StdoutWriter) else StdoutWriter(stdout)
        return JsonlSink(out, metadata["codebook"])
    if fmt == ".parquet":
        from jsonvec.storage.parquet.sink import ParquetSink  # noqa: PLC0415 - pyarrow when needed

        return ParquetSink(target, dim, metadata, id_kind, keep_records)
    if fmt == ".npy":
        return NpySink(target, dim, metadata)
    return AtomicJsonlSink(target, metadata["codebook"])


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


def npy_header(rows: int, dim: int) -> bytes:
    """A version 1.0 ``.npy`` header of fixed length for a float32 (rows, dim) array."""
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}"
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
            self._guard(lambda: self._array.file.write(npy_header(0, dim)))
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
        data = np.array(vectors, dtype="<f4")  # a copy: the caller reuses its own
        lines = b"".join(orjson.dumps(i) + b"\n" for i in ids)
        self._behind.submit(lambda: self._write(data, lines, crc))
        self.rows += len(ids)

    def _write(self, data: NDArray[np.float32], lines: bytes, crc: int | None) -> None:
        """Write one batch and add it to the checksum (in the writer thread, behind the
        encoding, in batch order)."""
        self.crc32 = extend(self.crc32, data.data, crc)
        self._guard(lambda: (self._array.file.write(data.data), self._ids.file.write(lines)))
        self._guard(self._array.sync_behind)

    def commit(self) -> None:
        def finish() -> None:
            meta = {**self.metadata, "count": self.rows, "crc32": self.crc32}
            self._array.file.seek(0)
            self._array.file.write(npy_header(self.rows, self.dim))
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
    """Streams JSON Lines to stdout (:class:`~jsonvec.storage.stdout.StdoutWriter`): each batch is
    written in full before the next, and nothing can be taken back on abort.

    A reader that went away is a :class:`~jsonvec.errors.PipeClosedError` (it counts the
    lines written), any other failure to write an :class:`OutputError`.
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
        self.out.write(_jsonl(ids, vectors, self.codebook))

    def commit(self) -> None:
        """Every line is written already."""

    def abort(self) -> None:
        """What was written stays written."""


class AtomicJsonlSink:
    """JSON Lines into a file, renamed into place on commit."""

    def __init__(self, path: str, codebook: str) -> None:
        self._file = AtomicFile(path)
        self.codebook = codebook

    def write(
        self,
        ids: Ids,
        vectors: NDArray[np.float32],
        records: Sequence[str] | None = None,
        crc: int | None = None,
    ) -> None:
        try:
            self._file.file.write(_jsonl(ids, vectors, self.codebook))
        except OSError as exc:
            raise write_error(self._file.path, exc) from exc

    def commit(self) -> None:
        self._file.commit()

    def abort(self) -> None:
        self._file.abort()
