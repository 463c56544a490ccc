"""The on-disk contract of vectors files: names, columns, metadata keys and sidecars.

Writers (:mod:`jsonvec.storage.outputs`, :mod:`jsonvec.storage.parquet.sink`, :mod:`jsonvec.dask`)
and readers (:mod:`jsonvec.storage.vector_files`, :mod:`jsonvec.storage.parquet.reader`,
:mod:`jsonvec.storage.manifest`) take them from here, so the two sides cannot drift apart. What the
metadata holds is described in docs/method.md ("Vectors files"); its version is
:data:`VECTORS_FORMAT`, and the encoding rules' is ``jsonvec.version.ENCODING``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

#: kind of ids: record positions, or text read from --id-field
IdKind = Literal["int", "string"]
#: version of the metadata that describes a vectors file
VECTORS_FORMAT = 1
#: the output formats, by suffix
FORMATS = (".parquet", ".npy", ".jsonl")
#: key of the jsonvec metadata (JSON) in a Parquet file's schema
METADATA_KEY = "jsonvec"
#: key of the file metadata holding the CRC-32 of a Parquet file's vectors, written at the end
CRC_KEY = "jsonvec.crc32"
#: the columns of a Parquet file (and the keys of a JSON Lines line) of ids and of vectors
ID_COLUMN = "id"
VECTOR_COLUMN = "vector"
#: the Parquet column of each record's JSON text (encode --keep-records)
RECORD_COLUMN = "record"
#: In a folder of parts (jsonvec.dask, encode --append), the list of its parts, written
#: last: readers use exactly the parts it lists, so a failed run leaves nothing they see.
MANIFEST = "_jsonvec_manifest.json"


def part_name(number: int) -> str:
    """The name of part ``number`` of a folder of parts: ``part-000042.parquet``."""
    return f"part-{number:06d}.parquet"


def part_number(name: str) -> int | None:
    """The number of a part from its name, or None for any other name."""
    found = _PART.fullmatch(name)
    return int(found.group(1)) if found else None


_PART = re.compile(r"part-(\d+)\.parquet")


def sidecar_paths(npy_path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The ids and metadata files written with ``NAME.npy``: ``NAME.npy.ids``, ``NAME.npy.meta``."""
    base = Path(npy_path)
    return base.with_name(base.name + ".ids"), base.with_name(base.name + ".meta")


def legacy_sidecar_paths(npy_path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The sidecars of jsonvec 0.2: ``NAME.ids.jsonl`` and ``NAME.meta.json``."""
    stem = Path(npy_path).with_suffix("")
    return stem.with_name(stem.name + ".ids.jsonl"), stem.with_name(stem.name + ".meta.json")


def found_sidecar_paths(npy_path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The sidecars to read for ``NAME.npy``: the current names, or 0.2's where only they exist."""
    current = sidecar_paths(npy_path)
    if current[1].exists():
        return current
    legacy = legacy_sidecar_paths(npy_path)
    return legacy if legacy[1].exists() else current
