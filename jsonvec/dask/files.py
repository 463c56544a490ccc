"""JSON Lines files to a folder of Parquet parts on a Dask cluster, committed by a manifest.

Each input range (:mod:`jsonvec.dask.ranges`) is encoded by one task into one part, written
under the run's hidden staging folder inside the output folder, a batch of records at a
time. When every task is done the client checks the bad lines as one machine would (the
first one fails the run; with ``skip_invalid`` they are counted over the whole run against
``max_invalid`` and copied to ``rejects`` in input order), moves the parts in, and writes the
manifest last (:mod:`jsonvec.manifest`): a run that fails at any point leaves nothing that
readers use, and the staging folder is removed.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jsonvec.appending import AppendPlan, append_lock, check_existing, next_position
from jsonvec.atomic import AtomicFile
from jsonvec.batches import BatchEncoder, Invalid
from jsonvec.codebook import Codebook, default_codebook
from jsonvec.dask import existing as ids
from jsonvec.dask.cluster import run_tasks
from jsonvec.dask.ranges import Range, Start, batches, count, cut, starts
from jsonvec.dask.records import worker_encoder
from jsonvec.errors import InvalidLineError, OutputError, TooManyInvalidError
from jsonvec.manifest import Manifest, has_manifest, read_manifest, write_manifest
from jsonvec.parquet_sink import ParquetSink
from jsonvec.parquet_vectors import ParquetVectors
from jsonvec.pipeline import EncodeOptions, EncodeSummary, vectors_metadata
from jsonvec.reader import check_files
from jsonvec.vector_files import VectorsError, reading

_PART = re.compile(r"part-(\d+)\.parquet")
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


def _encode_range(
    block: bytes,
    info: Range,
    start: Start,
    name: str,
    params: dict[str, Any],
    options: EncodeOptions,
    folder: str,
    keep_rejects: bool,
    shuffle: ids.Shuffle | None,
) -> _Part:
    """Encode one range into the part ``folder/name``, a batch of vectors at a time, whatever
    the size of the range (a 64 MB range of small records holds millions of them: 4 KB of
    vectors each). Stops at the first invalid line unless ``options.skip_invalid``, and once
    more than ``options.max_invalid`` were seen: the run fails then, whatever the others do.
    """
    encoder = worker_encoder(params)
    left = ids.left_out(info.index, shuffle) if shuffle is not None else None
    done = _Part(name, existing=left.existing if left else 0,
                 repeated=left.repeated if left else 0)  # fmt: skip
    sink = ParquetSink(
        str(Path(folder) / name), encoder.dim, vectors_metadata(encoder, options.id_kind),
        options.id_kind, options.keep_records,
    )  # fmt: skip
    work = BatchEncoder(encoder, options.id_field, options.keep_records)
    out = np.empty((options.batch_size, encoder.dim), dtype=np.float32)
    limit = _NAMED if options.max_invalid is None else max(_NAMED, options.max_invalid + 1)
    with _rejects(Path(folder) / f"rejects-{info.index:06d}", keep_rejects) as rejects:
        try:
            for batch in batches(block, info, start, options.batch_size):
                if len(batch) > len(out):
                    out = np.empty((len(batch), encoder.dim), dtype=np.float32)
                encoded = work(batch, out)
                if encoded.invalid:
                    done.invalid += len(encoded.invalid)
                    done.first_invalid.extend(encoded.invalid[: limit - len(done.first_invalid)])
                    if not options.skip_invalid or (
                        options.max_invalid is not None and done.invalid > options.max_invalid
                    ):
                        sink.abort()
                        return done  # the client fails the run
                    if rejects is not None:
                        rejects.writelines(raw for _, _, _, raw in encoded.invalid)
                kept = _kept(batch.first - start.position, encoded.invalid_rows, len(batch), left)
                written = [encoded.ids[i] for i in kept]
                if written:
                    texts = encoded.texts
                    sink.write(written, encoded.vectors[kept],
                               None if texts is None else [texts[i] for i in kept])  # fmt: skip
                    done.rows += len(written)
            sink.commit()
        except BaseException:
            sink.abort()
            raise
    if done.invalid and keep_rejects:
        done.rejects = f"rejects-{info.index:06d}"
    if done.rows == 0:
        (Path(folder) / name).unlink()  # an empty part is left out of the manifest
        done.name = None
    return done


def _kept(offset: int, invalid_rows: list[int], size: int, left: ids.LeftOut | None) -> list[int]:
    """Indices among a batch's encoded records of those to write (all but the left-outs)."""
    if left is None:
        return list(range(size - len(invalid_rows)))
    bad = set(invalid_rows)
    valid = [row for row in range(size) if row not in bad]
    return [i for i, row in enumerate(valid) if offset + row not in left.rows]


@contextlib.contextmanager
def _rejects(path: Path, keep: bool) -> Iterator[Any]:
    if not keep:
        yield None
        return
    with open(path, "wb") as handle:
        yield handle


@dataclass
class _Target:
    """Where a run's parts go: the folder's state before the run, as an append plan (the
    parts readers use now, the first free part number) and its manifest."""

    plan: AppendPlan
    manifest: Manifest
    listed: bool  # the folder has a manifest already


def _target(folder: Path, book: Codebook, options: EncodeOptions) -> _Target:
    """Check the output folder: without vectors for a new run (parts a failed run left,
    which no manifest lists, do not count); for ``append``, parts of this codebook with the
    same ids and columns."""
    numbers = {int(m.group(1)): p.name for p in folder.iterdir() if (m := _PART.fullmatch(p.name))}
    listed = has_manifest(folder)
    try:
        manifest = read_manifest(folder) if listed else _unlisted(folder, sorted(numbers.values()))
    except VectorsError as exc:
        raise OutputError(f"cannot add to {folder}: {exc}") from exc
    if manifest.parts and not options.append:
        raise OutputError(
            f"{folder}: holds vectors already: add to them with --append, or give an empty folder"
        )
    existing = [folder / p for p in manifest.parts]
    plan = AppendPlan(str(folder), None, existing, folder, max(numbers, default=-1) + 1)
    check_existing(plan, book.fingerprint, book.dim, options.id_kind, options.keep_records)
    manifest.codebook = book.fingerprint
    return _Target(plan, manifest, listed)


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
    partition_size: int = 64 << 20,
    batch_size: int = 1024,
    client: Any = None,
    progress: bool = False,
) -> EncodeSummary:
    """Encode JSON Lines files into a folder of Parquet parts on a Dask cluster.

    Parameters
    ----------
    paths : JSON Lines files (gzip or not), local or any URL fsspec reads.
    out_dir : the output folder, on storage every worker and this process see.
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
    partition_size : bytes of input per partition and part (a gzip input is one partition).
    batch_size : records encoded and written together (a row group of a part).
    client : a ``distributed.Client`` (default: Dask's current scheduler).
    progress : show Dask's progress bar on stderr (with a client).

    Returns
    -------
    EncodeSummary (``output``: the folder, or None when an append found nothing new and
    wrote nothing).

    Inputs are cut into ranges on line boundaries; a first pass counts each range's lines,
    so ids and line numbers are those of a one-machine run. Parts are written under a hidden
    folder, moved in, and the manifest ``_jsonvec_manifest.json`` listing them is written
    last: a failed run leaves nothing that readers use.
    """
    started = time.perf_counter()
    delayed: Any = importlib.import_module("dask.delayed").delayed
    book = codebook or default_codebook()
    options = EncodeOptions(
        id_field=id_field, keep_records=keep_records,
        skip_invalid=skip_invalid or max_invalid is not None, max_invalid=max_invalid,
        append=append, skip_existing=skip_existing, batch_size=batch_size,
    )  # fmt: skip
    if skip_existing and not (append and id_field is not None):
        raise ValueError("skip_existing needs append and id_field")
    check_files(paths)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the folder: {exc.strerror}") from exc
    with append_lock(str(out)) if append else contextlib.nullcontext():
        target = _target(out, book, options)
        staging = Path(tempfile.mkdtemp(prefix=".jsonvec-run-", dir=out))
        try:
            blocks, infos = cut(paths, partition_size)
            counts = run_tasks(client, progress, [delayed(count, pure=True)(b, i)
                                        for b, i in zip(blocks, infos, strict=True)])  # fmt: skip
            first = next_position(target.plan) if append and id_field is None else 0
            begins = starts(infos, counts, first)
            shared = delayed(book.params(), pure=True)
            shuffle = None
            if skip_existing:
                shuffle = ids.plan_shuffle(staging, target.manifest.records, counts)
                tasks = _id_tasks(delayed, blocks, infos, begins, target, options, shared, shuffle)
                run_tasks(client, progress, tasks)
                old = len(target.plan.existing)
                run_tasks(client, progress, [
                    delayed(ids.decide, pure=True)(b, shuffle, old, len(infos))
                    for b in range(shuffle.buckets)
                ])  # fmt: skip
            names = [f"part-{target.plan.first_part + i:06d}.parquet" for i in range(len(infos))]
            parts: list[_Part] = run_tasks(client, progress, [
                delayed(_encode_range, pure=True)(
                    block, info, begins[i], names[i], shared, options, str(staging),
                    rejects is not None, shuffle,
                )
                for i, (block, info) in enumerate(zip(blocks, infos, strict=True))
            ])  # fmt: skip
            summary = _summary(parts, options)
            summary.blank = sum(lines - records for lines, records in counts)
            if rejects is not None:
                _gather_rejects(rejects, staging, parts)
            written = [p for p in parts if p.name is not None]
            if append and not written:
                summary.seconds = time.perf_counter() - started
                return summary  # nothing new: the folder stays as it was
            _commit(target, staging, written, out)
            summary.output = str(out)
            summary.seconds = time.perf_counter() - started
            return summary
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _commit(target: _Target, staging: Path, written: list[_Part], out: Path) -> None:
    """Move the parts in and list them in a new manifest. A folder without a manifest gets
    one (of the parts readers use now) first, so that no part moved in is seen before the
    new manifest lists it; parts moved in are taken back if the manifest cannot be
    written."""
    if not target.listed:
        write_manifest(out, target.manifest)
    moved: list[Path] = []
    try:
        for part in written:
            _move(staging / str(part.name), out / str(part.name))
            moved.append(out / str(part.name))
        write_manifest(out, target.manifest.added([str(p.name) for p in written],
                                                  [p.rows for p in written]))  # fmt: skip
    except BaseException:
        for path in moved:
            with contextlib.suppress(OSError):
                path.unlink()
        raise


def _id_tasks(
    delayed: Any, blocks: list[Any], infos: list[Range], begins: list[Start], target: _Target,
    options: EncodeOptions, shared: Any, shuffle: ids.Shuffle,
) -> list[Any]:  # fmt: skip
    """The tasks that group the ids of the existing parts and of the new ranges
    (:mod:`jsonvec.dask.existing`)."""
    grouped = [delayed(ids.old_ids, pure=True)(str(p), shuffle, i)
               for i, p in enumerate(target.plan.existing)]  # fmt: skip
    grouped += [delayed(ids.new_ids, pure=True)(b, i, s, options.id_field, shared, shuffle)
                for b, i, s in zip(blocks, infos, begins, strict=True)]  # fmt: skip
    return grouped


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
    if options.max_invalid is not None and summary.invalid > options.max_invalid:
        source, lineno, reason, _ = seen[options.max_invalid]
        raise TooManyInvalidError(
            f"{source}:{lineno}: more than {options.max_invalid} invalid lines "
            f"(--max-invalid); this one: {reason}"
        )
    summary.first_invalid = [str(InvalidLineError(*bad)) for bad in seen[:_NAMED]]
    return summary


def _needed(options: EncodeOptions) -> int:
    return _NAMED if options.max_invalid is None else max(_NAMED, options.max_invalid + 1)


def _gather_rejects(path: str, staging: Path, parts: list[_Part]) -> None:
    """The rejects of every range, in input order, into one file (put in place atomically)."""
    with AtomicFile(path) as handle:
        for part in parts:
            if part.rejects is not None:
                with open(staging / part.rejects, "rb") as source:
                    shutil.copyfileobj(source, handle.file)


def _move(source: Path, target: Path) -> None:
    """Move a part in under a name no other part has (a link never replaces a file)."""
    try:
        os.link(source, target)
    except FileExistsError as exc:
        raise OutputError(f"{target}: another run wrote this part meanwhile") from exc
    except OSError:  # a file system without links: the name was checked free
        if target.exists():
            raise OutputError(f"{target}: another run wrote this part meanwhile") from None
        os.replace(source, target)
