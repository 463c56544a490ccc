"""Encoding a batch of lines (:class:`jsonvec.records.reader.Batch`), here or in a worker process.

Encoding a batch parses each line, reads its id, and encodes the valid records into rows of an
array (given, so that workers can write into shared memory); invalid lines come back as data,
in line order, for the caller to stop at or to skip. :mod:`jsonvec.run.workers` runs the same in
worker processes.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec.encoding.encoder import Encoder
from jsonvec.errors import EncodeError, InvalidLineError, MissingPathError
from jsonvec.records.batches import Batch
from jsonvec.records.paths import Segment, format_path, get_path, parse_path
from jsonvec.records.reader import Line, invalid_reason

#: (source, line number, reason, raw line) of an invalid line
Invalid = tuple[str, int, str, bytes]


@dataclass
class Encoded:
    """The result of one batch: ids, vectors and texts of its valid records, and its rejects.

    ``vectors`` may be a view of shared memory, valid until the next batch is asked for;
    ``crc32`` is the CRC-32 of its float32 data, or None where not computed;
    ``invalid_rows`` the index in the batch of each invalid line.
    """

    ids: list[Any]
    vectors: NDArray[np.float32]
    texts: list[str] | None
    invalid: list[Invalid]
    crc32: int | None = None
    invalid_rows: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class BatchEncoder:
    """Everything needed to encode a batch: the encoder, the id path, whether to keep texts."""

    encoder: Encoder
    id_field: str | None = None
    keep_records: bool = False

    def __call__(self, batch: Batch, out: NDArray[np.float32] | None = None) -> Encoded:
        """Parse, identify and encode the lines of ``batch`` into the first rows of ``out``."""
        out = np.empty((len(batch), self.encoder.dim), np.float32) if out is None else out
        values, rows, ids, invalid = self.parse(batch)
        texts = [batch.text(i).decode("utf-8") for i in rows] if self.keep_records else None
        try:
            self.encoder.encode_into(values, out[: len(values)])
        except EncodeError:
            return self._one_by_one(batch, values, rows, ids, texts, invalid, out)
        return _encoded(ids, out[: len(values)], texts, invalid)

    def parse(
        self, batch: Batch
    ) -> tuple[list[Any], list[int], list[Any], list[tuple[int, Invalid]]]:
        """The valid records, their indices in the batch, their ids, and the invalid lines."""
        id_path = parse_path(self.id_field) if self.id_field is not None else None
        loads = orjson.loads
        values: list[Any] = []
        rows: list[int] = []
        ids: list[Any] = []
        invalid: list[tuple[int, Invalid]] = []
        for index, raw in enumerate(batch.json()):
            try:
                value = loads(raw)
                ids.append(batch.first + index if id_path is None else _id(value, id_path))
            except (orjson.JSONDecodeError, MissingPathError, _IdError) as exc:
                reason = (
                    invalid_reason(batch.text(index))
                    if isinstance(exc, orjson.JSONDecodeError)
                    else str(exc)
                )
                invalid.append((index, self._invalid(batch, index, reason)))
                continue
            values.append(value)
            rows.append(index)
        return values, rows, ids, invalid

    @staticmethod
    def _invalid(batch: Batch, index: int, reason: str) -> Invalid:
        return (batch.source(index), int(batch.linenos[index]), reason, batch.raw(index))

    def _one_by_one(
        self,
        batch: Batch,
        values: list[Any],
        rows: list[int],
        ids: list[Any],
        texts: list[str] | None,
        invalid: list[tuple[int, Invalid]],
        out: NDArray[np.float32],
    ) -> Encoded:
        """Encode record by record to find those that cannot be encoded; they are invalid."""
        keep: list[int] = []
        for i, (value, index) in enumerate(zip(values, rows, strict=True)):
            try:
                out[len(keep)] = self.encoder.encode(value)
                keep.append(i)
            except EncodeError as exc:
                invalid.append((index, self._invalid(batch, index, str(exc))))
        invalid.sort(key=lambda bad: bad[0])
        kept_texts = None if texts is None else [texts[i] for i in keep]
        return _encoded([ids[i] for i in keep], out[: len(keep)], kept_texts, invalid)


def _encoded(
    ids: list[Any],
    vectors: NDArray[np.float32],
    texts: list[str] | None,
    invalid: list[tuple[int, Invalid]],
) -> Encoded:
    rows = [index for index, _ in invalid]
    return Encoded(ids, vectors, texts, [bad for _, bad in invalid], None, rows)


class _IdError(MissingPathError):
    """An id field that holds no string or integer."""


def _id(value: Any, path: tuple[Segment, ...]) -> str:
    """The id at ``path`` in a record, as text; a missing or composite id is invalid."""
    found = get_path(value, path)
    if isinstance(found, str):
        return found
    if isinstance(found, int) and not isinstance(found, bool):
        return str(found)
    raise _IdError(f"id field {format_path(path)!r} must be a string or an integer")


def record_id(value: Any, path: tuple[Segment, ...], line: Line) -> str:
    """The id at ``path`` in the record of ``line``; :class:`InvalidLineError` if unusable."""
    try:
        return _id(value, path)
    except MissingPathError as exc:
        raise InvalidLineError(line.source, line.lineno, str(exc), line.raw) from exc


def crc32(vectors: NDArray[np.float32]) -> int:
    """CRC-32 of the float32 data of ``vectors``, row after row."""
    return zlib.crc32(np.ascontiguousarray(vectors, dtype="<f4").data)


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
