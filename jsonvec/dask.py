"""jsonvec on Dask: encode records where they are, with the same bits as one machine.

Install with ``pip install 'jsonvec[dask]'`` (dask and distributed). Every worker process
builds one encoder per codebook and keeps it (:func:`_encoder`), so a worker encodes its
partitions as ``jsonvec encode`` does in one process; the codebook travels to the workers once
per computation, as one shared task, not once per partition. Vectors are bit-identical to
:meth:`jsonvec.Encoder.encode_batch` for any partitioning and any number of workers (every
coordinate is an exact sum; docs/method.md, "Reproducibility contract").

This module is the library side; ``jsonvec encode --engine dask`` builds on it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec.atomic import AtomicFile
from jsonvec.batches import BatchEncoder
from jsonvec.codebook import Codebook, default_codebook
from jsonvec.encoder import Encoder
from jsonvec.errors import InputError, InvalidLineError, JsonvecError, OutputError
from jsonvec.parquet_sink import ParquetSink
from jsonvec.pipeline import vectors_metadata
from jsonvec.reader import BOM, Batch, Line, display_name
from jsonvec.settings import Settings
from jsonvec.writers import MANIFEST, IdKind

if TYPE_CHECKING:  # dask is an optional extra
    import dask.array
    import dask.bag

BATCH = 1024  # records encoded and written together within a partition (a row group)
_ENCODERS: dict[bytes, Encoder] = {}


class ClusterError(JsonvecError):
    """The Dask cluster cannot be reached or used."""


_LOCK = threading.Lock()


def _encoder(params: dict[str, Any]) -> Encoder:
    """This process's encoder for the codebook of ``params`` (one per worker process, kept).

    Codebooks travel as their parameters (plain JSON data: a few hundred bytes, and nothing
    that cannot be pickled), and each worker rebuilds the codebook once.
    """
    key = orjson.dumps(params, option=orjson.OPT_SORT_KEYS)
    with _LOCK:
        found = _ENCODERS.get(key)
        if found is None:
            book = Codebook(
                dim=params["dim"],
                seed=params["seed"],
                settings=Settings.from_dict(params.get("settings", {})),
                family=params["family"],
            )
            found = _ENCODERS[key] = Encoder(book)
        return found


def encode_partition(records: Sequence[Any], params: dict[str, Any]) -> NDArray[np.float32]:
    """The vectors of one partition's records: shape (len(records), dim), float32.

    ``params`` are the codebook's (:meth:`jsonvec.Codebook.params`).
    """
    encoder = _encoder(params)
    if not records:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return encoder.encode_batch(list(records))


def encode_bag(bag: dask.bag.Bag, codebook: Codebook | None = None) -> dask.array.Array:
    """The vectors of a bag of JSON records, one block of rows per partition.

    Parameters
    ----------
    bag : dask.bag.Bag of JSON values (dicts, lists, strings, numbers, ...)
    codebook : Codebook, optional (default: the built-in one)

    Returns
    -------
    dask.array.Array of shape (n_records, dim), float32, chunked by partition (row counts
    unknown until computed, as for any bag).

    Example (tested in tests/test_dask.py)::

        bag = dask.bag.read_text("logs/*.jsonl").map(orjson.loads)
        vectors = jsonvec.dask.encode_bag(bag).compute()
    """
    delayed: Any = importlib.import_module("dask.delayed").delayed  # the extra, untyped
    da: Any = importlib.import_module("dask.array")
    book = codebook or default_codebook()
    shared = delayed(book.params(), pure=True)  # one task for the codebook, shared by all
    parts: Any = bag.to_delayed()  # type: ignore[no-untyped-call]
    blocks = [
        da.from_delayed(
            delayed(encode_partition, pure=True)(part, shared),
            shape=(np.nan, book.dim),
            dtype=np.float32,
        )
        for part in parts
    ]
    if not blocks:
        empty: dask.array.Array = da.zeros((0, book.dim), dtype=np.float32)
        return empty
    joined: dask.array.Array = da.concatenate(blocks, axis=0, allow_unknown_chunksizes=True)
    return joined


# -- files to a folder of Parquet parts ----------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """One partition: a byte range of one input, cut on line boundaries."""

    index: int  # the partition's place among all
    source: str  # the input's name, for messages
    first_block: bool  # the input's first range (its line 1 may start with a BOM)


def _lines(block: bytes) -> list[bytes]:
    """The lines of a byte range, each with its ``\\n`` (the last one may lack it)."""
    lines = block.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _count(block: bytes, info: _Block) -> tuple[int, int]:
    """(lines, non-blank lines) of a range: the first pass, for line numbers and ids."""
    lines = _lines(block)
    blank = sum(
        1
        for n, raw in enumerate(lines, start=1)
        if Line(info.source, n if info.first_block else 2, raw).is_blank
    )
    return len(lines), len(lines) - blank


def _batches(block: bytes, info: _Block, first_line: int, first_id: int) -> Iterator[Batch]:
    """The range's non-blank lines, ``BATCH`` at a time (or ``reader.BATCH_BYTES`` of them),
    numbered as one machine numbers them."""
    batch = Batch(first=first_id)
    batch.start(info.source)
    for offset, raw in enumerate(_lines(block)):
        line = Line(info.source, first_line + offset, raw)
        if line.is_blank:
            continue
        if info.first_block and line.lineno == 1 and raw.startswith(BOM):
            batch.bom = len(batch.raws)
        batch.raws.append(raw)
        batch.linenos.append(line.lineno)
        batch.nbytes += len(raw)
        if batch.full(BATCH):
            yield batch
            batch = Batch(first=batch.first + len(batch.raws))
            batch.start(info.source)
    if len(batch):
        yield batch


def _encode_block(
    block: bytes,
    info: _Block,
    first_line: int,
    first_id: int,
    params: dict[str, Any],
    settings: dict[str, Any],
    folder: str,
) -> tuple[str, int, tuple[str, int, str, bytes] | None]:
    """Encode one range into the Parquet part ``folder/part-NNNNN.parquet``: (name, rows,
    None), or ("", 0, its first invalid line) and no part. A batch of vectors at a time is
    in memory, whatever the size of the range (a 64 MB range of small records holds
    millions of them: 4 KB of vectors each)."""
    encoder = _encoder(params)
    name = f"part-{info.index:05d}.parquet"
    id_kind: IdKind = "int" if settings["id_field"] is None else "string"
    sink = ParquetSink(
        str(Path(folder) / name),
        encoder.dim,
        vectors_metadata(encoder, id_kind),
        id_kind,
        settings["keep_records"],
    )
    work = BatchEncoder(encoder, settings["id_field"], settings["keep_records"])
    out = np.empty((BATCH, encoder.dim), dtype=np.float32)
    rows = 0
    try:
        for batch in _batches(block, info, first_line, first_id):
            if len(batch) > len(out):
                out = np.empty((len(batch), encoder.dim), dtype=np.float32)
            encoded = work(batch, out)
            if encoded.invalid:  # reported by the client, in input order, as one machine
                sink.abort()
                return "", 0, encoded.invalid[0]
            sink.write(encoded.ids, encoded.vectors, encoded.texts)
            rows += len(encoded.ids)
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    return name, rows, None


def encode_files(
    paths: Sequence[str],
    out_dir: str,
    codebook: Codebook | None = None,
    *,
    id_field: str | None = None,
    keep_records: bool = False,
    partition_size: int = 64 << 20,
    client: Any = None,
) -> dict[str, Any]:
    """Encode JSON Lines files into a folder of Parquet parts on a Dask cluster.

    Inputs are cut into byte ranges of about ``partition_size`` on line boundaries (gzip
    inputs cannot be cut: one partition each); a first pass counts each range's lines, so
    ids and line numbers are those of a one-machine run (positions among the non-blank lines
    of all inputs, without ``id_field``). Each range becomes one part, written under a hidden
    folder; the parts are moved into ``out_dir`` and the manifest ``_jsonvec_manifest.json``
    listing them is written last, so a failed run leaves nothing that readers use. An
    invalid line fails the run with ``FILE:LINE: reason``.

    Returns the manifest (parts, records). ``client``: a ``distributed.Client`` (default:
    the current one, or Dask's default scheduler).
    """
    delayed: Any = importlib.import_module("dask.delayed").delayed
    dask_bytes: Any = importlib.import_module("dask.bytes")
    book = codebook or default_codebook()
    _check_inputs(paths)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if (out / MANIFEST).exists():
        raise OutputError(f"{out}: holds a run already (its {MANIFEST}); give an empty folder")
    staging = Path(tempfile.mkdtemp(prefix=".jsonvec-run-", dir=out))
    try:
        blocks: list[Any] = []
        infos: list[_Block] = []
        for path in paths:
            gzipped = _is_gzip(path)
            _, found = dask_bytes.read_bytes(
                path,
                delimiter=b"\n",
                blocksize=None if gzipped else partition_size,
                sample=False,
                compression="gzip" if gzipped else None,
            )
            for position, block in enumerate(found[0]):
                infos.append(_Block(len(infos), display_name(path), position == 0))
                blocks.append(block)
        counting = [delayed(_count, pure=True)(b, i) for b, i in zip(blocks, infos, strict=True)]
        counts = _run(client, counting)
        first_lines, first_ids = _offsets(infos, counts)
        shared = delayed(book.params(), pure=True)
        settings = {"id_field": id_field, "keep_records": keep_records}
        tasks = [
            delayed(_encode_block, pure=True)(
                block, info, first_lines[i], first_ids[i], shared, settings, str(staging)
            )
            for i, (block, info) in enumerate(zip(blocks, infos, strict=True))
        ]
        parts = _run(client, tasks)
        for _, _, invalid in parts:
            if invalid is not None:
                raise InvalidLineError(*invalid)
        for name, _, _ in parts:
            os.replace(staging / name, out / name)
        manifest = {
            "format": 1,
            "parts": [name for name, _, _ in parts],
            "rows": [rows for _, rows, _ in parts],
            "records": sum(rows for _, rows, _ in parts),
            "codebook": book.fingerprint,
        }
        with AtomicFile(out / MANIFEST) as handle:
            handle.file.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_inputs(paths: Sequence[str]) -> None:
    """Local inputs must be files (before a folder or a cluster is touched)."""
    for path in paths:
        if "://" not in path and not Path(path).is_file():
            reason = "is a folder" if Path(path).is_dir() else "No such file or directory"
            raise InputError(f"{path}: cannot read: {reason}")


def _offsets(
    infos: Sequence[_Block], counts: Sequence[tuple[int, int]]
) -> tuple[list[int], list[int]]:
    """Each range's first line number (in its input) and first positional id (in the run)."""
    first_lines, first_ids, line, position = [], [], 1, 0
    for info, (lines, records) in zip(infos, counts, strict=True):
        if info.first_block:
            line = 1
        first_lines.append(line)
        first_ids.append(position)
        line += lines
        position += records
    return first_lines, first_ids


def _run(client: Any, tasks: list[Any]) -> list[Any]:
    """Compute ``tasks`` on ``client``, or on Dask's current scheduler when it is None."""
    if client is not None:
        return list(client.compute(tasks, sync=True))
    return list(importlib.import_module("dask").compute(*tasks))


def _is_gzip(path: str) -> bool:
    if "://" in path:  # another file system: by name
        return path.endswith(".gz")
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def encode_on_cluster(
    paths: Sequence[str],
    out_dir: str,
    codebook: Codebook | None = None,
    *,
    id_field: str | None = None,
    keep_records: bool = False,
    partition_size: int = 64 << 20,
    scheduler: str | None = None,
    connect_timeout: str = "20s",
) -> dict[str, Any]:
    """:func:`encode_files` on the cluster at ``scheduler`` (``tcp://host:8786``), or on a
    ``distributed.LocalCluster`` of this machine's cores (one single-threaded worker process
    per core, loopback only) that is started for the run and closed after it, however the
    run ends."""
    _check_inputs(paths)  # before a cluster is started or reached
    distributed: Any = importlib.import_module("distributed")

    def run(client: Any) -> dict[str, Any]:
        return encode_files(
            paths, out_dir, codebook, id_field=id_field, keep_records=keep_records,
            partition_size=partition_size, client=client,
        )  # fmt: skip

    if scheduler is not None:
        try:
            connected = distributed.Client(scheduler, timeout=connect_timeout)
        except (OSError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        with connected as client:
            return run(client)
    cluster = distributed.LocalCluster(
        n_workers=os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    with cluster, distributed.Client(cluster) as client:
        return run(client)
