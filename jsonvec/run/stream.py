"""The streaming loop of a run: batches of input lines encoded, here or in worker processes,
into a sink in input order; an invalid line stops the run or is skipped (and copied to the
rejects file)."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from jsonvec._utils.atomic import AtomicFile
from jsonvec._utils.interrupts import check_interrupted
from jsonvec.encoding.encoder import Encoder
from jsonvec.errors import InvalidLineError, OutputError
from jsonvec.records.batches import Batch, gather
from jsonvec.records.reader import Line, read_batches
from jsonvec.run.batches import BatchEncoder
from jsonvec.run.options import EncodeOptions, EncodeSummary
from jsonvec.run.workers.parent import encode_batches
from jsonvec.storage.appending import (
    SeenIds,
)
from jsonvec.storage.sink import VectorSink


@dataclass(frozen=True)
class Inputs:
    """Files of records to read (``-``: stdin), what to tell of the bytes read, and how to
    read them (``fmt``: ``jsonl`` or ``json``; None chooses by name, see
    :func:`jsonvec.records.reader.input_format`)."""

    paths: Sequence[str]
    progress: Callable[[int], None] | None = None
    fmt: str | None = None


#: what a run reads: input files, or lines already read
Source = Inputs | Iterable[Line]


def encode_lines(
    lines: Source,
    encoder: Encoder,
    sink: VectorSink,
    options: EncodeOptions | None = None,
    rejects: BinaryIO | None = None,
    seen: SeenIds | None = None,
    start: int = 0,
) -> EncodeSummary:
    """Encode every record in ``lines`` (:class:`Inputs`, or lines) into ``sink``, in order.

    An invalid line raises :class:`InvalidLineError` unless ``options.skip_invalid``; then it
    is counted and, if ``rejects`` is given, copied there byte for byte. Without
    ``options.id_field`` the id of a record is ``start`` plus its 0-based position among the
    input's non-blank lines, so skipping a bad line never shifts the ids of the others.
    The sink is not committed. With ``options.jobs > 1`` batches are encoded in worker
    processes; the output is the same. Records whose id ``seen`` knows are left out (and
    counted).
    """
    options = options or EncodeOptions()
    summary = EncodeSummary()
    started = time.perf_counter()
    work = BatchEncoder(encoder, options.id_field, options.keep_records)
    batches = _batches(lines, options.batch_size, summary, start)
    with collector_paused():
        _encode_all(batches, work, sink, options, summary, rejects, seen)
    summary.seconds = time.perf_counter() - started
    return summary


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the run: records are trees, freed as soon
    as they are encoded, and the collector's passes over the many young objects of parsed
    records cost 5-10% of the encoding (measured on vega_movies) and find nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _encode_all(
    batches: Iterator[Batch],
    work: BatchEncoder,
    sink: VectorSink,
    options: EncodeOptions,
    summary: EncodeSummary,
    rejects: BinaryIO | None,
    seen: SeenIds | None,
) -> None:
    for encoded in encode_batches(batches, work, options.jobs, options.batch_size):
        check_interrupted()
        for source, lineno, reason, raw in encoded.invalid:
            _reject(InvalidLineError(source, lineno, reason, raw), options, summary, rejects)
        ids, vectors, texts = encoded.ids, encoded.vectors, encoded.texts
        if seen is not None:
            keep, present, repeated = seen.new_rows(ids)
            summary.existing += present
            summary.repeated += repeated
            ids, vectors = [ids[i] for i in keep], vectors[keep]
            texts = None if texts is None else [texts[i] for i in keep]
        if ids:
            crc = encoded.crc32 if seen is None else None
            sink.write(ids, vectors, texts, crc)
            summary.records += len(ids)


def _batches(source: Source, size: int, summary: EncodeSummary, start: int) -> Iterator[Batch]:
    """Non-blank lines with their positions, ``size`` at a time; blank lines are counted."""

    def blank(count: int) -> None:
        summary.blank += count

    if isinstance(source, Inputs):
        yield from read_batches(source.paths, size, blank, source.progress, start, source.fmt,
                                summary.notes.append)  # fmt: skip
        return
    yield from gather(_counted(source, summary), size, start)


def _counted(lines: Iterable[Line], summary: EncodeSummary) -> Iterator[tuple[str, int, bytes]]:
    """The records of ``lines``; blank lines are counted."""
    for line in lines:
        if line.is_blank:
            summary.blank += 1
        else:
            yield line.source, line.lineno, line.raw


def _reject(
    exc: InvalidLineError,
    options: EncodeOptions,
    summary: EncodeSummary,
    rejects: BinaryIO | None,
) -> None:
    if not options.skip_invalid:
        raise exc
    summary.invalid += 1
    if options.too_many(summary.invalid):
        raise options.too_many_error(exc.source, exc.lineno, exc.reason)
    if len(summary.first_invalid) < 5:
        summary.first_invalid.append(str(exc))
    if rejects is not None:
        try:  # a document's record, or a last line, may end without a newline
            rejects.write(exc.line if exc.line.endswith(b"\n") else exc.line + b"\n")
        except OSError as write_exc:
            raise OutputError(f"rejects file: cannot write: {write_exc.strerror}") from write_exc


@contextlib.contextmanager
def rejects_file(path: str | None) -> Iterator[BinaryIO | None]:
    """The file that invalid lines are copied to, put in place only if the run ends well."""
    if path is None:
        yield None
        return
    with AtomicFile(path) as handle:
        yield handle.file
