"""Adding to an existing output: where the new vectors go, the checks, the ids already there.

``encode --append`` adds records to a Parquet file (rewritten atomically with its old row
groups first) or to a folder of parts (a new ``part-NNNNNN.parquet`` beside the others). The
existing output must come from the same codebook, with the same kind of ids and the same
columns: vectors of two codebooks are never mixed. ``--skip-existing`` leaves out records
whose id is already in the output (or earlier in the same run).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from jsonvec.collection import VectorsError, all_ids, open_vector_file
from jsonvec.errors import OutputError
from jsonvec.writers import RECORD_COLUMN, IdKind, output_format

_PART = re.compile(r"part-(\d+)\.parquet")


@dataclass
class AppendPlan:
    """Where a run that appends writes, what it copies first, and the ids already present."""

    target: str
    copy_from: Path | None = None
    existing: list[Path] = field(default_factory=list)


def plan_append(output: str) -> AppendPlan:
    """The plan for appending to ``output``: a ``.parquet`` file or a folder of parts."""
    path = Path(output)
    if path.is_dir() or output.endswith(("/", os.sep)):
        parts = sorted(p for p in path.glob("part-*.parquet") if _PART.fullmatch(p.name))
        numbers = [int(m.group(1)) for p in parts if (m := _PART.fullmatch(p.name))]
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{output}: cannot create the folder: {exc.strerror}") from exc
        target = path / f"part-{max(numbers, default=-1) + 1:06d}.parquet"
        return AppendPlan(str(target), None, parts)
    if output_format(output) != ".parquet":
        raise OutputError(f"{output}: --append needs a .parquet file or a folder of parts")
    if not path.exists():
        return AppendPlan(output)
    return AppendPlan(output, path, [path])


def check_existing(
    plan: AppendPlan, fingerprint: str, dim: int, id_kind: IdKind, keep_records: bool
) -> None:
    """Refuse to append to files from another codebook, with other ids or other columns."""
    id_type = pa.int64() if id_kind == "int" else pa.string()
    for path in plan.existing:
        try:
            found = open_vector_file(path)
            schema = pq.read_schema(path)
        except (VectorsError, OSError, pa.ArrowException) as exc:
            raise OutputError(f"cannot append: {exc}") from exc
        if found.fingerprint != fingerprint:
            raise OutputError(
                f"{path} was encoded with codebook {found.fingerprint}, this run uses codebook "
                f"{fingerprint}: vectors of two codebooks cannot be mixed"
            )
        if found.dim != dim:
            raise OutputError(f"{path} has dim {found.dim}, this run has dim {dim}")
        if schema.field("id").type != id_type:
            raise OutputError(
                f"{path} has {schema.field('id').type} ids, this run writes {id_type} ids "
                "(use the same --id-field setting)"
            )
        if (RECORD_COLUMN in schema.names) != keep_records:
            raise OutputError(
                f"{path} {'keeps' if found.has_records else 'does not keep'} the records: "
                f"append {'with' if found.has_records else 'without'} --keep-records"
            )


def existing_ids(plan: AppendPlan) -> set[Any]:
    """Every id in the files being appended to."""
    ids: set[Any] = set()
    for path in plan.existing:
        try:
            ids.update(all_ids(open_vector_file(path)))
        except VectorsError as exc:
            raise OutputError(f"cannot append: {exc}") from exc
    return ids


def new_rows(ids: Iterable[Any], seen: set[Any]) -> list[int]:
    """Rows whose id is not in ``seen``; their ids are added to it."""
    rows = []
    for row, rid in enumerate(ids):
        if rid not in seen:
            seen.add(rid)
            rows.append(row)
    return rows
