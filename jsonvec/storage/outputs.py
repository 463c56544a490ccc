"""Vector outputs: which format a target names, the files it writes, and its sink (Parquet,
``.npy`` with sidecars, JSON Lines).

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

from pathlib import Path
from typing import Any, BinaryIO

from jsonvec.errors import OutputError
from jsonvec.storage.jsonl import AtomicJsonlSink, JsonlSink
from jsonvec.storage.layout import FORMATS, IdKind, sidecar_paths
from jsonvec.storage.npy import NpySink
from jsonvec.storage.sink import VectorSink
from jsonvec.storage.stdout import StdoutWriter


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
