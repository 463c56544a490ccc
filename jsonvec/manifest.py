"""The manifest of a folder of parts: which parts readers use, written last by every run.

A folder written on a cluster (:mod:`jsonvec.dask`) lists its parts in
``_jsonvec_manifest.json``; the manifest is replaced atomically after the parts are in place,
so it is the commit of a run, as the output committers of Hadoop and Spark do it. Readers
(:class:`jsonvec.collection.Collection`, ``encode --append``) use exactly the parts listed
and ignore any other file, such as a part left by a failed run. ``encode --append`` on one
machine adds its part to the manifest too, so the two engines' outputs mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from jsonvec.atomic import AtomicFile
from jsonvec.vector_files import VectorsError, reading
from jsonvec.writers import MANIFEST

#: version of the manifest's layout
MANIFEST_FORMAT = 1


@dataclass
class Manifest:
    """The parts of a folder in order, with their row counts, and the codebook's fingerprint."""

    parts: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    codebook: str = ""

    @property
    def records(self) -> int:
        """Rows in all parts."""
        return sum(self.rows)

    def added(self, parts: list[str], rows: list[int]) -> Manifest:
        """This manifest with ``parts`` (of ``rows`` rows each) after its own."""
        return Manifest(self.parts + parts, self.rows + rows, self.codebook)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "parts": self.parts,
            "rows": self.rows,
            "records": self.records,
            "codebook": self.codebook,
        }


def has_manifest(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def read_manifest(folder: Path) -> Manifest:
    """The manifest of ``folder``; :class:`VectorsError` if it is unreadable or lists a part
    that is missing."""
    path = folder / MANIFEST
    with reading(path, "its manifest"):
        document = orjson.loads(path.read_bytes())
    parts = document.get("parts") if isinstance(document, dict) else None
    rows = document.get("rows") if isinstance(document, dict) else None
    if (
        not isinstance(parts, list)
        or not all(isinstance(p, str) and "/" not in p for p in parts)
        or not isinstance(rows, list)
        or len(rows) != len(parts)
        or not all(isinstance(r, int) for r in rows)
    ):
        raise VectorsError(f"{path}: not a jsonvec manifest")
    missing = [p for p in parts if not (folder / p).is_file()]
    if missing:
        raise VectorsError(f"{path}: lists {missing[0]}, which is missing")
    return Manifest(parts, rows, str(document.get("codebook", "")))


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Put ``manifest`` in place in one step (the commit of a run)."""
    with AtomicFile(folder / MANIFEST) as handle:
        handle.file.write(orjson.dumps(manifest.as_json(), option=orjson.OPT_INDENT_2) + b"\n")


def listed_parts(folder: Path) -> list[Path]:
    """The parts a folder's manifest lists, in order."""
    return [folder / p for p in read_manifest(folder).parts]
