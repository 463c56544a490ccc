"""JSON Lines files to a folder of Parquet parts on a Dask cluster, committed by a manifest.

Each input range (:mod:`jsonvec.dask.ranges`) is encoded by one task into one part, a batch
of records at a time. When every task is done the client checks the bad lines as one
machine would (the first one fails the run; with ``skip_invalid`` they are counted over the
whole run against ``max_invalid`` and copied to ``rejects`` in input order), and commits:
the manifest listing the parts is written last (:mod:`jsonvec.dask.output`), so a run that
fails at any point leaves nothing that readers use.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from jsonvec._utils.atomic import AtomicFile
from jsonvec._utils.interrupts import check_interrupted
from jsonvec.codebook.codebook import Codebook, default_codebook
from jsonvec.dask import existing as ids
from jsonvec.dask.cluster import run_tasks
from jsonvec.dask.output import Output, file_system, is_url, open_file
from jsonvec.dask.ranges import Range, Start, batches, count, cut, starts
from jsonvec.dask.records import worker_encoder
from jsonvec.errors import (
    InvalidLineError,
    OutputError,
    UsageError,
    VectorsError,
)
from jsonvec.records.reader import check_files, expand_inputs
from jsonvec.run.batches import BatchEncoder, Invalid
from jsonvec.run.encode_file import appending_kind, vectors_metadata
from jsonvec.run.options import EncodeOptions, EncodeSummary
from jsonvec.run.stream import collector_paused
from jsonvec.storage.appending import (
    AppendPlan,
    Kind,
    check_existing,
    check_joinable,
    next_position,
)
from jsonvec.storage.dtypes import Dtype
from jsonvec.storage.layout import MANIFEST, part_name, part_number
from jsonvec.storage.manifest import Manifest
from jsonvec.storage.parquet.reader import ParquetVectors
from jsonvec.storage.parquet.sink import ParquetSink
from jsonvec.storage.vector_files import reading

_NAMED = 5  # invalid lines named in a summary, as on one machine


@dataclass
class _Part:
    """What one task did: its part (None if it wrote none), rows, bad lines, left-outs."""

    name: str | None = None
    rows: int = 0
    invalid: int = 0
    first_invalid: list[Invalid] = field(default_factory=list)
    rejects: str | None = None
    existing: int = 0
    repeated: int = 0
    last_position: int = -1  # the largest positional id written


def _encode_range(
    info: Range,
    start: Start,
    target: str,
    params: dict[str, Any],
    options: EncodeOptions,
    staging: str,
    keep_rejects: bool,
    shuffle: ids.Shuffle | None,
) -> _Part:
    """Read one range and encode it into the part at ``target`` (a path, or a URL: written
    here, then uploaded), a batch of vectors at a time, whatever the size of the range (a 64
    MB range of small records holds millions of them: 4 KB of vectors each). Stops at the first
    invalid line unless ``options.skip_invalid``, and once more than ``options.max_invalid``
    were seen: the run fails then, whatever the others do.
    """
    left = ids.left_out(info.index, shuffle) if shuffle is not None else None
    done = _Part(target.rsplit("/", 1)[-1], existing=left.existing if left else 0,
                 repeated=left.repeated if left else 0)  # fmt: skip
    rejects_name = f"rejects-{info.index:06d}"
    with (
        _written_here(target) as local,
        _rejects(f"{staging}/{rejects_name}", keep_rejects) as rejects,
    ):
        block = info.read()
        with collector_paused():
            _encode_into(
                local, block, info, start, worker_encoder(params), options, left, done, rejects
            )
        if done.first_invalid and (not options.skip_invalid or options.too_many(done.invalid)):
            return done  # the client fails the run
        if done.rows == 0:
            Path(local).unlink()  # an empty part is left out of the manifest
            done.name = None
        elif local != target:
            fs, path = file_system(target)
            fs.put_file(local, path)
    if done.invalid and keep_rejects:
        done.rejects = rejects_name
    return done


def _encode_into(
    local: str, block: bytes, info: Range, start: Start, encoder: Any, options: EncodeOptions,
    left: ids.LeftOut | None, done: _Part, rejects: Any,
) -> None:  # fmt: skip
    """The body of :func:`_encode_range`: the part written at ``local`` and committed, or
    aborted at a bad line that fails the run."""
    sink = ParquetSink(local, encoder.dim, vectors_metadata(encoder, options),
                       options.id_kind, options.keep_records)  # fmt: skip
    work = BatchEncoder(encoder, options.id_field, options.keep_records)
    out = np.empty((options.batch_size, encoder.dim), dtype=np.float32)
    try:
        for batch in batches(block, info, start, options.batch_size):
            if len(batch) > len(out):
                out = np.empty((len(batch), encoder.dim), dtype=np.float32)
            encoded = work(batch, out)
            if encoded.invalid:
                done.invalid += len(encoded.invalid)
                room = _needed(options) - len(done.first_invalid)
                done.first_invalid.extend(encoded.invalid[: max(0, room)])
                if not options.skip_invalid or options.too_many(done.invalid):
                    sink.abort()
                    return
                if rejects is not None:  # a document's record ends without a newline
                    rejects.writelines(
                        raw if raw.endswith(b"\n") else raw + b"\n"
                        for _, _, _, raw in encoded.invalid
                    )
            written, vectors, texts = encoded.ids, encoded.vectors, encoded.texts
            if left is not None:  # leave out the records the id shuffle said to
                kept = _kept(batch.first - start.position, encoded.invalid_rows, len(batch), left)
                written, vectors = [written[i] for i in kept], vectors[kept]
                texts = None if texts is None else [texts[i] for i in kept]
            if written:
                sink.write(written, vectors, texts)
                done.rows += len(written)
                if options.id_field is None:
                    done.last_position = max(done.last_position, written[-1])
        sink.commit()
    except BaseException:
        sink.abort()
        raise


def _kept(offset: int, invalid_rows: list[int], size: int, left: ids.LeftOut) -> list[int]:
    """Indices among a batch's encoded records of those to write (all but the left-outs)."""
    bad = set(invalid_rows)
    valid = [row for row in range(size) if row not in bad]
    return [i for i, row in enumerate(valid) if offset + row not in left.rows]


@contextlib.contextmanager
def _written_here(target: str) -> Iterator[str]:
    """A path on this machine to write ``target`` at: itself, or for a URL a temporary
    file (removed after)."""
    if not is_url(target):
        yield target
        return
    folder = tempfile.mkdtemp(prefix="jsonvec-part-")
    try:
        yield str(Path(folder) / target.rsplit("/", 1)[-1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _rejects(where: str, keep: bool) -> Iterator[Any]:
    if not keep:
        yield None
        return
    with open_file(where, "wb") as handle:
        yield handle


@dataclass
class _Target:
    """The output folder before the run: its manifest (the parts readers use now, and what
    they share), whether it has one, and the first free part number."""

    manifest: Manifest
    listed: bool
    first_part: int


def _target(output: Output, book: Codebook, options: EncodeOptions) -> _Target:
    """Check the output folder: without vectors for a new run (parts a failed run left,
    which no manifest lists, do not count); for ``append``, vectors of this codebook with
    the same ids and columns."""
    numbers = {k: n for n in output.names() if (k := part_number(n)) is not None}
    try:
        found = output.manifest()
    except VectorsError as exc:
        raise OutputError(f"cannot add to {output.where}: {exc}") from exc
    if found is None and numbers and output.remote:
        raise OutputError(f"{output.where}: holds parts but no {MANIFEST}: not a jsonvec folder")
    manifest = found or (_unlisted(Path(output.where), sorted(numbers.values())))
    if manifest.parts and not options.append:
        raise OutputError(
            f"{output.where}: holds vectors already: add to them with --append, or give an "
            "empty folder"
        )
    wanted = appending_kind(book, options)
    if not manifest.parts:
        position = 0
    elif manifest.complete:
        listed = Kind(manifest.codebook, int(manifest.dim or 0), str(manifest.id_type),
                      bool(manifest.keep_records), manifest.dtype)  # fmt: skip
        check_joinable(output.where, listed, wanted)
        position = int(manifest.next_position or 0)
    elif output.remote:
        raise OutputError(f"cannot append to {output.where}: its {MANIFEST} is incomplete")
    else:
        plan = AppendPlan(output.where, None, [Path(output.path(p)) for p in manifest.parts])
        check_existing(plan, wanted)
        position = next_position(plan)
    manifest = replace(manifest, codebook=book.fingerprint, dim=book.dim,
                       id_type=options.id_kind, keep_records=options.keep_records,
                       dtype=options.dtype,
                       next_position=position)  # fmt: skip
    return _Target(manifest, found is not None, max(numbers, default=-1) + 1)


def _unlisted(folder: Path, parts: list[str]) -> Manifest:
    """A folder of parts written by ``encode --append`` on one machine (no manifest yet)."""
    rows = []
    for part in parts:
        with reading(folder / part):
            rows.append(ParquetVectors(folder / part).count)
    return Manifest(parts, rows)


def encode_files(
    paths: Sequence[str],
    out_dir: str,
    codebook: Codebook | None = None,
    *,
    id_field: str | None = None,
    keep_records: bool = False,
    skip_invalid: bool = False,
    max_invalid: int | None = None,
    rejects: str | None = None,
    append: bool = False,
    skip_existing: bool = False,
    dtype: Dtype = "float32",
    partition_size: int = 64 << 20,
    batch_size: int = 1024,
    client: Any = None,
    progress: bool = False,
    input_format: str | None = None,
) -> EncodeSummary:
    """Encode JSON Lines files into a folder of Parquet parts on a Dask cluster.

    Parameters
    ----------
    paths : JSON Lines files (gzip or not), local or any URL fsspec reads; files named
        ``*.json`` are JSON documents (one range each), unless ``input_format`` says.
    out_dir : the output folder: a path every worker and this process see, or a URL of an
        fsspec file system (``s3://bucket/vectors/``).
    codebook : Codebook, optional (default: the built-in one).
    id_field : path of each record's id; without it, ids are positions among the non-blank
        lines of all inputs, as on one machine (continuing the folder's ids with ``append``).
    keep_records : store each record's JSON text too.
    skip_invalid, max_invalid, rejects : bad lines as ``jsonvec encode`` treats them:
        without ``skip_invalid`` (implied by ``max_invalid``) the first invalid line, in input
        order, fails the run with :class:`InvalidLineError`; ``max_invalid`` counts over
        the whole run; ``rejects`` (a local file) receives the invalid lines in input order.
    append : add parts to ``out_dir`` (and a new manifest) instead of wanting it empty.
    skip_existing : with ``append`` and ``id_field``, leave out records whose id is in the
        folder already or came earlier in this run.
    dtype : the type the vectors are stored in: float32, float16 or int8.
    partition_size : at most this many bytes of input per partition and part, as many
        partitions as make whole rounds of the cluster's workers (a gzip input is one).
    batch_size : records encoded and written together (a row group of a part).
    client : a ``distributed.Client`` (default: Dask's current scheduler).
    progress : show Dask's progress bar on stderr (with a client).
    input_format : ``jsonl`` or ``json`` for every input; None chooses by name.

    Returns
    -------
    EncodeSummary (``output``: the folder, or None when an append found nothing new and
    wrote nothing).

    Inputs are cut into ranges on line boundaries; a first pass counts each range's lines,
    so ids and line numbers are those of a one-machine run. The manifest
    ``_jsonvec_manifest.json`` listing the parts is written last (:mod:`jsonvec.dask.output`):
    a failed run leaves nothing that readers use.

    Examples
    --------
    Without a client the run goes on Dask's current scheduler (here: threads).

    >>> import pathlib, tempfile, jsonvec
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "in.jsonl").write_text('{"id": "a"}\\n{"id": "b"}\\n')
    >>> encode_files([str(folder / "in.jsonl")], f"{folder}/out/", id_field="id").records
    2
    >>> jsonvec.load(folder / "out").ids
    ['a', 'b']
    """
    started = time.perf_counter()
    book = codebook or default_codebook()
    options = EncodeOptions(
        id_field=id_field, keep_records=keep_records,
        skip_invalid=skip_invalid, max_invalid=max_invalid,
        append=append, skip_existing=skip_existing, batch_size=batch_size, dtype=dtype,
    )  # fmt: skip
    if skip_existing and not (append and id_field is not None):
        raise UsageError("skip_existing needs append and id_field")
    paths = expand_inputs(paths)  # folders and globs as every command takes them
    check_files(paths)
    output = Output(out_dir)
    output.create()
    with output.lock():
        target = _target(output, book, options)
        with output.staging() as staging:
            run = _Run(client, progress, book, options, output, target, staging)
            summary = run.encode(paths, partition_size, rejects, input_format)
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class _Run:
    """One run's steps on the cluster, from the inputs' ranges to the commit."""

    client: Any
    progress: bool
    book: Codebook
    options: EncodeOptions
    output: Output
    target: _Target
    staging: str

    def tasks(self, *calls: Any) -> list[Any]:
        return run_tasks(self.client, self.progress, list(calls))

    def encode(
        self, paths: Sequence[str], partition_size: int, rejects: str | None, fmt: str | None
    ) -> EncodeSummary:
        delayed: Any = importlib.import_module("dask.delayed").delayed
        infos = cut(paths, partition_size, _workers(self.client), fmt)
        counts = self.tasks(*(delayed(count, pure=True)(info) for info in infos))
        first = self.target.manifest.next_position if self.options.id_field is None else 0
        begins = starts(infos, counts, int(first or 0))
        shared = delayed(self.book.params(), pure=True)
        shuffle = self.shuffle(delayed, infos, begins, counts, shared)
        names = [part_name(self.target.first_part + i) for i in range(len(infos))]
        if self.output.remote and not self.target.listed:
            self.output.put_manifest(self.target.manifest)  # before any part is uploaded
        try:
            parts: list[_Part] = self.tasks(*(
                delayed(_encode_range, pure=True)(
                    info, begins[i], self.output.part_target(names[i], self.staging),
                    shared, self.options, self.staging, rejects is not None, shuffle,
                )
                for i, info in enumerate(infos)
            ))  # fmt: skip
            summary = _summary(parts, self.options)
            summary.blank = sum(lines - records for lines, records in counts)
            if rejects is not None:
                _gather_rejects(rejects, self.staging, parts)
            written = [p for p in parts if p.name is not None]
            if self.options.append and not written:
                return summary  # nothing new: the folder stays as it was
            self.commit(written)
        except BaseException:
            if self.output.remote:
                self.output.discard(names)  # uploaded parts of a failed run
            raise
        summary.output = self.output.name
        return summary

    def shuffle(
        self, delayed: Any, infos: list[Range], begins: list[Start],
        counts: list[tuple[int, int]], shared: Any,
    ) -> ids.Shuffle | None:  # fmt: skip
        """The id shuffle of ``skip_existing`` (:mod:`jsonvec.dask.existing`), run."""
        if not self.options.skip_existing:
            return None
        manifest = self.target.manifest
        shuffle = ids.plan_shuffle(self.staging, manifest.records, counts)
        self.tasks(
            *(delayed(ids.old_ids, pure=True)(self.output.url(p), shuffle, i)
              for i, p in enumerate(manifest.parts)),
            *(delayed(ids.new_ids, pure=True)(i, s, self.options.id_field, shared, shuffle)
              for i, s in zip(infos, begins, strict=True)),
        )  # fmt: skip
        self.tasks(*(delayed(ids.decide, pure=True)(b, shuffle, len(manifest.parts), len(infos))
                     for b in range(shuffle.buckets)))  # fmt: skip
        return shuffle

    def commit(self, written: list[_Part]) -> None:
        """Bring the parts in and put the manifest that lists them (a folder without one
        gets one first, of the parts readers use now)."""
        check_interrupted()  # the last moment a run can stop without a trace
        manifest = self.target.manifest
        following = manifest.next_position
        if self.options.id_field is None:
            following = max([int(following or 0)] + [p.last_position + 1 for p in written])
        if not self.output.remote and not self.target.listed:
            self.output.put_manifest(manifest)
        names = [str(p.name) for p in written]
        self.output.commit(names, self.staging,
                           manifest.added(names, [p.rows for p in written], following))  # fmt: skip


def _workers(client: Any) -> int:
    """How many tasks the cluster runs at once (1 without a client)."""
    if client is None:
        return 1
    return max(1, int(sum(client.nthreads().values())))


def _summary(parts: list[_Part], options: EncodeOptions) -> EncodeSummary:
    """The run's counts; raises for the first invalid line (or the one past
    ``max_invalid``) in input order, as one machine does."""
    summary = EncodeSummary()
    seen: list[Invalid] = []
    for part in parts:
        if part.first_invalid and not options.skip_invalid:
            raise InvalidLineError(*part.first_invalid[0])
        seen.extend(part.first_invalid[: max(0, _needed(options) - len(seen))])
        summary.invalid += part.invalid
        summary.records += part.rows
        summary.existing += part.existing
        summary.repeated += part.repeated
    if options.max_invalid is not None and options.too_many(summary.invalid):
        source, lineno, reason, _ = seen[options.max_invalid]
        raise options.too_many_error(source, lineno, reason)
    summary.first_invalid = [str(InvalidLineError(*bad)) for bad in seen[:_NAMED]]
    return summary


def _needed(options: EncodeOptions) -> int:
    """Invalid lines a task reports: enough to name them, and the one past max_invalid."""
    return _NAMED if options.max_invalid is None else max(_NAMED, options.max_invalid + 1)


def _gather_rejects(path: str, staging: str, parts: list[_Part]) -> None:
    """The rejects of every range, in input order, into one file (put in place atomically)."""
    with AtomicFile(path) as handle:
        for part in parts:
            if part.rejects is not None:
                with open_file(f"{staging}/{part.rejects}", "rb") as source:
                    shutil.copyfileobj(source, handle.file)
