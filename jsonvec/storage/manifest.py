"""The manifest of a folder of parts: which parts readers use, written last by every run.

A folder written on a cluster (:mod:`jsonvec.dask`) lists its parts in
``_jsonvec_manifest.json``; the manifest is replaced atomically after the parts are in place,
so it is the commit of a run, as the output committers of Hadoop and Spark do it. Readers
(:class:`jsonvec.storage.collection.Collection`, ``encode --append``) use exactly the parts listed
and ignore any other file, such as a part left by a failed run. ``encode --append`` on one
machine adds its part to the manifest too, so the two engines' outputs mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson

from jsonvec._utils.atomic import AtomicFile
from jsonvec.errors import VectorsError
from jsonvec.storage.layout import MANIFEST
from jsonvec.storage.vector_files import check_encoding, reading
from jsonvec.version import ENCODING

#: version of the manifest's layout
MANIFEST_FORMAT = 1


@dataclass
class Manifest:
    """The parts of a folder in order, with their row counts, and what every part shares.

    ``codebook`` is the codebook's fingerprint; ``dim``, ``id_type`` (``"int"`` for
    positions, ``"string"`` for ids from a field), ``keep_records`` and ``next_position``
    (one past the largest positional id) let a run append without opening every part; they
    are None in a manifest that does not say (written by jsonvec 0.3.0), and then read from
    the parts. ``dtype`` is the type the parts store (float32 where a manifest does not say:
    no other was written before). The encoding rules (``version.ENCODING``) are written into
    every manifest and checked when one is read (one without them was written by rules 2), so
    parts of other rules never join a folder, even by an append that reads only the manifest.
    """

    parts: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    codebook: str = ""
    dim: int | None = None
    id_type: str | None = None
    keep_records: bool | None = None
    next_position: int | None = None
    dtype: str = "float32"

    @property
    def records(self) -> int:
        """Rows in all parts."""
        return sum(self.rows)

    @property
    def complete(self) -> bool:
        """Whether it says everything an append checks (else the parts must be read)."""
        return None not in (self.dim, self.id_type, self.keep_records, self.next_position)

    def added(self, parts: list[str], rows: list[int], next_position: int | None) -> Manifest:
        """This manifest with ``parts`` (of ``rows`` rows each) after its own."""
        return replace(self, parts=self.parts + parts, rows=self.rows + rows,
                       next_position=next_position)  # fmt: skip

    def to_bytes(self) -> bytes:
        document = {
            "format": MANIFEST_FORMAT,
            "encoding": ENCODING,
            "parts": self.parts,
            "rows": self.rows,
            "records": self.records,
            "codebook": self.codebook,
            "dim": self.dim,
            "id_type": self.id_type,
            "keep_records": self.keep_records,
            "next_position": self.next_position,
            "dtype": self.dtype,
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def parse_manifest(data: bytes, where: str) -> Manifest:
    """A manifest from its JSON; :class:`VectorsError` naming ``where`` if it is not one."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        document = None
    parts = document.get("parts") if isinstance(document, dict) else None
    rows = document.get("rows") if isinstance(document, dict) else None
    if (
        not isinstance(document, dict)
        or not isinstance(parts, list)
        or not all(isinstance(p, str) and "/" not in p for p in parts)
        or not isinstance(rows, list)
        or len(rows) != len(parts)
        or not all(isinstance(r, int) for r in rows)
    ):
        raise VectorsError(f"{where}: not a jsonvec manifest")
    check_encoding(where, document.get("encoding"))
    return Manifest(
        parts, rows, str(document.get("codebook", "")), dim=_int(document.get("dim")),
        id_type=document.get("id_type") if document.get("id_type") in ("int", "string") else None,
        keep_records=(keep if isinstance(keep := document.get("keep_records"), bool) else None),
        next_position=_int(document.get("next_position")),
        dtype=str(document.get("dtype", "float32")),
    )  # fmt: skip


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def has_manifest(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def read_manifest(folder: Path) -> Manifest:
    """The manifest of ``folder``; :class:`VectorsError` if it is unreadable or lists a part
    that is missing."""
    path = folder / MANIFEST
    with reading(path, "its manifest"):
        data = path.read_bytes()
    manifest = parse_manifest(data, str(path))
    missing = [p for p in manifest.parts if not (folder / p).is_file()]
    if missing:
        raise VectorsError(f"{path}: lists {missing[0]}, which is missing")
    return manifest


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Put ``manifest`` in place in one step (the commit of a run)."""
    with AtomicFile(folder / MANIFEST) as handle:
        handle.file.write(manifest.to_bytes())


def listed_parts(folder: Path) -> list[Path]:
    """The parts a folder's manifest lists, in order."""
    return [folder / p for p in read_manifest(folder).parts]
