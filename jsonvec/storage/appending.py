"""Adding to an existing output: where the new vectors go, the checks, the ids already there.

``encode --append`` adds records to a Parquet file (rewritten atomically with its old row
groups first) or to a folder of parts (a new ``part-NNNNNN.parquet`` beside the others, and
in the folder's manifest when it has one: :mod:`jsonvec.storage.manifest`). The
existing output must come from the same codebook, with the same kind of ids and the same
columns: vectors of two codebooks are never mixed. ``--skip-existing`` leaves out records
whose id is already in the output (or earlier in the same run).

Positional ids stay unique in a collection: an append numbers its records from one past the
largest id already there (the row count, when no line was ever skipped). Runs appending to
the same place take turns: each holds an advisory lock (``flock``) on the folder from
reading what is there until its output is in place, and a new part takes its name
atomically, so even without the lock two runs never write the same part.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonvec.errors import OutputError, VectorsError
from jsonvec.storage.layout import part_name, part_number
from jsonvec.storage.manifest import Manifest, has_manifest, read_manifest
from jsonvec.storage.outputs import output_format

if TYPE_CHECKING:
    from jsonvec.storage.parquet.reader import ParquetVectors

#: what flock answers on a file system that cannot lock
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF)


@dataclass
class AppendPlan:
    """Where a run that appends writes, what it copies first, and the files already there.

    ``folder`` is set when the run adds a part to a folder; ``target`` is then the first
    part name that was free when the plan was made, ``part-{first_part:06d}.parquet``.
    """

    target: str
    copy_from: Path | None = None
    existing: list[Path] = field(default_factory=list)
    folder: Path | None = None
    first_part: int = 0
    manifest: Manifest | None = None  # of a folder that has one: the new part joins it

    def part_names(self) -> Iterator[Path] | None:
        """Candidate names for a new part, from the planned one up (None: not a folder)."""
        if self.folder is None:
            return None
        folder = self.folder
        return (folder / part_name(n) for n in range(self.first_part, 10**9))


def is_folder_target(output: str) -> bool:
    """True when ``--append`` to ``output`` adds a part to a folder."""
    return Path(output).is_dir() or output.endswith(("/", os.sep))


@contextlib.contextmanager
def append_lock(output: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock of the folder ``output`` is in (or is), waiting for it if need be.

    ``on_wait`` is called once if another run holds it. The folder is created if needed.
    """
    folder = Path(output) if is_folder_target(output) else Path(output).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the folder: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            if exc.errno not in _NO_LOCKS:
                raise OutputError(f"{folder}: cannot lock the folder: {exc.strerror}") from exc
            # a file system without locks: parts still take distinct names (see above)
        yield
    finally:
        os.close(fd)  # releases the lock


def plan_append(output: str) -> AppendPlan:
    """The plan for appending to ``output``: a ``.parquet`` file or a folder of parts."""
    path = Path(output)
    if is_folder_target(output):
        parts = sorted(p for p in path.glob("part-*.parquet") if part_number(p.name) is not None)
        numbers = [n for p in parts if (n := part_number(p.name)) is not None]
        first = max(numbers, default=-1) + 1
        target = str(path / part_name(first))
        if not has_manifest(path):
            return AppendPlan(target, None, parts, path, first)
        try:
            manifest = read_manifest(path)
        except VectorsError as exc:
            raise OutputError(f"cannot append: {exc}") from exc
        listed = [path / p for p in manifest.parts]  # a failed run's parts are not there
        return AppendPlan(target, None, listed, path, first, manifest)
    if output_format(output) != ".parquet":
        raise OutputError(f"{output}: --append needs a .parquet file or a folder of parts")
    if not path.exists():
        return AppendPlan(output)
    return AppendPlan(output, path, [path])


def _parquet(path: Path) -> ParquetVectors:
    from jsonvec.storage.parquet.reader import ParquetVectors  # noqa: PLC0415 - pyarrow when needed

    return ParquetVectors(path)


def next_position(plan: AppendPlan) -> int:
    """One past the largest positional id in the files appended to (0 if there are none)."""
    largest = -1
    for path in plan.existing:
        try:
            largest = max(largest, _largest_id(_parquet(path)))
        except VectorsError as exc:
            raise OutputError(f"cannot append: {exc}") from exc
    return largest + 1


def _largest_id(file: ParquetVectors) -> int:
    """The largest integer id of a Parquet file, from the id column's statistics if it can."""
    metadata = file.metadata
    largest = -1
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        if row_group.num_rows == 0:
            continue
        stats = row_group.column(0).statistics  # the id column comes first
        if stats is None or not stats.has_min_max or not isinstance(stats.max, int):
            return max((i for i in file.ids() if isinstance(i, int)), default=-1)
        largest = max(largest, stats.max)
    return largest


@dataclass(frozen=True)
class Kind:
    """What vectors must share to join a file or folder: the codebook's fingerprint, dim,
    kind of ids, whether records are kept, and the stored type."""

    fingerprint: str | None
    dim: int
    id_type: str
    keep_records: bool
    dtype: str

    @classmethod
    def of(cls, found: ParquetVectors) -> Kind:
        """The kind of the vectors of an existing file."""
        return cls(found.fingerprint, found.dim, found.id_type, found.has_records, found.dtype)


def check_existing(plan: AppendPlan, wanted: Kind) -> None:
    """Refuse to append to files from another codebook, with other ids, other columns or
    another stored type."""
    for path in plan.existing:
        try:
            found = _parquet(path)
        except VectorsError as exc:
            raise OutputError(f"cannot append: {exc}") from exc
        check_joinable(str(path), Kind.of(found), wanted)


def check_joinable(where: str, found: Kind, wanted: Kind) -> None:
    """Refuse to add vectors of the ``wanted`` kind to vectors of the ``found`` kind (a file,
    or a folder's manifest)."""
    if found.fingerprint != wanted.fingerprint:
        raise OutputError(
            f"{where} was encoded with codebook {found.fingerprint}, this run uses codebook "
            f"{wanted.fingerprint}: vectors of two codebooks cannot be mixed"
        )
    if found.dim != wanted.dim:
        raise OutputError(f"{where} has dim {found.dim}, this run has dim {wanted.dim}")
    if found.id_type != wanted.id_type:
        theirs = "record positions" if found.id_type == "int" else "ids from a field"
        ours = "record positions" if wanted.id_type == "int" else "ids from --id-field"
        raise OutputError(
            f"{where} holds {theirs} as ids, this run writes {ours} "
            "(use the same --id-field setting)"
        )
    if found.keep_records != wanted.keep_records:
        kept = found.keep_records
        raise OutputError(
            f"{where} {'keeps' if kept else 'does not keep'} the records: "
            f"append {'with' if kept else 'without'} --keep-records"
        )
    if found.dtype != wanted.dtype:
        raise OutputError(
            f"{where} stores {found.dtype} vectors, this run writes {wanted.dtype}: "
            f"append with --dtype {found.dtype}"
        )


def existing_ids(plan: AppendPlan) -> set[Any]:
    """Every id in the files being appended to."""
    ids: set[Any] = set()
    for path in plan.existing:
        try:
            ids.update(_parquet(path).ids())
        except VectorsError as exc:
            raise OutputError(f"cannot append: {exc}") from exc
    return ids


@dataclass
class SeenIds:
    """Ids already in the output, and ids written so far by this run."""

    existing: set[Any]
    written: set[Any] = field(default_factory=set)

    def new_rows(self, ids: Iterable[Any]) -> tuple[list[int], int, int]:
        """Rows whose id is new, and how many were left out: already there, or repeated.

        The ids of the rows kept count as written.
        """
        rows: list[int] = []
        present = repeated = 0
        for row, rid in enumerate(ids):
            if rid in self.existing:
                present += 1
            elif rid in self.written:
                repeated += 1
            else:
                self.written.add(rid)
                rows.append(row)
        return rows, present, repeated
