"""``--skip-existing`` on a cluster: which new records to leave out, without one process
holding every id.

One machine keeps the ids of the whole output in a set. On a cluster the ids are shuffled
through files, as Spark shuffles: every existing part and every new range writes its ids in
``buckets`` groups (by CRC-32 of the id) to one Arrow file under the run's staging folder;
each bucket's task reads its group from every file, holds only that bucket's ids, and
decides in input order (a record is left out when its id is in the output, or came earlier
in the run, exactly as on one machine); the encoding task of a range reads the rows to leave
out from every bucket's answer. Memory per task: about ``IDS_PER_BUCKET`` ids.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jsonvec.dask.output import open_file
from jsonvec.dask.ranges import Range, Start, batches
from jsonvec.dask.records import worker_encoder
from jsonvec.run.batches import BatchEncoder
from jsonvec.storage.layout import ID_COLUMN
from jsonvec.storage.parquet.groups import column_values, read_group, write_groups

IDS_PER_BUCKET = 2_000_000
BATCH = 4096  # lines parsed at a time for their ids
_OLD = {ID_COLUMN: "string"}
_NEW = {ID_COLUMN: "string", "row": "int64"}
_OUT = {"row": "int64", "existing": "bool"}


@dataclass(frozen=True)
class Shuffle:
    """Where the shuffle's files go, and into how many buckets ids are grouped."""

    folder: str  # a prefix: names are appended to it
    buckets: int

    def old(self, index: int) -> str:
        return f"{self.folder}old-{index:06d}.arrow"

    def new(self, index: int) -> str:
        return f"{self.folder}new-{index:06d}.arrow"

    def answer(self, bucket: int) -> str:
        return f"{self.folder}left-out-{bucket:06d}.arrow"


def bucket_count(existing_rows: int, new_records: int) -> int:
    """Enough buckets for about ``IDS_PER_BUCKET`` ids each."""
    return max(1, -(-(existing_rows + new_records) // IDS_PER_BUCKET))


def _write(path: str, ids: list[Any], rows: list[int] | None, buckets: int) -> None:
    """One record batch per bucket of ``ids`` (with their ``rows``), in input order."""
    keys = np.array([zlib.crc32(i.encode()) % buckets for i in ids], dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(buckets + 1))
    picks = [order[bounds[b] : bounds[b + 1]].tolist() for b in range(buckets)]
    if rows is None:
        groups = [{ID_COLUMN: [ids[i] for i in picked]} for picked in picks]
    else:
        groups = [{ID_COLUMN: [ids[i] for i in p], "row": [rows[i] for i in p]} for p in picks]
    with open_file(path, "wb") as sink:
        write_groups(sink, _OLD if rows is None else _NEW, groups)


def old_ids(part: str, shuffle: Shuffle, index: int) -> None:
    """Group the ids of an existing part."""
    with open_file(part, "rb") as source:
        ids = column_values(source, ID_COLUMN)
    _write(shuffle.old(index), ids, None, shuffle.buckets)


def new_ids(
    info: Range, start: Start, id_field: str, params: dict[str, object], shuffle: Shuffle
) -> None:
    """Group the ids of a new range with each record's row (its index among the range's
    non-blank lines); lines that are invalid have none (they are never written)."""
    work = BatchEncoder(worker_encoder(params), id_field)
    ids: list[str] = []
    rows: list[int] = []
    for batch in batches(info.read(), info, start, BATCH):
        _, found, batch_ids, _ = work.parse(batch)
        offset = batch.first - start.position
        ids.extend(batch_ids)
        rows.extend(offset + row for row in found)
    _write(shuffle.new(info.index), ids, rows, shuffle.buckets)


def decide(bucket: int, shuffle: Shuffle, old_parts: int, ranges: int) -> None:
    """Rows to leave out of each range, for the ids of one bucket, in input order."""
    present: set[Any] = set()
    for index in range(old_parts):
        present.update(_group(shuffle.old(index), bucket)[ID_COLUMN])
    with open_file(shuffle.answer(bucket), "wb") as sink:
        write_groups(sink, _OUT, _answers(present, bucket, shuffle, ranges))


def _answers(
    present: set[Any], bucket: int, shuffle: Shuffle, ranges: int
) -> Iterator[dict[str, list[Any]]]:
    """For each range in turn, the rows of its ids in ``bucket`` to leave out."""
    seen: set[Any] = set()
    for index in range(ranges):
        found = _group(shuffle.new(index), bucket)
        rows: list[int] = []
        existing: list[bool] = []
        for rid, row in zip(found[ID_COLUMN], found["row"], strict=True):
            if rid in present:
                rows.append(row)
                existing.append(True)
            elif rid in seen:
                rows.append(row)
                existing.append(False)
            else:
                seen.add(rid)
        yield {"row": rows, "existing": existing}


def _group(path: str, index: int) -> dict[str, list[Any]]:
    with open_file(path, "rb") as source:
        return read_group(source, index)


@dataclass(frozen=True)
class LeftOut:
    """The rows of one range to leave out, and why: id in the output, or earlier in the run."""

    rows: frozenset[int]
    existing: int
    repeated: int


def left_out(index: int, shuffle: Shuffle) -> LeftOut:
    """What every bucket decided for range ``index`` (read by its encoding task)."""
    rows: set[Any] = set()
    existing = 0
    for bucket in range(shuffle.buckets):
        found = _group(shuffle.answer(bucket), index)
        rows.update(found["row"])
        existing += sum(bool(e) for e in found["existing"])
    return LeftOut(frozenset(rows), existing, len(rows) - existing)


def plan_shuffle(staging: str, existing_rows: int, counts: Sequence[tuple[int, int]]) -> Shuffle:
    """The shuffle of a run in its ``staging`` folder (a path or URL), for the counts of its
    ranges; its files go straight in (object stores have no folders to make)."""
    new = sum(records for _, records in counts)
    return Shuffle(f"{staging}/ids-", bucket_count(existing_rows, new))
