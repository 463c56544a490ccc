"""Encoding batches of numbered lines, in this process or in worker processes.

A batch is a list of ``(position, line)`` pairs. Encoding one parses each line, reads its id,
and encodes the valid records; invalid lines come back as data, in line order, for the
caller to stop at or to skip. With ``jobs > 1`` batches go to worker processes, at most two
per worker in flight (so memory stays bounded on any input), and results come back in input
order. Vectors are bit-identical either way (see :mod:`jsonvec.encoder`), so the output
of a run does not depend on the number of workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook import Codebook
from jsonvec.encoder import Encoder
from jsonvec.errors import EncodeError, InvalidLineError
from jsonvec.paths import MissingPathError, Segment, format_path, get_path, parse_path
from jsonvec.reader import Line, parse_line
from jsonvec.settings import Settings


@dataclass
class Batch:
    """Numbered lines, column by column (cheap to send to a worker process).

    ``positions`` are the 0-based record positions among the input's non-blank lines.
    """

    positions: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    linenos: list[int] = field(default_factory=list)
    raws: list[bytes] = field(default_factory=list)

    def add(self, position: int, line: Line) -> None:
        """Append one line."""
        self.positions.append(position)
        self.sources.append(line.source)
        self.linenos.append(line.lineno)
        self.raws.append(line.raw)

    def __len__(self) -> int:
        return len(self.positions)

    def lines(self) -> Iterator[tuple[int, Line]]:
        """``(position, line)`` pairs."""
        columns = (self.positions, self.sources, self.linenos, self.raws)
        for position, source, lineno, raw in zip(*columns, strict=True):
            yield position, Line(source, lineno, raw)


@dataclass(frozen=True)
class Encoded:
    """The result of one batch: ids, vectors and texts of its valid records, and its rejects.

    ``invalid`` holds ``(source, lineno, reason, raw line)`` of each invalid line.
    """

    ids: list[Any]
    vectors: NDArray[np.float32]
    texts: list[str] | None
    invalid: list[tuple[str, int, str, bytes]]


@dataclass(frozen=True)
class BatchEncoder:
    """Everything needed to encode a batch: the encoder, the id path, whether to keep texts."""

    encoder: Encoder
    id_field: str | None = None
    keep_records: bool = False

    def __call__(self, batch: Batch) -> Encoded:
        """Parse, identify and encode the lines of ``batch``."""
        id_path = parse_path(self.id_field) if self.id_field is not None else None
        values: list[Any] = []
        ids: list[Any] = []
        texts: list[str] | None = [] if self.keep_records else None
        invalid: list[tuple[int, tuple[str, int, str, bytes]]] = []  # (index in batch, ...)
        lines: list[tuple[int, Line]] = []
        for index, (position, line) in enumerate(batch.lines()):
            try:
                value = parse_line(line)
                ids.append(position if id_path is None else record_id(value, id_path, line))
            except InvalidLineError as exc:
                invalid.append((index, (exc.source, exc.lineno, exc.reason, exc.line)))
                continue
            values.append(value)
            lines.append((index, line))
            if texts is not None:
                texts.append(line.text.decode("utf-8"))
        try:
            vectors = self.encoder.encode_batch(values)
        except EncodeError:
            return self._one_by_one(values, lines, ids, texts, invalid)
        return Encoded(ids, vectors, texts, [bad for _, bad in invalid])

    def _one_by_one(
        self,
        values: list[Any],
        lines: list[tuple[int, Line]],
        ids: list[Any],
        texts: list[str] | None,
        invalid: list[tuple[int, tuple[str, int, str, bytes]]],
    ) -> Encoded:
        """Encode record by record to find those that cannot be encoded; they are invalid."""
        keep: list[int] = []
        rows: list[NDArray[np.float32]] = []
        for i, (value, (index, line)) in enumerate(zip(values, lines, strict=True)):
            try:
                rows.append(self.encoder.encode(value))
                keep.append(i)
            except EncodeError as exc:
                invalid.append((index, (line.source, line.lineno, str(exc), line.raw)))
        invalid.sort(key=lambda bad: bad[0])
        vectors = np.stack(rows) if rows else np.zeros((0, self.encoder.dim), np.float32)
        kept_texts = None if texts is None else [texts[i] for i in keep]
        return Encoded([ids[i] for i in keep], vectors, kept_texts, [bad for _, bad in invalid])


def record_id(value: Any, path: tuple[Segment, ...], line: Line) -> str:
    """The id at ``path`` in a record, as text; a missing or composite id is invalid."""
    try:
        found = get_path(value, path)
    except MissingPathError as exc:
        raise InvalidLineError(line.source, line.lineno, str(exc), line.raw) from exc
    if isinstance(found, str):
        return found
    if isinstance(found, int) and not isinstance(found, bool):
        return str(found)
    raise InvalidLineError(
        line.source,
        line.lineno,
        f"id field {format_path(path)!r} must be a string or an integer",
        line.raw,
    )


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def encode_batches(
    batches: Iterable[Batch], work: BatchEncoder, jobs: int = 1
) -> Iterator[Encoded]:
    """Encode ``batches`` in order, with ``jobs`` worker processes when there is more than one.

    Workers start only once a second batch exists: a small input never pays for them.
    """
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return
    second = next(it, None)
    if second is None or jobs <= 1:
        yield work(first)
        if second is not None:
            yield work(second)
            yield from map(work, it)
        return
    yield from _in_workers([first, second], it, work, jobs)


def _in_workers(
    head: list[Batch], rest: Iterator[Batch], work: BatchEncoder, jobs: int
) -> Iterator[Encoded]:
    codebook = work.encoder.codebook
    executor = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(codebook.params(), work.id_field, work.keep_records),
    )
    pending: deque[Future[Encoded]] = deque()
    finished = False
    try:
        for batch in _chain(head, rest):
            pending.append(executor.submit(_work_in_worker, batch))
            if len(pending) >= 2 * jobs:
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())
        finished = True
    finally:
        if not finished:  # an error, an interruption or an abandoned generator: stop now
            _stop(executor)
        # after terminate, waiting on the pool's threads can block for good
        executor.shutdown(wait=finished, cancel_futures=True)


def _stop(executor: ProcessPoolExecutor) -> None:
    """Terminate the workers of a pool and unblock its manager thread.

    A worker terminated while sending a result leaves half a message in the result pipe; the
    pool's manager thread then waits for the rest, and the interpreter waits for that thread
    at exit. Closing this process's own end of the pipe for writing (the workers' ends close
    as they die) turns that wait into end-of-file, which the pool handles as a broken pool.
    """
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.exitcode is None:
            process.kill()
    result_queue = getattr(executor, "_result_queue", None)
    writer = getattr(result_queue, "_writer", None)
    if writer is not None:
        with contextlib.suppress(OSError):
            writer.close()


def _chain(head: list[Batch], rest: Iterator[Batch]) -> Iterator[Batch]:
    yield from head
    yield from rest


def _result(future: Future[Encoded]) -> Encoded:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise EncodeError("a worker process stopped unexpectedly (out of memory?)") from exc


_worker: BatchEncoder | None = None


def _start_worker(params: dict[str, Any], id_field: str | None, keep_records: bool) -> None:
    """Build the worker's encoder; Ctrl-C and stdout are the parent's."""
    global _worker  # noqa: PLW0603 - one encoder per worker process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a worker must not hold the parent's stdout open (a pipe reader would wait for it)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    codebook = Codebook(
        dim=params["dim"],
        seed=params["seed"],
        settings=Settings.from_dict(params["settings"]),
        family=params["family"],
    )
    _worker = BatchEncoder(Encoder(codebook), id_field, keep_records)


def _work_in_worker(batch: Batch) -> Encoded:
    assert _worker is not None, "worker not initialised"
    return _worker(batch)
